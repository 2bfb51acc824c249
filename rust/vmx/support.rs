// SPDX-License-Identifier: GPL-2.0

//! Whether this CPU lets us enter VMX operation (Intel SDM Vol. 3C, 24.6 "Discovering Support for
//! VMX" and 24.7 "Enabling and Entering VMX Operation").

/// CPUID.1:ECX bit that advertises VMX.
pub const CPUID1_ECX_VMX: u32 = 1 << 5;
/// IA32_FEATURE_CONTROL (MSR 0x3a).
pub const MSR_IA32_FEATURE_CONTROL: u32 = 0x3a;
/// Once set, IA32_FEATURE_CONTROL cannot change until reset; VMXON #GPs while it is clear.
pub const FEATURE_CONTROL_LOCKED: u64 = 1 << 0;
/// VMXON outside SMX operation is allowed.
pub const FEATURE_CONTROL_VMX_OUTSIDE_SMX: u64 = 1 << 2;
/// CR4.VMXE: set while some software on this CPU is in VMX operation.
pub const CR4_VMXE: u64 = 1 << 13;
/// CR4.FRED: the kernel takes events through FRED instead of the IDT (Linux 6.9+, on by default in
/// 7.2 where the CPU has it).
pub const CR4_FRED: u64 = 1 << 32;

/// Why VMX cannot be used on a CPU. Each maps to its own errno and advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// CPUID does not report VMX: not an Intel CPU, or a VM without nested VMX.
    NoVmx,
    /// IA32_FEATURE_CONTROL is locked with VMX off, or was left unlocked.
    DisabledByFirmware,
    /// CR4.VMXE is already set: another hypervisor (such as kvm_intel) is in VMX operation.
    InUse,
    /// The kernel runs with FRED. rvmm's host state and its way back to native execution (IRETQ)
    /// assume the IDT: it loads no FRED host state (SDM Vol. 3C, 28.5.2 with "load FRED" off) and has
    /// not been shown to work under FRED, so it refuses rather than guess.
    Fred,
}

impl Unusable {
    /// What the user can do about it, for the kernel log.
    pub fn advice(self) -> &'static str {
        match self {
            Unusable::NoVmx => {
                "CPUID reports no VMX: use an Intel CPU with VT-x, or a VM with nested VMX (e.g. the Bochs test bed)"
            }
            Unusable::DisabledByFirmware => {
                "VMX is disabled in IA32_FEATURE_CONTROL: enable Intel Virtualization Technology (VT-x) in the firmware setup"
            }
            Unusable::InUse => {
                "VMX is already in use (CR4.VMXE set) by another hypervisor: unload it first (e.g. rmmod kvm_intel)"
            }
            Unusable::Fred => {
                "the kernel uses FRED (CR4.FRED set), which rvmm does not support yet: boot with fred=off"
            }
        }
    }
}

/// Whether IA32_FEATURE_CONTROL (`None`: unreadable) lets VMXON run outside SMX: locked, with
/// that bit set (SDM Vol. 3C, 24.7); VMXON raises #GP otherwise.
pub fn feature_control_allows_vmxon(feature_control: Option<u64>) -> bool {
    let required = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
    feature_control.is_some_and(|msr| msr & required == required)
}

/// Decides from what the CPU reports. `feature_control` is `None` when the MSR could not be read.
pub fn check(cpuid1_ecx: u32, feature_control: Option<u64>, cr4: u64) -> Result<(), Unusable> {
    if cpuid1_ecx & CPUID1_ECX_VMX == 0 {
        return Err(Unusable::NoVmx);
    }
    if !feature_control_allows_vmxon(feature_control) {
        return Err(Unusable::DisabledByFirmware);
    }
    if cr4 & CR4_VMXE != 0 {
        return Err(Unusable::InUse);
    }
    if cr4 & CR4_FRED != 0 {
        return Err(Unusable::Fred);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USABLE_FC: u64 = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;

    #[test]
    fn usable_when_advertised_enabled_and_free() {
        assert_eq!(check(CPUID1_ECX_VMX, Some(USABLE_FC), 0x3406f0), Ok(()));
        // Other FEATURE_CONTROL bits (SMX, SGX, LMCE) do not matter.
        assert_eq!(
            check(u32::MAX, Some(USABLE_FC | 0x2 | 1 << 18 | 1 << 20), 0),
            Ok(())
        );
    }

    #[test]
    fn no_vmx_bit_wins_over_everything_else() {
        assert_eq!(
            check(!CPUID1_ECX_VMX, Some(USABLE_FC), CR4_VMXE),
            Err(Unusable::NoVmx)
        );
    }

    #[test]
    fn firmware_must_lock_with_vmx_outside_smx() {
        for fc in [
            None,
            Some(0),
            Some(FEATURE_CONTROL_LOCKED),
            Some(FEATURE_CONTROL_VMX_OUTSIDE_SMX),
        ] {
            assert_eq!(
                check(CPUID1_ECX_VMX, fc, 0),
                Err(Unusable::DisabledByFirmware),
                "{fc:?}"
            );
        }
    }

    #[test]
    fn vmxon_needs_feature_control_locked_with_vmx_outside_smx() {
        assert!(feature_control_allows_vmxon(Some(USABLE_FC)));
        assert!(feature_control_allows_vmxon(Some(
            USABLE_FC | 1 << 1 | 1 << 20
        )));
        assert!(!feature_control_allows_vmxon(Some(FEATURE_CONTROL_LOCKED)));
        assert!(!feature_control_allows_vmxon(Some(
            FEATURE_CONTROL_VMX_OUTSIDE_SMX
        )));
        assert!(!feature_control_allows_vmxon(None), "unreadable");
    }

    #[test]
    fn cr4_vmxe_means_another_hypervisor() {
        assert_eq!(
            check(CPUID1_ECX_VMX, Some(USABLE_FC), CR4_VMXE),
            Err(Unusable::InUse)
        );
    }

    #[test]
    fn fred_is_refused_with_advice_to_turn_it_off() {
        assert_eq!(
            check(CPUID1_ECX_VMX, Some(USABLE_FC), 0x3406f0 | CR4_FRED),
            Err(Unusable::Fred)
        );
        assert!(Unusable::Fred.advice().contains("fred=off"));
        // Another hypervisor holding VMX is the first thing to fix; FRED comes after.
        assert_eq!(
            check(CPUID1_ECX_VMX, Some(USABLE_FC), CR4_VMXE | CR4_FRED),
            Err(Unusable::InUse)
        );
    }

    #[test]
    fn each_reason_has_its_own_advice() {
        let all = [
            Unusable::NoVmx,
            Unusable::DisabledByFirmware,
            Unusable::InUse,
            Unusable::Fred,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a.advice() != b.advice()));
        }
    }
}
