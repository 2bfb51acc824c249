// SPDX-License-Identifier: GPL-2.0

//! Basic VM-exit reasons (Intel SDM Vol. 3D, Appendix C "VMX Basic Exit Reasons").

// The basic exit reasons rvmm handles by number.
pub const EXCEPTION_NMI: usize = 0;
pub const EXTERNAL_INTERRUPT: usize = 1;
pub const TRIPLE_FAULT: usize = 2;
pub const INIT: usize = 3;
pub const SIPI: usize = 4;
pub const CPUID: usize = 10;
pub const GETSEC: usize = 11;
pub const INVD: usize = 13;
pub const VMCALL: usize = 18;
pub const VMCLEAR: usize = 19;
pub const VMXOFF: usize = 26;
pub const VMXON: usize = 27;
pub const CR_ACCESS: usize = 28;
pub const MSR_READ: usize = 31;
pub const MSR_WRITE: usize = 32;
pub const MONITOR_TRAP_FLAG: usize = 37;
pub const INVEPT: usize = 50;
pub const INVVPID: usize = 53;
pub const XSETBV: usize = 55;
pub const VMFUNC: usize = 59;

/// Bit 31 of the exit-reason field: the VM entry itself failed (SDM Vol. 3C, 27.8).
pub const ENTRY_FAILURE: u32 = 1 << 31;

/// One past the highest basic exit reason the SDM defines; sizes the per-CPU counter rows.
pub const COUNT: usize = 86;

/// Name of each basic exit reason, indexed by its number; `None` for numbers the SDM leaves unused.
const NAMES: [Option<&str>; COUNT] = {
    let mut names = [None; COUNT];
    names[0] = Some("EXCEPTION_NMI");
    names[1] = Some("EXTERNAL_INTERRUPT");
    names[2] = Some("TRIPLE_FAULT");
    names[3] = Some("INIT");
    names[4] = Some("SIPI");
    names[5] = Some("IO_SMI");
    names[6] = Some("OTHER_SMI");
    names[7] = Some("INTERRUPT_WINDOW");
    names[8] = Some("NMI_WINDOW");
    names[9] = Some("TASK_SWITCH");
    names[10] = Some("CPUID");
    names[11] = Some("GETSEC");
    names[12] = Some("HLT");
    names[13] = Some("INVD");
    names[14] = Some("INVLPG");
    names[15] = Some("RDPMC");
    names[16] = Some("RDTSC");
    names[17] = Some("RSM");
    names[18] = Some("VMCALL");
    names[19] = Some("VMCLEAR");
    names[20] = Some("VMLAUNCH");
    names[21] = Some("VMPTRLD");
    names[22] = Some("VMPTRST");
    names[23] = Some("VMREAD");
    names[24] = Some("VMRESUME");
    names[25] = Some("VMWRITE");
    names[26] = Some("VMXOFF");
    names[27] = Some("VMXON");
    names[28] = Some("CR_ACCESS");
    names[29] = Some("DR_ACCESS");
    names[30] = Some("IO_INSTRUCTION");
    names[31] = Some("MSR_READ");
    names[32] = Some("MSR_WRITE");
    names[33] = Some("INVALID_GUEST_STATE");
    names[34] = Some("MSR_LOADING");
    names[36] = Some("MWAIT");
    names[37] = Some("MONITOR_TRAP_FLAG");
    names[39] = Some("MONITOR");
    names[40] = Some("PAUSE");
    names[41] = Some("MCE_DURING_VMENTRY");
    names[43] = Some("TPR_BELOW_THRESHOLD");
    names[44] = Some("APIC_ACCESS");
    names[45] = Some("VIRTUALIZED_EOI");
    names[46] = Some("GDTR_IDTR");
    names[47] = Some("LDTR_TR");
    names[48] = Some("EPT_VIOLATION");
    names[49] = Some("EPT_MISCONFIG");
    names[50] = Some("INVEPT");
    names[51] = Some("RDTSCP");
    names[52] = Some("PREEMPTION_TIMER");
    names[53] = Some("INVVPID");
    names[54] = Some("WBINVD");
    names[55] = Some("XSETBV");
    names[56] = Some("APIC_WRITE");
    names[57] = Some("RDRAND");
    names[58] = Some("INVPCID");
    names[59] = Some("VMFUNC");
    names[60] = Some("ENCLS");
    names[61] = Some("RDSEED");
    names[62] = Some("PML_FULL");
    names[63] = Some("XSAVES");
    names[64] = Some("XRSTORS");
    names[65] = Some("PCONFIG");
    names[66] = Some("SPP");
    names[67] = Some("UMWAIT");
    names[68] = Some("TPAUSE");
    names[69] = Some("LOADIWKEY");
    names[70] = Some("ENCLV");
    names[72] = Some("ENQCMD_PASID");
    names[73] = Some("ENQCMDS_PASID");
    names[74] = Some("BUS_LOCK");
    names[75] = Some("NOTIFY");
    names[76] = Some("SEAMCALL");
    names[77] = Some("TDCALL");
    names[78] = Some("RDMSRLIST");
    names[79] = Some("WRMSRLIST");
    names[84] = Some("MSR_READ_IMM");
    names[85] = Some("MSR_WRITE_IMM");
    names
};

/// The name of basic exit reason `reason`, or `None` if the SDM does not define it.
pub fn name(reason: usize) -> Option<&'static str> {
    NAMES.get(reason).copied().flatten()
}

/// Every defined basic exit reason with its name, in ascending order.
pub fn defined() -> impl Iterator<Item = (usize, &'static str)> + Clone {
    (0..COUNT).filter_map(|reason| name(reason).map(|name| (reason, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_sdm_numbering() {
        assert_eq!(name(0), Some("EXCEPTION_NMI"));
        assert_eq!(name(10), Some("CPUID"));
        assert_eq!(name(18), Some("VMCALL"));
        assert_eq!(name(33), Some("INVALID_GUEST_STATE"));
        assert_eq!(name(55), Some("XSETBV"));
        assert_eq!(name(85), Some("MSR_WRITE_IMM"));
        for (reason, expected) in [
            (EXCEPTION_NMI, "EXCEPTION_NMI"),
            (TRIPLE_FAULT, "TRIPLE_FAULT"),
            (INIT, "INIT"),
            (SIPI, "SIPI"),
            (CPUID, "CPUID"),
            (GETSEC, "GETSEC"),
            (INVD, "INVD"),
            (VMCALL, "VMCALL"),
            (VMCLEAR, "VMCLEAR"),
            (VMXON, "VMXON"),
            (CR_ACCESS, "CR_ACCESS"),
            (MSR_READ, "MSR_READ"),
            (MSR_WRITE, "MSR_WRITE"),
            (INVEPT, "INVEPT"),
            (INVVPID, "INVVPID"),
            (XSETBV, "XSETBV"),
            (VMFUNC, "VMFUNC"),
        ] {
            assert_eq!(name(reason), Some(expected));
        }
    }

    #[test]
    fn unused_and_out_of_range_reasons_have_no_name() {
        for reason in [35, 38, 42, 71, 80, 83, COUNT, usize::MAX] {
            assert_eq!(name(reason), None, "reason {reason}");
        }
    }

    #[test]
    fn names_are_unique_and_script_friendly() {
        let all: std::vec::Vec<_> = defined().collect();
        assert_eq!(all.len(), 78);
        for (i, (_, a)) in all.iter().enumerate() {
            assert!(a
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
            assert!(all[i + 1..].iter().all(|(_, b)| a != b), "{a} twice");
        }
    }
}
