// SPDX-License-Identifier: GPL-2.0

//! VMCS field encodings (Intel SDM Vol. 3D, Appendix B "Field Encoding in VMCS").

/// The eight guest segment registers, in the order their VMCS fields are numbered (SDM B.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    Es = 0,
    Cs = 1,
    Ss = 2,
    Ds = 3,
    Fs = 4,
    Gs = 5,
    Ldtr = 6,
    Tr = 7,
}

impl Seg {
    pub const ALL: [Seg; 8] = [
        Seg::Es,
        Seg::Cs,
        Seg::Ss,
        Seg::Ds,
        Seg::Fs,
        Seg::Gs,
        Seg::Ldtr,
        Seg::Tr,
    ];
    pub const fn guest_selector(self) -> u32 {
        0x0800 + 2 * self as u32
    }
    pub const fn guest_limit(self) -> u32 {
        0x4800 + 2 * self as u32
    }
    pub const fn guest_access_rights(self) -> u32 {
        0x4814 + 2 * self as u32
    }
    pub const fn guest_base(self) -> u32 {
        0x6806 + 2 * self as u32
    }
}

// 16-bit control field (B.1.1).
pub const VPID: u32 = 0x0000;

// 16-bit host state (B.1.3).
pub const HOST_ES_SELECTOR: u32 = 0x0c00;
pub const HOST_CS_SELECTOR: u32 = 0x0c02;
pub const HOST_SS_SELECTOR: u32 = 0x0c04;
pub const HOST_DS_SELECTOR: u32 = 0x0c06;
pub const HOST_FS_SELECTOR: u32 = 0x0c08;
pub const HOST_GS_SELECTOR: u32 = 0x0c0a;
pub const HOST_TR_SELECTOR: u32 = 0x0c0c;
/// The host selectors in `Seg` order (ES, CS, SS, DS, FS, GS) and TR.
pub const HOST_SELECTORS: [u32; 7] = [
    HOST_ES_SELECTOR,
    HOST_CS_SELECTOR,
    HOST_SS_SELECTOR,
    HOST_DS_SELECTOR,
    HOST_FS_SELECTOR,
    HOST_GS_SELECTOR,
    HOST_TR_SELECTOR,
];

// 64-bit control and guest state (B.2.1, B.2.3).
pub const IO_BITMAP_A: u32 = 0x2000;
pub const IO_BITMAP_B: u32 = 0x2002;
pub const MSR_BITMAP: u32 = 0x2004;
pub const EXIT_MSR_STORE_ADDR: u32 = 0x2006;
pub const EXIT_MSR_LOAD_ADDR: u32 = 0x2008;
pub const ENTRY_MSR_LOAD_ADDR: u32 = 0x200a;
pub const XSS_EXITING_BITMAP: u32 = 0x202c;
pub const VMCS_LINK_POINTER: u32 = 0x2800;
pub const GUEST_IA32_DEBUGCTL: u32 = 0x2802;

// 32-bit control fields (B.3.1).
pub const PIN_BASED_CONTROLS: u32 = 0x4000;
pub const PRIMARY_PROC_CONTROLS: u32 = 0x4002;
pub const EXCEPTION_BITMAP: u32 = 0x4004;
pub const PAGE_FAULT_ERROR_CODE_MASK: u32 = 0x4006;
pub const PAGE_FAULT_ERROR_CODE_MATCH: u32 = 0x4008;
pub const CR3_TARGET_COUNT: u32 = 0x400a;
pub const EXIT_CONTROLS: u32 = 0x400c;
pub const EXIT_MSR_STORE_COUNT: u32 = 0x400e;
pub const EXIT_MSR_LOAD_COUNT: u32 = 0x4010;
pub const ENTRY_CONTROLS: u32 = 0x4012;
pub const ENTRY_MSR_LOAD_COUNT: u32 = 0x4014;
pub const ENTRY_INTERRUPTION_INFO: u32 = 0x4016;
pub const ENTRY_EXCEPTION_ERROR_CODE: u32 = 0x4018;
pub const ENTRY_INSTRUCTION_LEN: u32 = 0x401a;
pub const SECONDARY_PROC_CONTROLS: u32 = 0x401e;

// 32-bit read-only data fields (B.3.2).
pub const VM_INSTRUCTION_ERROR: u32 = 0x4400;
pub const EXIT_REASON: u32 = 0x4402;
pub const EXIT_INTERRUPTION_INFO: u32 = 0x4404;
pub const EXIT_INTERRUPTION_ERROR_CODE: u32 = 0x4406;
pub const EXIT_INSTRUCTION_LEN: u32 = 0x440c;

// 32-bit guest and host state (B.3.3, B.3.4).
pub const GUEST_GDTR_LIMIT: u32 = 0x4810;
pub const GUEST_IDTR_LIMIT: u32 = 0x4812;
pub const GUEST_INTERRUPTIBILITY: u32 = 0x4824;
pub const GUEST_ACTIVITY_STATE: u32 = 0x4826;
pub const GUEST_SYSENTER_CS: u32 = 0x482a;
pub const HOST_SYSENTER_CS: u32 = 0x4c00;

// Natural-width control, read-only, guest and host fields (B.4).
pub const CR0_GUEST_HOST_MASK: u32 = 0x6000;
pub const CR4_GUEST_HOST_MASK: u32 = 0x6002;
pub const CR0_READ_SHADOW: u32 = 0x6004;
pub const CR4_READ_SHADOW: u32 = 0x6006;
pub const EXIT_QUALIFICATION: u32 = 0x6400;
pub const GUEST_CR0: u32 = 0x6800;
pub const GUEST_CR3: u32 = 0x6802;
pub const GUEST_CR4: u32 = 0x6804;
pub const GUEST_GDTR_BASE: u32 = 0x6816;
pub const GUEST_IDTR_BASE: u32 = 0x6818;
pub const GUEST_DR7: u32 = 0x681a;
pub const GUEST_RSP: u32 = 0x681c;
pub const GUEST_RIP: u32 = 0x681e;
pub const GUEST_RFLAGS: u32 = 0x6820;
pub const GUEST_PENDING_DEBUG_EXCEPTIONS: u32 = 0x6822;
pub const GUEST_SYSENTER_ESP: u32 = 0x6824;
pub const GUEST_SYSENTER_EIP: u32 = 0x6826;
pub const HOST_CR0: u32 = 0x6c00;
pub const HOST_CR3: u32 = 0x6c02;
pub const HOST_CR4: u32 = 0x6c04;
pub const HOST_FS_BASE: u32 = 0x6c06;
pub const HOST_GS_BASE: u32 = 0x6c08;
pub const HOST_TR_BASE: u32 = 0x6c0a;
pub const HOST_GDTR_BASE: u32 = 0x6c0c;
pub const HOST_IDTR_BASE: u32 = 0x6c0e;
pub const HOST_SYSENTER_ESP: u32 = 0x6c10;
pub const HOST_SYSENTER_EIP: u32 = 0x6c12;
pub const HOST_RSP: u32 = 0x6c14;
pub const HOST_RIP: u32 = 0x6c16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_fields_match_appendix_b() {
        assert_eq!(Seg::Es.guest_selector(), 0x800);
        assert_eq!(Seg::Tr.guest_selector(), 0x80e);
        assert_eq!(Seg::Cs.guest_limit(), 0x4802);
        assert_eq!(Seg::Tr.guest_limit(), 0x480e);
        assert_eq!(Seg::Es.guest_access_rights(), 0x4814);
        assert_eq!(Seg::Tr.guest_access_rights(), 0x4822);
        assert_eq!(Seg::Es.guest_base(), 0x6806);
        assert_eq!(Seg::Tr.guest_base(), 0x6814);
        // The next fields after each run start where Appendix B says.
        assert_eq!(Seg::Tr.guest_limit() + 2, GUEST_GDTR_LIMIT);
        assert_eq!(Seg::Tr.guest_base() + 2, GUEST_GDTR_BASE);
    }

    #[test]
    fn encodings_carry_their_width_and_type() {
        // Bits 14:13 give the width (0: 16-bit, 1: 64-bit, 2: 32-bit, 3: natural), bits 11:10 the type.
        let width = |f: u32| (f >> 13) & 3;
        assert_eq!(width(HOST_TR_SELECTOR), 0);
        assert_eq!(width(VMCS_LINK_POINTER), 1);
        assert_eq!(width(EXIT_REASON), 2);
        assert_eq!(width(HOST_RIP), 3);
        let kind = |f: u32| (f >> 10) & 3;
        assert_eq!(kind(EXIT_QUALIFICATION), 1, "read-only data");
        assert_eq!(kind(GUEST_RIP), 2, "guest state");
        assert_eq!(kind(HOST_RSP), 3, "host state");
    }
}
