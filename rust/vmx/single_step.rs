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

/// RFLAGS.TF, the trap flag (SDM Vol. 1, 3.4.3.3).
pub const RFLAGS_TF: u64 = 1 << 8;
/// IA32_DEBUGCTL.BTF, single-step on branches (SDM Vol. 3B, 18.4.1).
pub const DEBUGCTL_BTF: u64 = 1 << 1;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C, 25.4.2).
pub const PENDING_SINGLE_STEP: u64 = 1 << 14;

/// Whether completing a non-branching instruction owes the guest a single-step trap, given its
/// RFLAGS and a way to read its IA32_DEBUGCTL. `debugctl` is asked only when TF is set, so an exit
/// that is not single-stepped pays nothing for it.
pub fn trap_owed(rflags: u64, debugctl: impl FnOnce() -> u64) -> bool {
    rflags & RFLAGS_TF != 0 && debugctl() & DEBUGCTL_BTF == 0
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
