// SPDX-License-Identifier: GPL-2.0

//! Segment descriptors to VMCS guest segment state (Intel SDM Vol. 3A, 3.4.5 and 8.2.3; Vol. 3C,
//! 25.4.1 for the access-rights format).

/// Access-rights bit 16: the register is unusable (e.g. loaded with a null selector).
pub const UNUSABLE: u32 = 1 << 16;
const ACCESSED: u32 = 1 << 0;
const DESCRIPTOR_TYPE_CODE_DATA: u32 = 1 << 4;
const GRANULARITY: u32 = 1 << 15;

/// A segment register as the VMCS holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u64,
    pub limit: u32,
    pub access_rights: u32,
}

/// Whether `selector` is null: index 0 in the GDT, whatever the RPL.
pub fn is_null(selector: u16) -> bool {
    selector & !3 == 0
}

/// Whether `selector` refers to the LDT rather than the GDT.
pub fn in_ldt(selector: u16) -> bool {
    selector & 4 != 0
}

/// Byte offset of `selector`'s descriptor in its table.
pub fn table_offset(selector: u16) -> usize {
    (selector & !7) as usize
}

impl Default for Segment {
    fn default() -> Self {
        Segment::unusable(0)
    }
}

impl Segment {
    /// A register loaded with a null selector. Its DPL is the selector's RPL: for SS in 64-bit mode,
    /// where a null SS is normal, the VMCS takes the CPL from SS.DPL (SDM 25.4.1).
    pub fn unusable(selector: u16) -> Self {
        Segment {
            selector,
            base: 0,
            limit: 0,
            access_rights: UNUSABLE | (u32::from(selector) & 3) << 5,
        }
    }

    /// Decodes the descriptor `low` (and, for system descriptors such as TSS and LDT, which are 16
    /// bytes in IA-32e mode, the next 8 bytes `high`) for a register loaded with `selector`.
    pub fn from_descriptor(selector: u16, low: u64, high: u64) -> Self {
        if is_null(selector) {
            return Self::unusable(selector);
        }
        let mut base = (low >> 16) & 0xff_ffff | (low >> 32) & 0xff00_0000;
        let mut limit = (low & 0xffff | (low >> 32) & 0xf_0000) as u32;
        // Bits 7:0 are descriptor byte 5 (type, S, DPL, P); bits 15:12 the flags nibble of byte 6.
        let mut access_rights = (low >> 40) as u32 & 0xf0ff;
        if access_rights & GRANULARITY != 0 {
            limit = limit << 12 | 0xfff;
        }
        if access_rights & DESCRIPTOR_TYPE_CODE_DATA == 0 {
            base |= (high & 0xffff_ffff) << 32;
        } else {
            // The CPU sets the accessed bit when it loads a code or data segment, so the register
            // holds it even if the descriptor in memory does not; VM entry requires it (27.3.1.2).
            access_rights |= ACCESSED;
        }
        Segment {
            selector,
            base,
            limit,
            access_rights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Linux's x86-64 GDT entries (arch/x86/kernel/cpu/common.c).
    const KERNEL_CS: u64 = 0x00af_9b00_0000_ffff;
    const KERNEL_DS: u64 = 0x00cf_9300_0000_ffff;
    const USER_DS: u64 = 0x00cf_f300_0000_ffff;

    #[test]
    fn kernel_code_segment() {
        let cs = Segment::from_descriptor(0x10, KERNEL_CS, 0);
        assert_eq!(cs.base, 0);
        assert_eq!(cs.limit, 0xffff_ffff);
        // Type 0xb (execute/read, accessed), S, DPL 0, P; L=1, G=1.
        assert_eq!(cs.access_rights, 0xa09b);
        assert_eq!(cs.access_rights & UNUSABLE, 0);
    }

    #[test]
    fn data_segments_and_accessed_bit() {
        assert_eq!(
            Segment::from_descriptor(0x18, KERNEL_DS, 0).access_rights,
            0xc093
        );
        assert_eq!(
            Segment::from_descriptor(0x2b, USER_DS, 0).access_rights,
            0xc0f3
        );
        let not_accessed = USER_DS & !(1 << 40);
        assert_eq!(
            Segment::from_descriptor(0x2b, not_accessed, 0).access_rights,
            0xc0f3
        );
    }

    #[test]
    fn sixteen_byte_tss_descriptor() {
        // A busy 64-bit TSS at 0xfffffe0000003000 with limit 0x4087, byte granular.
        let low = 0x0000_8b00_3000_4087 | 0xfe << 56;
        let high = 0xffff_fffe;
        let tr = Segment::from_descriptor(0x40, low, high);
        assert_eq!(tr.base, 0xffff_fffe_fe00_3000);
        assert_eq!(tr.limit, 0x4087);
        assert_eq!(
            tr.access_rights, 0x8b,
            "busy TSS, system, present; accessed bit untouched"
        );
    }

    #[test]
    fn null_selectors_are_unusable_and_keep_the_rpl_as_dpl() {
        assert_eq!(
            Segment::from_descriptor(0, KERNEL_DS, 0).access_rights,
            UNUSABLE
        );
        let ss = Segment::unusable(3);
        assert_ne!(ss.access_rights & UNUSABLE, 0);
        assert_eq!(ss.access_rights >> 5 & 3, 3);
        assert!(is_null(3) && !is_null(8) && !is_null(4));
    }

    #[test]
    fn table_selection() {
        assert!(in_ldt(0x0f) && !in_ldt(0x2b));
        assert_eq!(table_offset(0x2b), 0x28);
        assert_eq!(table_offset(0x0f), 0x08);
    }
}
