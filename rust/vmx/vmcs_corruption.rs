// SPDX-License-Identifier: GPL-2.0

//! VMCS corruptions for testing: `inject_vmcs_corruption=K` changes one field of the VMCS rvmm
//! wrote, just before VMLAUNCH, so that the entry breaks one rule of SDM Vol. 3C chapter 27
//! (rust/vmx/entry_checks.rs names it; selftests/rvmm/vmcs_checks.sh checks that the emulator
//! names the same rule).

use super::fields::{self, Seg};

/// How a corruption changes a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Set(u64),
    SetBits(u64),
    ClearBits(u64),
}

impl Edit {
    pub fn apply(self, value: u64) -> u64 {
        match self {
            Edit::Set(new) => new,
            Edit::SetBits(bits) => value | bits,
            Edit::ClearBits(bits) => value & !bits,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corruption {
    /// The field, as the kernel log names it.
    pub name: &'static str,
    pub field: u32,
    pub edit: Edit,
}

/// Canonical with neither 48- nor 57-bit linear addresses.
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;

const fn corrupt(name: &'static str, field: u32, edit: Edit) -> Corruption {
    Corruption { name, field, edit }
}

/// Corruption K is `CORRUPTIONS[K - 1]`; at least one per group of rules.
pub const CORRUPTIONS: &[Corruption] = &[
    // Control registers: fixed bits (CR0.NE, CR4.VMXE).
    corrupt("GUEST_CR0", fields::GUEST_CR0, Edit::ClearBits(1 << 5)),
    corrupt("GUEST_CR4", fields::GUEST_CR4, Edit::ClearBits(1 << 13)),
    corrupt("HOST_CR0", fields::HOST_CR0, Edit::ClearBits(1 << 5)),
    corrupt("HOST_CR4", fields::HOST_CR4, Edit::ClearBits(1 << 13)),
    // Access rights: CS a data segment, SS at DPL 3, TR an available (not busy) TSS.
    corrupt(
        "GUEST_CS_AR",
        Seg::Cs.guest_access_rights(),
        Edit::Set(0xa093),
    ),
    corrupt(
        "GUEST_SS_AR",
        Seg::Ss.guest_access_rights(),
        Edit::SetBits(3 << 5),
    ),
    corrupt(
        "GUEST_TR_AR",
        Seg::Tr.guest_access_rights(),
        Edit::Set(0x89),
    ),
    corrupt(
        "GUEST_TR_SELECTOR",
        Seg::Tr.guest_selector(),
        Edit::SetBits(4),
    ),
    // Limits and granularity.
    corrupt(
        "GUEST_CS_LIMIT",
        Seg::Cs.guest_limit(),
        Edit::Set(0xffff_f000),
    ),
    corrupt(
        "GUEST_TR_LIMIT",
        Seg::Tr.guest_limit(),
        Edit::Set(0x10_0000),
    ),
    // Descriptor tables.
    corrupt(
        "GUEST_GDTR_BASE",
        fields::GUEST_GDTR_BASE,
        Edit::Set(NON_CANONICAL),
    ),
    corrupt(
        "GUEST_IDTR_LIMIT",
        fields::GUEST_IDTR_LIMIT,
        Edit::Set(0x1_0000),
    ),
    // RIP with CS.L: compatibility mode with a kernel RIP above 4 GiB.
    corrupt(
        "GUEST_CS_AR",
        Seg::Cs.guest_access_rights(),
        Edit::Set(0xc09b),
    ),
    // RFLAGS: a reserved bit, and VM.
    corrupt("GUEST_RFLAGS", fields::GUEST_RFLAGS, Edit::SetBits(1 << 15)),
    corrupt("GUEST_RFLAGS", fields::GUEST_RFLAGS, Edit::SetBits(1 << 17)),
    // Non-register state.
    corrupt(
        "GUEST_ACTIVITY_STATE",
        fields::GUEST_ACTIVITY_STATE,
        Edit::Set(4),
    ),
    corrupt(
        "VMCS_LINK_POINTER",
        fields::VMCS_LINK_POINTER,
        Edit::Set(0x1000_0001),
    ),
    // Host selectors: RPL, TI.
    corrupt(
        "HOST_CS_SELECTOR",
        fields::HOST_CS_SELECTOR,
        Edit::SetBits(3),
    ),
    corrupt(
        "HOST_TR_SELECTOR",
        fields::HOST_TR_SELECTOR,
        Edit::SetBits(4),
    ),
    // Host address-space size, entry and execution control consistency.
    corrupt(
        "EXIT_CONTROLS",
        fields::EXIT_CONTROLS,
        Edit::ClearBits(1 << 9),
    ),
    corrupt(
        "ENTRY_CONTROLS",
        fields::ENTRY_CONTROLS,
        Edit::SetBits(1 << 31),
    ),
    corrupt(
        "PIN_BASED_CONTROLS",
        fields::PIN_BASED_CONTROLS,
        Edit::SetBits(1 << 5),
    ),
    corrupt(
        "SECONDARY_PROC_CONTROLS",
        fields::SECONDARY_PROC_CONTROLS,
        Edit::SetBits(1 << 7),
    ),
    corrupt(
        "PRIMARY_PROC_CONTROLS",
        fields::PRIMARY_PROC_CONTROLS,
        Edit::ClearBits(1 << 1),
    ),
    // Interruptibility and pending debug exceptions: blocking by STI with IF=0 (set-up runs with
    // interrupts off), a reserved bit.
    corrupt(
        "GUEST_INTERRUPTIBILITY",
        fields::GUEST_INTERRUPTIBILITY,
        Edit::Set(1),
    ),
    corrupt(
        "GUEST_PENDING_DBG_EXCEPTIONS",
        fields::GUEST_PENDING_DEBUG_EXCEPTIONS,
        Edit::Set(1 << 4),
    ),
    // Canonical addresses.
    corrupt("HOST_RIP", fields::HOST_RIP, Edit::Set(NON_CANONICAL)),
    corrupt(
        "HOST_FS_BASE",
        fields::HOST_FS_BASE,
        Edit::Set(NON_CANONICAL),
    ),
    corrupt(
        "GUEST_FS_BASE",
        Seg::Fs.guest_base(),
        Edit::Set(NON_CANONICAL),
    ),
    corrupt(
        "GUEST_SYSENTER_EIP",
        fields::GUEST_SYSENTER_EIP,
        Edit::Set(NON_CANONICAL),
    ),
    // Event injection: a hardware exception with vector 32.
    corrupt(
        "ENTRY_INTERRUPTION_INFO",
        fields::ENTRY_INTERRUPTION_INFO,
        Edit::Set(1 << 31 | 3 << 8 | 32),
    ),
    // Control-field addresses and counts.
    corrupt("MSR_BITMAP", fields::MSR_BITMAP, Edit::SetBits(0x800)),
    corrupt("CR3_TARGET_COUNT", fields::CR3_TARGET_COUNT, Edit::Set(5)),
    // More guest state: TR unusable, DR7 bits 63:32, CR3 reserved bit 62 (LAM_U57 without LAM).
    corrupt(
        "GUEST_TR_AR",
        Seg::Tr.guest_access_rights(),
        Edit::SetBits(1 << 16),
    ),
    corrupt("GUEST_DR7", fields::GUEST_DR7, Edit::SetBits(1 << 32)),
    corrupt("GUEST_CR3", fields::GUEST_CR3, Edit::SetBits(1 << 62)),
];

/// Corruption `k` (1-based; 0 is none).
pub fn corruption(k: u32) -> Option<&'static Corruption> {
    CORRUPTIONS.get((k as usize).checked_sub(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits() {
        assert_eq!(Edit::Set(5).apply(3), 5);
        assert_eq!(Edit::SetBits(4).apply(3), 7);
        assert_eq!(Edit::ClearBits(2).apply(3), 1);
    }

    #[test]
    fn numbering_starts_at_one() {
        assert_eq!(corruption(0), None);
        assert_eq!(corruption(1).map(|c| c.name), Some("GUEST_CR0"));
        assert_eq!(corruption(CORRUPTIONS.len() as u32 + 1), None);
        assert!(CORRUPTIONS.len() >= 20);
    }
}
