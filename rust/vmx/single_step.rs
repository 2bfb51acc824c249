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
//! When rvmm leaves VMX operation on a CPU it resumes the kernel natively with IRETQ, which can
//! neither deliver a pending debug exception nor keep an STI or MOV SS interrupt shadow. Where
//! either is there ([`step_before_leaving`]), rvmm first lets the guest take one more step under
//! VMX with the monitor trap flag and leaves VMX at that MTF exit, where nothing is pending. A
//! pending #DB is injected for that step, with DR6 set as its delivery would set it
//! ([`dr6_for_injection`]): with MTF set, an injected event is delivered and the MTF exit comes
//! before the handler's first instruction (SDM Vol. 3C, 26.5.2), whereas a pending debug exception
//! left to the CPU may come after the MTF exit (Bochs checks MTF first, as for a trap-like #DB).

use super::entry_failure::BLOCKING_BY_STI_OR_MOV_SS;

/// RFLAGS.TF, the trap flag (SDM Vol. 1, 3.4.3.3).
pub const RFLAGS_TF: u64 = 1 << 8;
/// IA32_DEBUGCTL.BTF, single-step on branches (SDM Vol. 3B, 18.4.1).
pub const DEBUGCTL_BTF: u64 = 1 << 1;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C, 25.4.2).
pub const PENDING_SINGLE_STEP: u64 = 1 << 14;
/// Pending debug exceptions that mean a #DB at the next instruction boundary: B3:0 (breakpoint
/// conditions met), enabled breakpoint, BS and RTM (25.4.2); the other bits are reserved.
const PENDING_DEBUG_EVENTS: u64 = 0xf | 1 << 12 | PENDING_SINGLE_STEP | 1 << 16;

/// Whether completing a non-branching instruction owes the guest a single-step trap, given its
/// RFLAGS and a way to read its IA32_DEBUGCTL. `debugctl` is asked only when TF is set, so an exit
/// that is not single-stepped pays nothing for it.
pub fn trap_owed(rflags: u64, debugctl: impl FnOnce() -> u64) -> bool {
    rflags & RFLAGS_TF != 0 && debugctl() & DEBUGCTL_BTF == 0
}

/// Whether leaving VMX operation now would lose a debug exception the guest is owed or an
/// interrupt shadow, given its pending debug exceptions and interruptibility state.
pub fn step_before_leaving(pending_debug: u64, interruptibility: u64) -> bool {
    pending_debug & PENDING_DEBUG_EVENTS != 0 || interruptibility & BLOCKING_BY_STI_OR_MOV_SS != 0
}

/// DR6 bits B3:0 (breakpoint conditions) and BS, which pending debug exceptions report alike
/// (Vol. 3B, 18.2.3).
const DR6_CONDITIONS: u64 = 0xf | PENDING_SINGLE_STEP;
/// Pending debug exceptions RTM bit, which DR6 reports by clearing its bit 16.
const PENDING_RTM: u64 = 1 << 16;

/// The DR6 with which a #DB for `pending` debug exceptions is injected, from the current `dr6`;
/// `None` if they hold none. The CPU sets DR6 when it delivers a pending debug exception itself
/// (26.7.3), not when VM entry injects one.
pub fn dr6_for_injection(pending: u64, dr6: u64) -> Option<u64> {
    if pending & PENDING_DEBUG_EVENTS == 0 {
        return None;
    }
    let dr6 = dr6 | pending & DR6_CONDITIONS;
    Some(if pending & PENDING_RTM != 0 {
        dr6 & !PENDING_RTM
    } else {
        dr6
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocking by NMI (interruptibility bit 3), which IRETQ keeps no less than VM entry does.
    const BLOCKING_BY_NMI: u64 = 1 << 3;

    /// RFLAGS as the kernel runs (IF and the reserved bit 1).
    const RFLAGS: u64 = 0x202;
    /// IA32_DEBUGCTL with LBR on: a bit other than BTF.
    const DEBUGCTL_LBR: u64 = 1;

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
    fn an_owed_trap_or_breakpoint_waits_for_one_step() {
        assert!(step_before_leaving(PENDING_SINGLE_STEP, 0));
        assert!(step_before_leaving(1 << 2, 0), "breakpoint 2 hit");
        assert!(step_before_leaving(1 << 12 | 1, 0), "enabled breakpoint 0");
        assert!(step_before_leaving(1 << 16, 0), "RTM");
    }

    #[test]
    fn an_interrupt_shadow_waits_for_one_step() {
        assert!(step_before_leaving(0, 1), "blocking by STI");
        assert!(step_before_leaving(0, 2), "blocking by MOV SS");
    }

    #[test]
    fn nothing_pending_leaves_at_once() {
        assert!(!step_before_leaving(0, 0));
        assert!(!step_before_leaving(0, BLOCKING_BY_NMI));
    }

    /// DR6 as the kernel leaves it after a #DB: every reserved-to-1 bit set, RTM (bit 16) set.
    const DR6_CLEAR: u64 = 0xffff_0ff0;

    #[test]
    fn an_injected_single_step_trap_sets_dr6_bs() {
        assert_eq!(
            dr6_for_injection(PENDING_SINGLE_STEP, DR6_CLEAR),
            Some(DR6_CLEAR | 1 << 14)
        );
        assert_eq!(
            dr6_for_injection(1 << 12 | 1 << 1, DR6_CLEAR),
            Some(DR6_CLEAR | 1 << 1),
            "enabled breakpoint 1"
        );
        assert_eq!(
            dr6_for_injection(1 << 16 | 1 << 12 | 1, DR6_CLEAR),
            Some(DR6_CLEAR & !(1 << 16) | 1),
            "RTM clears DR6 bit 16"
        );
    }

    #[test]
    fn nothing_to_inject_for_an_interrupt_shadow() {
        assert_eq!(dr6_for_injection(0, DR6_CLEAR), None);
    }
}
