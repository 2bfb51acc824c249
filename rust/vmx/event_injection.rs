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
/// NMI unblocking due to IRET (bit 12 of the exit field, SDM 25.9.2).
const NMI_UNBLOCKED_BY_IRET: u32 = 1 << 12;
/// Vector of the double fault, whose exits leave bit 12 undefined (28.2.3).
const DOUBLE_FAULT: u32 = 8;
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
    /// The exception happened while an IRET unblocked NMIs (the IRET faulted): blocking by NMI is
    /// to be set in the guest's interruptibility state again before the exception is delivered,
    /// as it was before that IRET (SDM 28.2.3; KVM's `vmx_recover_nmi_blocking`).
    pub block_nmi: bool,
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
        block_nmi: false,
    }
}

/// The exception or NMI that exited, delivered back to the guest as the CPU would have: the exit's
/// interruption information and error code, and for a #PF its address from the exit qualification.
/// `idt_vectoring` is the IDT-vectoring information field: with it valid, bit 12 is undefined.
pub fn reflection(
    exit_info: u32,
    exit_error_code: u32,
    qualification: u64,
    idt_vectoring: u32,
) -> Injection {
    let page_fault = exit_info & 0x7ff == HARDWARE_EXCEPTION | PAGE_FAULT;
    Injection {
        info: exit_info & ENTRY_BITS,
        error_code: (exit_info & DELIVER_ERROR_CODE != 0).then_some(exit_error_code),
        cr2: page_fault.then_some(qualification),
        block_nmi: exit_info & NMI_UNBLOCKED_BY_IRET != 0
            && exit_info & 0x700 == HARDWARE_EXCEPTION
            && exit_info & 0xff != DOUBLE_FAULT
            && idt_vectoring & VALID == 0,
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
        let reflected = reflection(exit_info, 0x6, 0xffff_8880_dead_b000, 0);
        assert_eq!(reflected.info, exit_info);
        assert_eq!(reflected.error_code, Some(0x6));
        assert_eq!(reflected.cr2, Some(0xffff_8880_dead_b000));
    }

    #[test]
    fn an_exception_of_an_iret_that_unblocked_nmis_blocks_them_again() {
        let gp = VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13;
        let reflected = reflection(gp | NMI_UNBLOCKING, 0, 0, 0);
        assert!(reflected.block_nmi);
        assert_eq!(reflected.info, gp, "bit 12 is reserved on entry");
        assert!(!reflection(gp, 0, 0, 0).block_nmi);
        let double_fault = VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 8;
        assert!(
            !reflection(double_fault | NMI_UNBLOCKING, 0, 0, 0).block_nmi,
            "undefined for #DF"
        );
        assert!(!exception(6, None).block_nmi);
        assert!(
            !reflection(gp | NMI_UNBLOCKING, 0, 0, VALID | 4 << 8 | 0x80).block_nmi,
            "undefined while an event was being delivered"
        );
    }

    #[test]
    fn other_exceptions_leave_cr2_alone() {
        let gp = VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13;
        assert_eq!(reflection(gp, 0x18, 0x1234, 0).cr2, None);
        // #DB's qualification holds DR6-like bits, not an address.
        let db = VALID | HARDWARE_EXCEPTION | 1;
        assert_eq!(reflection(db, 0, 0x4000, 0).cr2, None);
        // Vector 14 as a software interrupt (INT 14) is no page fault.
        assert_eq!(reflection(VALID | 4 << 8 | 14, 0, 0x1000, 0).cr2, None);
    }

    #[test]
    fn error_code_only_when_the_exit_had_one() {
        assert_eq!(
            reflection(VALID | HARDWARE_EXCEPTION | 6, 0x55, 0, 0).error_code,
            None
        );
        assert_eq!(
            reflection(
                VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13,
                0x55,
                0,
                0
            )
            .error_code,
            Some(0x55)
        );
    }

    #[test]
    fn nmi_unblocking_is_not_passed_to_entry() {
        let reflected = reflection(NMI | NMI_UNBLOCKING, 0, 0, 0);
        assert_eq!(reflected.info, NMI);
        // An NMI is injected only without blocking by NMI (27.3.1.5).
        assert!(!reflected.block_nmi);
    }

    #[test]
    fn raised_faults() {
        assert_eq!(
            exception(6, None),
            Injection {
                info: VALID | HARDWARE_EXCEPTION | 6,
                error_code: None,
                cr2: None,
                block_nmi: false,
            }
        );
        assert_eq!(
            exception(13, Some(0)).info,
            VALID | DELIVER_ERROR_CODE | HARDWARE_EXCEPTION | 13
        );
    }
}
