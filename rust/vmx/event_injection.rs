// SPDX-License-Identifier: GPL-2.0

//! Events rvmm delivers to the guest through VM entry: a fault it raises (#UD, #GP) and an
//! exception that exited, reflected unchanged (VM-entry interruption-information field, SDM Vol. 3C,
//! 25.8.3; its exit counterpart, 25.9.2).

use super::controls::PAGE_FAULT;

/// Interruption type "hardware exception" (bits 10:8).
pub const HARDWARE_EXCEPTION: u32 = 3 << 8;
/// An error code is delivered (bit 11).
pub const DELIVER_ERROR_CODE: u32 = 1 << 11;
/// The field is valid (bit 31).
pub const VALID: u32 = 1 << 31;
/// Vector, type, error-code and valid bits. Bit 12 of the exit field (NMI unblocking due to IRET)
/// is reserved in the entry field, and VM entry fails with it set.
const ENTRY_BITS: u32 = 0x8000_0fff;

/// What VM entry is to deliver: the interruption information and error code to write, and the
/// CR2 to load first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    pub info: u32,
    pub error_code: Option<u32>,
    /// A page fault reports its address in CR2, which the CPU writes only when it delivers the #PF
    /// itself: an injected one finds whatever CR2 held, so the hypervisor loads it (SDM 25.9.1: the
    /// exit qualification of a #PF exit holds the linear address).
    pub cr2: Option<u64>,
}

/// A hardware exception raised at the exiting instruction.
pub fn exception(vector: u8, error_code: Option<u32>) -> Injection {
    let mut info = VALID | HARDWARE_EXCEPTION | u32::from(vector);
    if error_code.is_some() {
        info |= DELIVER_ERROR_CODE;
    }
    Injection {
        info,
        error_code,
        cr2: None,
    }
}

/// The exception or NMI that exited, delivered back to the guest as the CPU would have: the exit's
/// interruption information and error code, and for a #PF its address from the exit qualification.
/// Blocking by NMI is not set again for an exception of an IRET that unblocked NMIs (exit bit 12):
/// with "NMI exiting" and "virtual NMIs" 0, an IRET unblocks NMIs even when it faults, and the fault's
/// handler runs unblocked natively (SDM Vol. 3A, 6.7.1; Vol. 3C, 28.1 clears the blocking before the
/// VM exit, 28.2.3 records it). Re-blocking is for a hypervisor that executes the IRET again, or
/// that uses virtual NMIs, as KVM's `vmx_recover_nmi_blocking` does; rvmm delivers the fault.
pub fn reflection(exit_info: u32, exit_error_code: u32, qualification: u64) -> Injection {
    let page_fault = exit_info & 0x7ff == HARDWARE_EXCEPTION | PAGE_FAULT;
    Injection {
        info: exit_info & ENTRY_BITS,
        error_code: (exit_info & DELIVER_ERROR_CODE != 0).then_some(exit_error_code),
        cr2: page_fault.then_some(qualification),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NMI: u32 = VALID | 2 << 8 | 2;
    const NMI_UNBLOCKING: u32 = 1 << 12;

    #[test]
    fn a_page_fault_is_reflected_with_its_address_in_cr2() {
        let exit_info = VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | PAGE_FAULT;
        let reflected = reflection(exit_info, 0x6, 0xffff_8880_dead_b000);
        assert_eq!(reflected.info, exit_info);
        assert_eq!(reflected.error_code, Some(0x6));
        assert_eq!(reflected.cr2, Some(0xffff_8880_dead_b000));
    }

    #[test]
    fn other_exceptions_leave_cr2_alone() {
        let gp = VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13;
        assert_eq!(reflection(gp, 0x18, 0x1234).cr2, None);
        // #DB's qualification holds DR6-like bits, not an address.
        let db = VALID | HARDWARE_EXCEPTION | 1;
        assert_eq!(reflection(db, 0, 0x4000).cr2, None);
        // Vector 14 as a software interrupt (INT 14) is no page fault.
        assert_eq!(reflection(VALID | 4 << 8 | 14, 0, 0x1000).cr2, None);
    }

    #[test]
    fn error_code_only_when_the_exit_had_one() {
        assert_eq!(
            reflection(VALID | HARDWARE_EXCEPTION | 6, 0x55, 0).error_code,
            None
        );
        assert_eq!(
            reflection(
                VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13,
                0x55,
                0
            )
            .error_code,
            Some(0x55)
        );
    }

    #[test]
    fn nmi_unblocking_is_not_passed_to_entry() {
        let reflected = reflection(NMI | NMI_UNBLOCKING, 0, 0);
        assert_eq!(reflected.info, NMI);
        // A #GP of an IRET that unblocked NMIs is delivered as the bare #GP, NMIs unblocked.
        let gp = VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13;
        assert_eq!(reflection(gp | NMI_UNBLOCKING, 0, 0).info, gp);
    }

    #[test]
    fn raised_faults() {
        assert_eq!(
            exception(6, None),
            Injection {
                info: VALID | HARDWARE_EXCEPTION | 6,
                error_code: None,
                cr2: None
            }
        );
        assert_eq!(
            exception(13, Some(0)).info,
            VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13
        );
    }
}
