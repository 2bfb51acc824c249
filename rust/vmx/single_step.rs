// SPDX-License-Identifier: GPL-2.0

//! The single-step trap an instruction rvmm completes for the guest owes it.
//!
//! With RFLAGS.TF set the CPU raises a debug trap (DR6.BS) after each instruction, and a VM exit
//! on the instruction leaves the trap to the hypervisor: rvmm marks it pending (BS in the pending
//! debug exceptions field, SDM Vol. 3C, 25.4.2) and the CPU delivers it after VM entry. With
//! IA32_DEBUGCTL.BTF also set, TF means "single-step on branches": the trap follows only
//! instructions that branch (SDM Vol. 3B, 18.4.3). Linux sets BTF for PTRACE_SINGLEBLOCK. None of
//! the instructions rvmm completes (CPUID, RDMSR, WRMSR, XSETBV, INVD, MOV to CR4, VMCALL, VMXOFF)
//! branches, so with BTF set none owes a trap.
//!
//! When rvmm leaves VMX operation on a CPU after completing an instruction, it resumes the kernel
//! natively with IRETQ, which cannot deliver a pending debug exception such as that trap. Where
//! one is pending, rvmm injects it as a #DB, with DR6 as its delivery would set it
//! ([`dr6_for_injection`]), lets the guest take it under VMX with the monitor trap flag set, and
//! leaves at the MTF exit, which comes before the #DB handler's first instruction when VM entry
//! injects an event (SDM Vol. 3C, 26.5.2). A debug exception left pending for the CPU instead may
//! come after the MTF exit (Bochs checks MTF first, as the SDM ranks it above trap-like #DBs). The
//! completed instruction has ended any STI or MOV SS shadow, as on hardware: none is left to keep.

/// RFLAGS.TF, the trap flag (SDM Vol. 1, 3.4.3.3).
pub const RFLAGS_TF: u64 = 1 << 8;
/// IA32_DEBUGCTL.BTF, single-step on branches (SDM Vol. 3B, 18.4.1).
pub const DEBUGCTL_BTF: u64 = 1 << 1;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C, 25.4.2).
pub const PENDING_SINGLE_STEP: u64 = 1 << 14;
/// Pending debug exceptions RTM bit, which DR6 reports by clearing its bit 16.
const PENDING_RTM: u64 = 1 << 16;
/// Pending debug exceptions that make the CPU deliver a #DB after VM entry: enabled breakpoint
/// (bit 12), BS and RTM; B3:0 alone may name breakpoints DR7 leaves disabled (26.7.3).
const PENDING_DEBUG_EVENTS: u64 = 1 << 12 | PENDING_SINGLE_STEP | PENDING_RTM;
/// DR6 bits B3:0, the breakpoint conditions met, which a #DB replaces (as KVM does).
const DR6_BREAKPOINTS: u64 = 0xf;
/// DR7.GD, general detect, which delivery of a #DB clears (Vol. 3B, 18.2.4).
pub const DR7_GD: u64 = 1 << 13;

/// Whether completing a non-branching instruction owes the guest a single-step trap, given its
/// RFLAGS and a way to read its IA32_DEBUGCTL. `debugctl` is asked only when TF is set, so an exit
/// that is not single-stepped pays nothing for it.
pub fn trap_owed(rflags: u64, debugctl: impl FnOnce() -> u64) -> bool {
    rflags & RFLAGS_TF != 0 && debugctl() & DEBUGCTL_BTF == 0
}

/// The DR6 with which to inject a #DB for `pending` debug exceptions, from the current `dr6`;
/// `None` if they make no #DB due. The CPU writes DR6 when it delivers a pending debug exception
/// itself (26.7.3), not when VM entry injects one.
pub fn dr6_for_injection(pending: u64, dr6: u64) -> Option<u64> {
    if pending & PENDING_DEBUG_EVENTS == 0 {
        return None;
    }
    let dr6 = dr6 & !DR6_BREAKPOINTS | pending & (DR6_BREAKPOINTS | PENDING_SINGLE_STEP);
    Some(if pending & PENDING_RTM != 0 {
        dr6 & !PENDING_RTM
    } else {
        dr6
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFLAGS as the kernel runs (IF and the reserved bit 1).
    const RFLAGS: u64 = 0x202;
    /// IA32_DEBUGCTL with LBR on: a bit other than BTF.
    const DEBUGCTL_LBR: u64 = 1;
    /// DR6 as the kernel leaves it after a #DB: the bits that read as 1, RTM (bit 16) included.
    const DR6_CLEAR: u64 = 0xffff_0ff0;

    #[test]
    fn single_stepping_owes_a_trap() {
        assert!(trap_owed(RFLAGS | RFLAGS_TF, || 0));
        assert!(trap_owed(RFLAGS | RFLAGS_TF, || DEBUGCTL_LBR));
    }

    #[test]
    fn single_stepping_on_branches_owes_none() {
        assert!(!trap_owed(RFLAGS | RFLAGS_TF, || DEBUGCTL_BTF));
        assert!(!trap_owed(RFLAGS | RFLAGS_TF, || DEBUGCTL_BTF | DEBUGCTL_LBR));
    }

    #[test]
    fn no_trap_flag_owes_none_and_reads_no_debugctl() {
        assert!(!trap_owed(RFLAGS, || unreachable!(
            "DEBUGCTL read without TF"
        )));
    }

    #[test]
    fn an_injected_single_step_trap_sets_dr6_bs() {
        assert_eq!(
            dr6_for_injection(PENDING_SINGLE_STEP, DR6_CLEAR),
            Some(DR6_CLEAR | 1 << 14)
        );
    }

    #[test]
    fn an_injected_breakpoint_replaces_earlier_conditions() {
        assert_eq!(
            dr6_for_injection(1 << 12 | 1 << 1, DR6_CLEAR | 1 << 3),
            Some(DR6_CLEAR | 1 << 1)
        );
    }

    #[test]
    fn rtm_clears_dr6_bit_16() {
        assert_eq!(
            dr6_for_injection(1 << 16 | 1 << 12 | 1, DR6_CLEAR),
            Some(DR6_CLEAR & !(1 << 16) | 1)
        );
    }

    #[test]
    fn nothing_due_injects_nothing() {
        assert_eq!(dr6_for_injection(0, DR6_CLEAR), None);
        // Breakpoint 2's condition met, but DR7 does not enable it.
        assert_eq!(dr6_for_injection(1 << 2, DR6_CLEAR), None);
    }
}
