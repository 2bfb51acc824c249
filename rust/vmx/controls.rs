// SPDX-License-Identifier: GPL-2.0

//! VM-execution, VM-exit and VM-entry controls, and their adjustment through the capability MSRs
//! (Intel SDM Vol. 3C, 25.6 and Vol. 3D, Appendix A.3-A.5).

// Primary processor-based controls (SDM 25.6.2).
pub const PROC_MONITOR_TRAP_FLAG: u32 = 1 << 27;
pub const PROC_USE_MSR_BITMAPS: u32 = 1 << 28;
pub const PROC_ACTIVATE_SECONDARY: u32 = 1 << 31;

// Secondary processor-based controls: without these, RDTSCP, INVPCID and XSAVES/XRSTORS raise #UD in
// the guest even where the CPU has them, and the kernel uses all three.
pub const PROC2_ENABLE_RDTSCP: u32 = 1 << 3;
pub const PROC2_ENABLE_INVPCID: u32 = 1 << 12;
pub const PROC2_ENABLE_XSAVES: u32 = 1 << 20;
pub const PROC2_ENABLE_USER_WAIT_PAUSE: u32 = 1 << 26;

// VM-exit controls (25.7.1).
pub const EXIT_SAVE_DEBUG_CONTROLS: u32 = 1 << 2;
pub const EXIT_HOST_ADDRESS_SPACE_SIZE: u32 = 1 << 9;

// VM-entry controls (25.8.1).
pub const ENTRY_LOAD_DEBUG_CONTROLS: u32 = 1 << 2;
pub const ENTRY_IA32E_MODE_GUEST: u32 = 1 << 9;

// Capability MSRs (Appendix A).
pub const MSR_IA32_VMX_BASIC: u32 = 0x480;
pub const MSR_IA32_VMX_PINBASED_CTLS: u32 = 0x481;
pub const MSR_IA32_VMX_PROCBASED_CTLS: u32 = 0x482;
pub const MSR_IA32_VMX_EXIT_CTLS: u32 = 0x483;
pub const MSR_IA32_VMX_ENTRY_CTLS: u32 = 0x484;
pub const MSR_IA32_VMX_CR0_FIXED0: u32 = 0x486;
pub const MSR_IA32_VMX_CR0_FIXED1: u32 = 0x487;
pub const MSR_IA32_VMX_CR4_FIXED0: u32 = 0x488;
pub const MSR_IA32_VMX_CR4_FIXED1: u32 = 0x489;
pub const MSR_IA32_VMX_PROCBASED_CTLS2: u32 = 0x48b;
pub const MSR_IA32_VMX_TRUE_PINBASED_CTLS: u32 = 0x48d;
pub const MSR_IA32_VMX_TRUE_PROCBASED_CTLS: u32 = 0x48e;
pub const MSR_IA32_VMX_TRUE_EXIT_CTLS: u32 = 0x48f;
pub const MSR_IA32_VMX_TRUE_ENTRY_CTLS: u32 = 0x490;
/// The end of the block the VMX capability MSRs take: 0x480-0x493 are defined today (0x493 is
/// IA32_VMX_EXIT_CTLS2) and 0x494-0x4c0 are unassigned; 0x4c1 starts IA32_A_PMC0 (SDM Vol. 4,
/// table 2-2), which is not VMX and which the kernel's perf uses.
pub const MSR_IA32_VMX_BLOCK_LAST: u32 = 0x4c0;

/// What IA32_VMX_BASIC says (A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmxBasic(pub u64);

impl VmxBasic {
    /// The VMCS revision identifier to write at the start of the VMXON region and each VMCS.
    pub fn revision_id(self) -> u32 {
        self.0 as u32 & 0x7fff_ffff
    }
    /// Bit 55: the TRUE_* capability MSRs exist and may allow default-1 controls to be 0.
    pub fn has_true_controls(self) -> bool {
        self.0 & (1 << 55) != 0
    }
}

/// Adjusts `required | optional` to what a capability MSR allows (A.3): bits the low half reports
/// as fixed to 1 are set, optional bits the high half does not allow are dropped. `Err` holds the
/// required bits the CPU cannot set.
pub fn adjust(required: u32, optional: u32, capability: u64) -> Result<u32, u32> {
    let must_be_one = capability as u32;
    let may_be_one = (capability >> 32) as u32;
    match required & !may_be_one {
        0 => Ok((required | (optional & may_be_one) | must_be_one) & may_be_one),
        missing => Err(missing),
    }
}

/// The vector of a page fault, whose bit in the exception bitmap works with the page-fault
/// error-code mask and match (SDM Vol. 3C, 25.6.3).
pub const PAGE_FAULT: u32 = 14;

/// The exception bitmap and the page-fault error-code mask and match rvmm writes: no exception
/// exits, #PF included. VMCLEAR leaves the fields undefined, so all three are written.
pub const NO_EXCEPTION_EXITS: (u32, u32, u32) = (0, 0, 0);

/// Whether `value` satisfies the FIXED0/FIXED1 pair for CR0 or CR4 in VMX operation (A.7, A.8).
pub fn satisfies_fixed(value: u64, fixed0: u64, fixed1: u64) -> bool {
    value & fixed0 == fixed0 && value & !fixed1 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a #PF with error code `error_code` exits (25.6.3): with bit 14 of the exception
    /// bitmap set, if `error_code & mask == match_value`; with it clear, if they differ.
    fn page_fault_exits(bitmap: u32, mask: u32, match_value: u32, error_code: u32) -> bool {
        let matches = error_code & mask == match_value;
        if bitmap & (1 << PAGE_FAULT) != 0 {
            matches
        } else {
            !matches
        }
    }

    #[test]
    fn no_page_fault_exits_with_rvmms_bitmap_mask_and_match() {
        let (bitmap, mask, match_value) = NO_EXCEPTION_EXITS;
        assert_eq!(bitmap, 0, "no other exception exits either");
        for error_code in [0, 1, 2, 3, 4, 5, 7, 0x10, 0x20, 0x8000, 0x1f] {
            assert!(
                !page_fault_exits(bitmap, mask, match_value, error_code),
                "{error_code:#x}"
            );
        }
        // A match field left at a stale nonzero value would make every #PF exit.
        assert!(page_fault_exits(0, 0, 1, 0x7));
        // Bit 14 set: exit exactly when the masked code matches.
        assert!(page_fault_exits(1 << PAGE_FAULT, 0x1, 0x1, 0x3));
        assert!(!page_fault_exits(1 << PAGE_FAULT, 0x1, 0x1, 0x2));
    }

    fn cap(must_be_one: u32, may_be_one: u32) -> u64 {
        (may_be_one as u64) << 32 | must_be_one as u64
    }

    #[test]
    fn default_one_bits_are_forced_on() {
        // Like IA32_VMX_PROCBASED_CTLS on real CPUs: bits 1, 4-6, 8, 13-16, 26 fixed to 1.
        let fixed = 0x0401_e172;
        assert_eq!(
            adjust(PROC_USE_MSR_BITMAPS, 0, cap(fixed, !0)),
            Ok(fixed | PROC_USE_MSR_BITMAPS)
        );
    }

    #[test]
    fn optional_bits_follow_the_allowed_settings() {
        let allowed = PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID;
        let optional = PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES;
        assert_eq!(adjust(0, optional, cap(0, allowed)), Ok(allowed));
    }

    #[test]
    fn required_bits_the_cpu_lacks_are_reported() {
        assert_eq!(
            adjust(
                PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY,
                0,
                cap(0, PROC_USE_MSR_BITMAPS)
            ),
            Err(PROC_ACTIVATE_SECONDARY)
        );
    }

    #[test]
    fn basic_msr_fields() {
        let basic = VmxBasic(1 << 55 | 0x12 << 32 | 0x8000_0004);
        assert_eq!(
            basic.revision_id(),
            4,
            "bit 31 is not part of the revision id"
        );
        assert!(basic.has_true_controls());
        assert!(!VmxBasic(4).has_true_controls());
    }

    #[test]
    fn fixed_bits() {
        // CR0 in VMX operation: PE, NE, PG must be 1 (FIXED0 = 0x80000021).
        assert!(satisfies_fixed(0x8005_0033, 0x8000_0021, 0xffff_ffff));
        assert!(!satisfies_fixed(
            0x8005_0013,
            0x8000_0021 | 1 << 5,
            0xffff_ffff
        ));
        assert!(!satisfies_fixed(
            1 << 40 | 0x8000_0021,
            0x8000_0021,
            0xffff_ffff
        ));
    }
}
