// SPDX-License-Identifier: GPL-2.0

//! What rvmm does when a VM entry fails (VMfailValid on VMRESUME, or a VM exit with bit 31 of the
//! exit reason set: SDM Vol. 3C, 27.8 and 31.4).
//!
//! In the kernel (CPL 0) rvmm leaves VMX operation on that CPU and the kernel continues natively: it
//! meets whatever rvmm could not handle as it would without rvmm. In user mode that would hand the
//! CPU over on a user's behalf, and under page-table isolation would run user code on the kernel's
//! page table. So a user-mode guest is entered again in the state the CPU itself saved at the exit,
//! with #UD injected at the exiting instruction, as for any user-mode exit rvmm cannot complete:
//! the process gets SIGILL and the CPU stays under rvmm.
//!
//! Only the fields an exit handler changes for a user-mode guest are put back: RIP (advanced past
//! the instruction), interruptibility (STI/MOV SS blocking ended), pending debug exceptions (a
//! single-step trap added) and the event to inject. Registers the handler already wrote (CPUID's
//! outputs) keep their new values. Everything else is the CPU's own saved state, which VM entry
//! accepts, and #UD may be injected at any privilege level, so the second entry cannot fail for the
//! same reason; if it fails all the same, rvmm leaves VMX operation as for the kernel.

/// What an exit handler changed that a retry must put back: the guest RIP before the handler
/// advanced it, or one of the two markers below. Non-canonical values, so never a RIP.
pub const NOT_SKIPPED: u64 = 1 << 63;
/// The entry that failed was already a retry.
pub const RETRYING: u64 = 1 << 63 | 1;

/// Interruptibility-state bits 1:0, blocking by STI and by MOV SS (SDM 25.4.2).
pub const BLOCKING_BY_STI_OR_MOV_SS: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Enter again with #UD injected, RIP set back to `rip` if the handler had advanced it.
    RetryWithUd { rip: Option<u64> },
    /// Leave VMX operation on this CPU.
    LeaveVmx,
}

/// The recovery for a failed entry into a guest at privilege level `cpl`, whose last exit handler
/// left `undo` (the RIP before it skipped an instruction, [`NOT_SKIPPED`] or [`RETRYING`]).
pub fn recover(cpl: u64, undo: u64) -> Recovery {
    match (cpl, undo) {
        (0, _) | (_, RETRYING) => Recovery::LeaveVmx,
        (_, NOT_SKIPPED) => Recovery::RetryWithUd { rip: None },
        (_, rip) => Recovery::RetryWithUd { rip: Some(rip) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_leaves_vmx() {
        assert_eq!(recover(0, NOT_SKIPPED), Recovery::LeaveVmx);
        assert_eq!(recover(0, 0xffff_ffff_8100_0000), Recovery::LeaveVmx);
    }

    #[test]
    fn user_mode_is_entered_again_at_the_exiting_instruction() {
        assert_eq!(
            recover(3, 0xffff_fffe),
            Recovery::RetryWithUd {
                rip: Some(0xffff_fffe)
            }
        );
        assert_eq!(recover(3, NOT_SKIPPED), Recovery::RetryWithUd { rip: None });
    }

    #[test]
    fn a_failed_retry_leaves_vmx_instead_of_looping() {
        assert_eq!(recover(3, RETRYING), Recovery::LeaveVmx);
    }

    #[test]
    fn markers_are_no_rip() {
        // Not canonical with 48- or 57-bit linear addresses, nor below 4 GiB.
        for marker in [NOT_SKIPPED, RETRYING] {
            assert!(marker >> 56 != 0 && marker >> 56 != 0xff);
        }
    }
}
