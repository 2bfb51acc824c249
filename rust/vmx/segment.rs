// SPDX-License-Identifier: GPL-2.0

//! Segment descriptors to VMCS guest segment state (Intel SDM Vol. 3A, 3.4.5 and 8.2.3; Vol. 3C,
//! 25.4.1 for the access-rights format).

/// Access-rights bit 16: the register is unusable (e.g. loaded with a null selector).
pub const UNUSABLE: u32 = 1 << 16;
const ACCESSED: u32 = 1 << 0;
const DESCRIPTOR_TYPE_CODE_DATA: u32 = 1 << 4;
const PRESENT: u32 = 1 << 7;
const GRANULARITY: u32 = 1 << 15;
/// Type bits: code (bit 3), conforming for code (bit 2), readable for code (bit 1).
const CODE: u32 = 1 << 3;
const CONFORMING: u32 = 1 << 2;
const READABLE: u32 = 1 << 1;

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

/// Whether the 8-byte descriptor of `selector` lies within a descriptor table whose limit is
/// `table_limit` (SDM Vol. 3A, 3.5.1: the last valid byte is base + limit).
pub fn within_limit(selector: u16, table_limit: u32) -> bool {
    table_offset(selector) + 7 <= table_limit as usize
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

    /// DS, ES, FS or GS holding `selector`, decoded from its descriptor `low` (`None`: the selector
    /// lies beyond its table's limit). The CPU keeps the descriptor it loaded, which memory may no
    /// longer hold: `modify_ldt()` can empty an LDT entry that a thread's FS or GS still selects,
    /// and the kernel reloads only DS and ES then (arch/x86/kernel/ldt.c). A descriptor that a MOV
    /// to the register would now refuse (SDM Vol. 2B, MOV: #GP or #NP) gives an unusable register,
    /// as the null selector the kernel's fault-tolerant reload leaves in it: VM entry refuses a
    /// usable one with such access rights (Vol. 3C, 27.3.1.2), and in 64-bit mode an unusable
    /// data segment register still addresses through its base.
    pub fn data_register(selector: u16, low: Option<u64>) -> Self {
        let Some(low) = low.filter(|_| !is_null(selector)) else {
            return Self::unusable(selector);
        };
        let segment = Self::from_descriptor(selector, low, 0);
        if loadable_data_segment(selector, segment.access_rights) {
            segment
        } else {
            Self::unusable(selector)
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

/// Whether a MOV at CPL 0 to DS, ES, FS or GS of `selector`, with a descriptor of these
/// `access_rights`, succeeds (SDM Vol. 2B, MOV): a present code or data descriptor, readable if
/// code, and no less privileged than the selector's RPL unless it is conforming code.
fn loadable_data_segment(selector: u16, access_rights: u32) -> bool {
    let dpl = access_rights >> 5 & 3;
    let rpl = u32::from(selector & 3);
    let kind = access_rights & (CODE | CONFORMING | READABLE);
    access_rights & DESCRIPTOR_TYPE_CODE_DATA != 0
        && access_rights & PRESENT != 0
        && (kind & CODE == 0 || kind & READABLE != 0)
        && (kind & (CODE | CONFORMING) == CODE | CONFORMING || rpl <= dpl)
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

    /// A 32-bit data descriptor in the LDT as modify_ldt() writes it: base 0x10000, limit 0xfff,
    /// DPL 3, present, writable.
    const LDT_DATA: u64 = 0x0040_f201_0000_0fff;

    #[test]
    fn a_valid_ldt_data_selector_is_usable() {
        let fs = Segment::data_register(0x7, Some(LDT_DATA));
        assert_eq!(fs.access_rights, 0x40f3);
        assert_eq!(fs.base, 0x10000);
        assert_eq!(fs.limit, 0xfff);
    }

    #[test]
    fn an_emptied_ldt_entry_makes_the_register_unusable() {
        // modify_ldt() writes an all-zero descriptor for an empty entry.
        let fs = Segment::data_register(0x7, Some(0));
        assert_eq!(fs, Segment::unusable(0x7));
        assert_eq!(fs.access_rights, UNUSABLE | 3 << 5);
        let not_present = LDT_DATA & !(1 << 47);
        assert_eq!(
            Segment::data_register(0x7, Some(not_present)),
            Segment::unusable(0x7)
        );
    }

    #[test]
    fn a_selector_beyond_its_table_makes_the_register_unusable() {
        assert!(within_limit(0x7, 7));
        assert!(!within_limit(0xf, 7));
        assert!(!within_limit(0x7, 6));
        assert_eq!(Segment::data_register(0xf, None), Segment::unusable(0xf));
    }

    #[test]
    fn descriptors_a_data_register_cannot_hold_are_unusable() {
        let execute_only = Segment::data_register(0x10, Some(KERNEL_CS & !(1 << 41)));
        assert_eq!(execute_only, Segment::unusable(0x10), "execute-only code");
        let readable_cs = Segment::data_register(0x10, Some(KERNEL_CS));
        assert_eq!(readable_cs.access_rights, 0xa09b);
        let kernel_ds_rpl3 = Segment::data_register(0x1b, Some(KERNEL_DS));
        assert_eq!(kernel_ds_rpl3, Segment::unusable(0x1b), "DPL 0 below RPL 3");
        let tss = Segment::data_register(0x40, Some(0x0000_8b00_3000_4087));
        assert_eq!(tss, Segment::unusable(0x40), "system descriptor");
        let conforming_rpl3 = KERNEL_CS | 1 << 42;
        assert_ne!(
            Segment::data_register(0x13, Some(conforming_rpl3)).access_rights & UNUSABLE,
            UNUSABLE,
            "readable conforming code loads with any RPL"
        );
    }

    #[test]
    fn linux_data_selectors_stay_usable() {
        assert_eq!(
            Segment::data_register(0x18, Some(KERNEL_DS)).access_rights,
            0xc093
        );
        assert_eq!(
            Segment::data_register(0x2b, Some(USER_DS)).access_rights,
            0xc0f3
        );
        assert_eq!(
            Segment::data_register(0, Some(USER_DS)),
            Segment::unusable(0)
        );
    }
}
