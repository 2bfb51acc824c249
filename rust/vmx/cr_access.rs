// SPDX-License-Identifier: GPL-2.0

//! Exit qualification for control-register accesses (Intel SDM Vol. 3C, Table 28-3).

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
    fn decodes_each_access_type() {
        // mov %rdi, %cr4 (GPR 7).
        assert_eq!(decode(0x704), CrAccess::MovTo { cr: 4, gpr: 7 });
        // mov %cr3, %r12.
        assert_eq!(decode(0xc13), CrAccess::MovFrom { cr: 3, gpr: 12 });
        assert_eq!(decode(0x20), CrAccess::Clts);
        assert_eq!(decode(0x0011_0030), CrAccess::Lmsw { source: 0x11 });
    }
}
