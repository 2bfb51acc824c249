// SPDX-License-Identifier: GPL-2.0

//! Exit qualification for control-register accesses (Intel SDM Vol. 3C, Table 28-3), and what a
//! MOV to CR4 leaves in CR4.

use super::support::CR4_VMXE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrAccess {
    /// MOV to CR`cr` from general-purpose register `gpr`.
    MovTo {
        cr: u8,
        gpr: u8,
    },
    /// MOV from CR`cr` to `gpr`.
    MovFrom {
        cr: u8,
        gpr: u8,
    },
    Clts,
    /// LMSW with its 16-bit source operand.
    Lmsw {
        source: u16,
    },
}

/// CR4 after the guest's MOV to CR4, as the guest CR4 and the read shadow: CR4.VMXE stays set, as it
/// must in VMX operation (Vol. 3C, 24.8), and reads as set; the other bits are the guest's. Only a
/// write that clears VMXE exits (VMXE is the one bit of the CR4 guest/host mask).
pub fn cr4_after_write(value: u64) -> u64 {
    value | CR4_VMXE
}

pub fn decode(qualification: u64) -> CrAccess {
    let cr = (qualification & 0xf) as u8;
    let gpr = (qualification >> 8 & 0xf) as u8;
    match qualification >> 4 & 3 {
        0 => CrAccess::MovTo { cr, gpr },
        1 => CrAccess::MovFrom { cr, gpr },
        2 => CrAccess::Clts,
        _ => CrAccess::Lmsw {
            source: (qualification >> 16) as u16,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr4_writes_keep_vmxe_and_the_guest_bits() {
        // The kernel's CR4 (PAE, PGE, OSFXSR, OSXMMEXCPT, OSXSAVE, SMEP, SMAP) without VMXE.
        let kernel = 0x3406e0;
        assert_eq!(cr4_after_write(kernel), kernel | CR4_VMXE);
        assert_eq!(cr4_after_write(kernel & !0x80), (kernel & !0x80) | CR4_VMXE);
        assert_eq!(cr4_after_write(kernel | CR4_VMXE), kernel | CR4_VMXE);
    }

    #[test]
    fn decodes_each_access_type() {
        // mov %rdi, %cr4 (GPR 7).
        assert_eq!(decode(0x704), CrAccess::MovTo { cr: 4, gpr: 7 });
        // mov %cr3, %r12.
        assert_eq!(decode(0xc13), CrAccess::MovFrom { cr: 3, gpr: 12 });
        assert_eq!(decode(0x20), CrAccess::Clts);
        assert_eq!(decode(0x0011_0030), CrAccess::Lmsw { source: 0x11 });
    }
}
