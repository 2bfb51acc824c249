// SPDX-License-Identifier: GPL-2.0

//! The VMX capability MSRs of one CPU (Intel SDM Vol. 3D, Appendix A), read once per CPU at load:
//! every one that the others say exists must read, and every CPU must report the same values, since
//! all CPUs share one set of controls (rust/vmcs_setup.rs).

/// The first and last capability MSRs: IA32_VMX_BASIC to IA32_VMX_EXIT_CTLS2.
const FIRST: u32 = 0x480;
const LAST: u32 = 0x493;
/// How many MSRs the block holds: the length of [`Capabilities::raw`].
pub const COUNT: usize = (LAST - FIRST + 1) as usize;

/// The name of capability MSR `msr` (Appendix A; Vol. 4, table 2-2), for the kernel log.
pub fn name(msr: u32) -> &'static str {
    match msr {
        0x480 => "IA32_VMX_BASIC",
        0x481 => "IA32_VMX_PINBASED_CTLS",
        0x482 => "IA32_VMX_PROCBASED_CTLS",
        0x483 => "IA32_VMX_EXIT_CTLS",
        0x484 => "IA32_VMX_ENTRY_CTLS",
        0x485 => "IA32_VMX_MISC",
        0x486 => "IA32_VMX_CR0_FIXED0",
        0x487 => "IA32_VMX_CR0_FIXED1",
        0x488 => "IA32_VMX_CR4_FIXED0",
        0x489 => "IA32_VMX_CR4_FIXED1",
        0x48a => "IA32_VMX_VMCS_ENUM",
        0x48b => "IA32_VMX_PROCBASED_CTLS2",
        0x48c => "IA32_VMX_EPT_VPID_CAP",
        0x48d => "IA32_VMX_TRUE_PINBASED_CTLS",
        0x48e => "IA32_VMX_TRUE_PROCBASED_CTLS",
        0x48f => "IA32_VMX_TRUE_EXIT_CTLS",
        0x490 => "IA32_VMX_TRUE_ENTRY_CTLS",
        0x491 => "IA32_VMX_VMFUNC",
        0x492 => "IA32_VMX_PROCBASED_CTLS3",
        0x493 => "IA32_VMX_EXIT_CTLS2",
        _ => "a VMX capability MSR",
    }
}

/// Whether `bit` of `value` is set.
fn has(value: u64, bit: u32) -> bool {
    value >> bit & 1 != 0
}

/// The capability MSRs of one CPU; those the CPU does not have are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    values: [Option<u64>; COUNT],
}

/// Why a CPU's capability MSRs cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// RDMSR of this MSR faulted, although the CPU's other capability MSRs say it exists.
    Msr(u32),
}

impl Capabilities {
    /// Reads every capability MSR this CPU has, by the rules of Appendix A: 0x480-0x48a always;
    /// IA32_VMX_PROCBASED_CTLS2 if "activate secondary controls" may be 1 (A.3.3); the EPT/VPID
    /// capabilities if EPT or VPID may be 1 (A.10); the TRUE MSRs if IA32_VMX_BASIC bit 55 is set
    /// (A.1); VMFUNC if "enable VM functions" may be 1 (A.11); the tertiary controls if "activate
    /// tertiary controls" may be 1 (A.3.4); IA32_VMX_EXIT_CTLS2 if "activate secondary VM-exit
    /// controls" may be 1 (A.4.2). `rdmsr` returns `None` where RDMSR faults.
    pub fn read(mut rdmsr: impl FnMut(u32) -> Option<u64>) -> Result<Self, Unreadable> {
        let mut values = [None; COUNT];
        let mut read = |msr: u32| -> Result<u64, Unreadable> {
            let value = rdmsr(msr).ok_or(Unreadable::Msr(msr))?;
            values[(msr - FIRST) as usize] = Some(value);
            Ok(value)
        };
        let basic = read(0x480)?;
        read(0x481)?;
        let primary = read(0x482)?;
        let exit = read(0x483)?;
        for msr in 0x484..=0x48a {
            read(msr)?;
        }
        if has(primary, 63) {
            let secondary = read(0x48b)?;
            if has(secondary, 32 + 1) || has(secondary, 32 + 5) {
                read(0x48c)?;
            }
            if has(secondary, 32 + 13) {
                read(0x491)?;
            }
        }
        if has(basic, 55) {
            for msr in 0x48d..=0x490 {
                read(msr)?;
            }
        }
        if has(primary, 32 + 17) {
            read(0x492)?;
        }
        if has(exit, 32 + 31) {
            read(0x493)?;
        }
        Ok(Capabilities { values })
    }

    /// The values, IA32_VMX_BASIC first, to carry them between CPUs.
    pub fn raw(&self) -> [Option<u64>; COUNT] {
        self.values
    }

    /// Capabilities from [`Capabilities::raw`]'s output.
    pub fn from_raw(values: [Option<u64>; COUNT]) -> Self {
        Capabilities { values }
    }

    /// The value of capability MSR `msr`, or `None` if this CPU does not have it.
    pub fn get(&self, msr: u32) -> Option<u64> {
        if (FIRST..=LAST).contains(&msr) {
            self.values[(msr - FIRST) as usize]
        } else {
            None
        }
    }

    /// The first capability MSR whose value (or presence) differs from `other`'s, with both values.
    pub fn first_difference(&self, other: &Self) -> Option<(u32, Option<u64>, Option<u64>)> {
        (FIRST..=LAST)
            .zip(self.values.iter().zip(other.values.iter()))
            .find(|(_, (a, b))| a != b)
            .map(|(msr, (a, b))| (msr, *a, *b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Skylake-like CPU: TRUE controls, secondary controls with EPT and VPID and VM functions.
    fn skylake(msr: u32) -> Option<u64> {
        match msr {
            0x480 => Some(1 << 55 | 0x1000 << 32 | 4),
            0x482 => Some(0xfff9_fffe_0401_e172),
            0x483 => Some(0x01ff_ffff_0003_6dff),
            0x48b => Some(0x0055_ffff_0000_0000 | 1 << (32 + 13)),
            0x492 | 0x493 => None,
            m if (0x480..=0x491).contains(&m) => Some(u64::from(m)),
            _ => None,
        }
    }

    #[test]
    fn reads_what_the_cpu_says_it_has() {
        let caps = Capabilities::read(skylake).unwrap();
        assert_eq!(caps.get(0x480), skylake(0x480));
        for msr in [0x48b, 0x48c, 0x48d, 0x490, 0x491] {
            assert!(caps.get(msr).is_some(), "{msr:#x}");
        }
        // No tertiary controls, no secondary exit controls: not read, so no fault.
        assert_eq!(caps.get(0x492), None);
        assert_eq!(caps.get(0x493), None);
        assert_eq!(caps.get(0x4c1), None);
    }

    #[test]
    fn without_true_or_secondary_controls_those_msrs_are_not_read() {
        let old = |msr: u32| match msr {
            0x480 => Some(4),
            0x482 => Some(0x7ff9_fffe_0401_e172),
            m if (0x480..=0x48a).contains(&m) => Some(1),
            _ => None,
        };
        let caps = Capabilities::read(old).unwrap();
        assert_eq!(caps.get(0x48b), None);
        assert_eq!(caps.get(0x48d), None);
    }

    #[test]
    fn an_msr_that_should_exist_and_faults_is_an_error_not_zero() {
        for missing in [0x481, 0x48a, 0x48b, 0x48c, 0x48e, 0x491] {
            let faulty = |msr: u32| if msr == missing { None } else { skylake(msr) };
            assert_eq!(
                Capabilities::read(faulty),
                Err(Unreadable::Msr(missing)),
                "{missing:#x}"
            );
        }
        let with_tertiary = |msr: u32| match msr {
            0x482 => Some(0xfffb_fffe_0401_e172),
            0x492 => None,
            m => skylake(m),
        };
        assert_eq!(
            Capabilities::read(with_tertiary),
            Err(Unreadable::Msr(0x492))
        );
    }

    #[test]
    fn the_first_difference_names_the_msr_and_both_values() {
        let a = Capabilities::read(skylake).unwrap();
        assert_eq!(a.first_difference(&a), None);
        let b = Capabilities::read(|msr| match msr {
            0x487 => Some(0x1234),
            m => skylake(m),
        })
        .unwrap();
        assert_eq!(
            a.first_difference(&b),
            Some((0x487, Some(0x487), Some(0x1234)))
        );
        assert_eq!(Capabilities::from_raw(b.raw()), b);
        assert_eq!(name(0x487), "IA32_VMX_CR0_FIXED1");
        assert_eq!(name(0x493), "IA32_VMX_EXIT_CTLS2");
    }
}
