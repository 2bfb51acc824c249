// SPDX-License-Identifier: GPL-2.0

//! How the guest's code resumes natively once rvmm has left VMX operation on its CPU.
//!
//! IRETQ returns to any privilege level and restores RIP, CS, RFLAGS, RSP and SS at once, but it
//! also ends blocking by NMI (SDM Vol. 3A, 6.7.1). rvmm leaves from inside an NMI handler when the
//! kernel's crash or emergency-reboot code runs VMXOFF there (NMI shootdown); VM exits keep the
//! guest's blocking by NMI in effect in root mode while "NMI exiting" is 0 (Vol. 3C, 26.6.1), and
//! VMXOFF keeps it too, so it is the IRETQ that would let a second NMI in before the handler's own
//! IRET. There rvmm returns without IRET: SS loaded, RFLAGS popped, RET to RIP, all on the kernel
//! stack below the guest's RSP, which has no red zone. That return cannot change CS or privilege
//! level, it would take a single-step trap one instruction early, and POPFQ clears RF and leaves VIF
//! and VIP alone, so it is used only at CPL 0, with the host's CS, and with TF, RF, VIF, VIP clear.

/// RFLAGS.TF, RF, VIF and VIP (SDM Vol. 1, 3.4.3): POPFQ at CPL 0 clears RF and keeps VIF and VIP.
const RFLAGS_TF: u64 = 1 << 8;
const RFLAGS_RF: u64 = 1 << 16;
const RFLAGS_VIF_VIP: u64 = 3 << 19;
/// Interruptibility-state bit 3, blocking by NMI (Vol. 3C, 25.4.2).
pub const BLOCKING_BY_NMI: u64 = 1 << 3;

/// The way back to the guest's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeResume {
    /// IRETQ from a frame of RIP, CS, RFLAGS, RSP and SS.
    Iret,
    /// MOV to SS, POPFQ and RET from SS, RFLAGS and RIP stored below the guest's RSP: NMIs stay
    /// blocked until the handler's own IRET.
    KeepingNmiBlocked,
}

/// How to resume a guest at privilege level `cpl` with these `interruptibility`, `rflags` and CS
/// selector `cs`, rvmm's own code running with CS `host_cs`.
pub fn native_resume(
    cpl: u64,
    interruptibility: u64,
    rflags: u64,
    cs: u16,
    host_cs: u16,
) -> NativeResume {
    if cpl == 0
        && interruptibility & BLOCKING_BY_NMI != 0
        && rflags & (RFLAGS_TF | RFLAGS_RF | RFLAGS_VIF_VIP) == 0
        && cs == host_cs
    {
        NativeResume::KeepingNmiBlocked
    } else {
        NativeResume::Iret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux's kernel CS and RFLAGS in an NMI handler (IF clear, bit 1 set).
    const KERNEL_CS: u16 = 0x10;
    const NMI_RFLAGS: u64 = 0x2;

    #[test]
    fn inside_an_nmi_handler_nmis_stay_blocked() {
        assert_eq!(
            native_resume(0, BLOCKING_BY_NMI, NMI_RFLAGS, KERNEL_CS, KERNEL_CS),
            NativeResume::KeepingNmiBlocked
        );
    }

    #[test]
    fn everywhere_else_iretq() {
        assert_eq!(
            native_resume(0, 0, 0x202, KERNEL_CS, KERNEL_CS),
            NativeResume::Iret
        );
        // Blocking by STI or MOV SS alone is no NMI handler.
        assert_eq!(
            native_resume(0, 3, 0x2, KERNEL_CS, KERNEL_CS),
            NativeResume::Iret
        );
        assert_eq!(
            native_resume(3, BLOCKING_BY_NMI, 0x202, 0x33, KERNEL_CS),
            NativeResume::Iret,
            "user mode: another CS and stack"
        );
    }

    #[test]
    fn what_ret_cannot_restore_takes_iretq() {
        let nmi = BLOCKING_BY_NMI;
        assert_eq!(
            native_resume(0, nmi, NMI_RFLAGS | RFLAGS_TF, KERNEL_CS, KERNEL_CS),
            NativeResume::Iret
        );
        assert_eq!(
            native_resume(0, nmi, NMI_RFLAGS | RFLAGS_RF, KERNEL_CS, KERNEL_CS),
            NativeResume::Iret
        );
        assert_eq!(
            native_resume(0, nmi, NMI_RFLAGS, 0x8, KERNEL_CS),
            NativeResume::Iret
        );
    }
}
