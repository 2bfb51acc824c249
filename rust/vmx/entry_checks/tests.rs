// SPDX-License-Identifier: GPL-2.0

//! Every rule both ways: a VMCS like the one rvmm writes for a Linux kernel passes all of them; a
//! change that breaks one rule is reported with that rule first; a nearby legal value is not.

use super::{controls as c, guest as g, host as h, *};
use crate::segment::{Segment, UNUSABLE};

/// A Skylake-like CPU (Bochs's corei7_skylake_x reports about these), with TRUE controls.
fn skylake_caps() -> [Option<u64>; crate::capabilities::COUNT] {
    let mut raw = [None; crate::capabilities::COUNT];
    let mut set = |msr: u32, value: u64| raw[(msr - 0x480) as usize] = Some(value);
    set(0x480, 1 << 55 | 0x1000 << 32 | 1);
    set(0x481, 0x7f << 32 | 0x16);
    set(0x482, 0xfff9_fffe << 32 | 0x0401_e172);
    set(0x483, 0x01ff_ffff << 32 | 0x0003_6dff);
    set(0x484, 0x0003_ffff << 32 | 0x11ff);
    // 4 CR3 targets, HLT, shutdown and wait-for-SIPI.
    set(0x485, 4 << 16 | 0x1c0);
    set(0x486, 0x8000_0021);
    set(0x487, 0xffff_ffff);
    set(0x488, 0x2000);
    set(0x489, 0x01ff_ffff);
    set(0x48a, 0x2e);
    set(0x48b, 0x0055_ffff << 32);
    set(0x48d, 0x7f << 32 | 0x16);
    set(0x48e, 0xfff9_fffe << 32 | 0x0400_6172);
    set(0x48f, 0x01ff_ffff << 32 | 0x0003_6dfb);
    set(0x490, 0x0003_ffff << 32 | 0x11fb);
    raw
}

fn segment(selector: u16, base: u64, limit: u32, access_rights: u32) -> Segment {
    Segment {
        selector,
        base,
        limit,
        access_rights,
    }
}

/// What rvmm writes for a 64-bit Linux kernel interrupted in an IPI (IF=0).
fn linux_vmcs() -> Vmcs {
    let cr4 = 0x0036_26f0;
    let unusable = |selector| Segment::unusable(selector);
    Vmcs {
        pin: 0x16,
        primary: 0x0400_6172 | 1 << 28 | 1 << 31,
        secondary: 1 << 3 | 1 << 12 | 1 << 20,
        exit: 0x0003_6dfb | 1 << 9 | 1 << 2,
        entry: 0x11fb | 1 << 9 | 1 << 2,
        vpid: 0,
        cr3_target_count: 0,
        io_bitmaps: [0; 2],
        msr_bitmap: 0x0300_0000,
        exit_msr_store: (0, 0),
        exit_msr_load: (0, 0),
        entry_msr_load: (0, 0),
        entry_interruption_info: 0,
        entry_error_code: 0,
        entry_instruction_length: 0,
        host: HostState {
            cr0: 0x8005_0033,
            cr3: 0x0200_0000,
            cr4,
            selectors: [0, 0x10, 0x18, 0, 0, 0, 0x40],
            fs_base: 0,
            gs_base: 0xffff_8880_7fc0_0000,
            tr_base: 0xffff_fe00_0000_3000,
            gdtr_base: 0xffff_fe00_0000_1000,
            idtr_base: 0xffff_fe00_0000_0000,
            sysenter_esp: 0xffff_fe00_0000_5000,
            sysenter_eip: 0xffff_ffff_8100_2000,
            rip: 0xffff_ffff_c000_1000,
        },
        guest: GuestState {
            cr0: 0x8005_0033,
            cr3: 0x0123_4000,
            cr4,
            dr7: 0x400,
            debugctl: 0,
            sysenter_esp: 0xffff_fe00_0000_5000,
            sysenter_eip: 0xffff_ffff_8100_2000,
            rip: 0xffff_ffff_8100_1234,
            rflags: 0x46,
            gdtr_base: 0xffff_fe00_0000_1000,
            gdtr_limit: 0x7f,
            idtr_base: 0xffff_fe00_0000_0000,
            idtr_limit: 0xfff,
            segments: [
                unusable(0),
                segment(0x10, 0, 0xffff_ffff, 0xa09b),
                segment(0x18, 0, 0xffff_ffff, 0xc093),
                unusable(0),
                Segment {
                    base: 0x7f12_3456_7000,
                    ..unusable(0)
                },
                Segment {
                    base: 0xffff_8880_7fc0_0000,
                    ..unusable(0)
                },
                unusable(0),
                segment(0x40, 0xffff_fe00_0000_3000, 0x4087, 0x8b),
            ],
            activity: 0,
            interruptibility: 0,
            pending_debug: 0,
            link_pointer: u64::MAX,
        },
    }
}

struct Case {
    vmcs: Vmcs,
    caps: [Option<u64>; crate::capabilities::COUNT],
    physical: u32,
    linear: u32,
    lam: bool,
    rtm: bool,
    sgx: bool,
    ia32e: bool,
}

impl Case {
    fn linux() -> Self {
        Case {
            vmcs: linux_vmcs(),
            caps: skylake_caps(),
            physical: 39,
            linear: 48,
            lam: false,
            rtm: false,
            sgx: false,
            ia32e: true,
        }
    }

    fn violations(&self) -> Vec<Violation> {
        let caps = Capabilities::from_raw(self.caps);
        let facts = CpuFacts {
            caps: &caps,
            physical_address_bits: self.physical,
            linear_address_bits: self.linear,
            lam: self.lam,
            rtm: self.rtm,
            sgx: self.sgx,
            ia32e_mode: self.ia32e,
        };
        let mut found = Vec::new();
        check(&self.vmcs, &facts, |v| found.push(v));
        found
    }

    fn segment(&mut self, i: usize) -> &mut Segment {
        &mut self.vmcs.guest.segments[i]
    }

    /// A 32-bit host on a CPU outside IA-32e mode, with a 32-bit guest.
    fn outside_ia32e(&mut self) {
        self.ia32e = false;
        self.vmcs.exit &= !(1 << 9);
        self.vmcs.entry &= !(1 << 9);
    }

    fn unrestricted_guest(&mut self) {
        self.vmcs.secondary |= 1 << 7 | 1 << 1;
    }

    fn inject(&mut self, info: u32) {
        self.vmcs.entry_interruption_info = 1 << 31 | info;
    }
}

const CS: usize = 1;
const SS: usize = 2;
const DS: usize = 3;
const FS: usize = 4;
const LDTR: usize = 6;
const TR: usize = 7;
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;
const UD: u32 = 3 << 8 | 6;
const EXTERNAL: u32 = 0x20;
const IF: u64 = 1 << 9;

type Edit = fn(&mut Case);

/// Each rule with a change that breaks it and one nearby that does not.
const CASES: &[(Rule, Edit, Edit)] = &[
    (
        c::PIN_BASED,
        |k| k.vmcs.pin |= 1 << 31,
        |k| k.vmcs.pin |= 1 << 3,
    ),
    (
        c::PRIMARY,
        |k| k.vmcs.primary &= !(1 << 1),
        |k| k.vmcs.primary |= 1 << 2,
    ),
    (
        c::SECONDARY,
        |k| k.vmcs.secondary |= 1 << 31,
        |k| {
            // Ignored without "activate secondary controls".
            k.vmcs.secondary |= 1 << 31;
            k.vmcs.primary &= !(1 << 31);
        },
    ),
    (
        c::CR3_TARGET_COUNT,
        |k| k.vmcs.cr3_target_count = 5,
        |k| k.vmcs.cr3_target_count = 4,
    ),
    (
        c::IO_BITMAPS,
        |k| {
            k.vmcs.primary |= 1 << 25;
            k.vmcs.io_bitmaps = [0x1000, 0x1001];
        },
        |k| {
            k.vmcs.primary |= 1 << 25;
            k.vmcs.io_bitmaps = [0x1000, 0x2000];
        },
    ),
    (
        c::MSR_BITMAP,
        |k| k.vmcs.msr_bitmap = 1 << 39,
        |k| k.vmcs.msr_bitmap = (1 << 39) - 0x1000,
    ),
    (
        c::MSR_BITMAP,
        |k| k.vmcs.msr_bitmap |= 0x800,
        |k| k.vmcs.primary &= !(1 << 28),
    ),
    (
        c::VIRTUAL_NMIS,
        |k| k.vmcs.pin |= 1 << 5,
        |k| k.vmcs.pin |= 1 << 5 | 1 << 3,
    ),
    (
        c::NMI_WINDOW,
        |k| k.vmcs.primary |= 1 << 22,
        |k| {
            k.vmcs.primary |= 1 << 22;
            k.vmcs.pin |= 1 << 5 | 1 << 3;
        },
    ),
    (
        c::APIC_VIRTUALIZATION,
        |k| k.vmcs.secondary |= 1 << 4,
        |k| {
            k.vmcs.secondary |= 1 << 4;
            k.vmcs.primary |= 1 << 21;
        },
    ),
    (
        c::VPID,
        |k| k.vmcs.secondary |= 1 << 5,
        |k| {
            k.vmcs.secondary |= 1 << 5;
            k.vmcs.vpid = 1;
        },
    ),
    (
        c::UNRESTRICTED_GUEST,
        |k| k.vmcs.secondary |= 1 << 7,
        Case::unrestricted_guest,
    ),
    (
        c::EXIT,
        |k| k.vmcs.exit |= 1 << 31,
        |k| k.vmcs.exit |= 1 << 24,
    ),
    (
        c::PREEMPTION_TIMER_SAVE,
        |k| k.vmcs.exit |= 1 << 22,
        |k| {
            k.vmcs.exit |= 1 << 22;
            k.vmcs.pin |= 1 << 6;
        },
    ),
    (
        c::EXIT_MSR_STORE,
        |k| k.vmcs.exit_msr_store = (1, 0x1008),
        |k| k.vmcs.exit_msr_store = (1, 0x1010),
    ),
    (
        c::EXIT_MSR_STORE,
        |k| k.vmcs.exit_msr_store = (2, (1 << 39) - 16),
        |k| k.vmcs.exit_msr_store = (1, (1 << 39) - 16),
    ),
    (
        c::EXIT_MSR_LOAD,
        |k| k.vmcs.exit_msr_load = (1, 1 << 39),
        |k| k.vmcs.exit_msr_load = (0, 1 << 39),
    ),
    (
        c::ENTRY,
        |k| k.vmcs.entry &= !1,
        |k| k.vmcs.entry |= 1 << 15,
    ),
    (c::ENTRY_TO_SMM, |k| k.vmcs.entry |= 1 << 10, |_| {}),
    (
        c::ENTRY_MSR_LOAD,
        |k| k.vmcs.entry_msr_load = (1, 0x1004),
        |k| k.vmcs.entry_msr_load = (1, 0x1000),
    ),
    (
        c::EVENT_RESERVED,
        |k| k.inject(UD | 1 << 12),
        |k| k.inject(UD),
    ),
    (
        c::EVENT_TYPE,
        |k| k.inject(1 << 8),
        |k| {
            k.inject(EXTERNAL);
            k.vmcs.guest.rflags |= IF;
        },
    ),
    (
        c::EVENT_VECTOR,
        |k| k.inject(3 << 8 | 32),
        |k| k.inject(3 << 8 | 31),
    ),
    (
        c::EVENT_VECTOR,
        |k| k.inject(2 << 8 | 3),
        |k| k.inject(2 << 8 | 2),
    ),
    (
        c::EVENT_ERROR_CODE,
        |k| k.inject(3 << 8 | 13),
        |k| k.inject(3 << 8 | 13 | 1 << 11),
    ),
    (
        c::EVENT_ERROR_CODE,
        |k| k.inject(UD | 1 << 11),
        |k| {
            // IA32_VMX_BASIC bit 56: any exception may carry an error code.
            k.inject(UD | 1 << 11);
            k.caps[0] = k.caps[0].map(|basic| basic | 1 << 56);
        },
    ),
    (
        c::EVENT_ERROR_CODE,
        |k| {
            // Even with bit 56, only a hardware exception may carry one.
            k.caps[0] = k.caps[0].map(|basic| basic | 1 << 56);
            k.vmcs.guest.rflags |= IF;
            k.inject(EXTERNAL | 1 << 11);
        },
        // #CP, a CET-era vector, without an error code on a CPU without bit 56.
        |k| k.inject(3 << 8 | 21),
    ),
    (
        c::EVENT_ERROR_CODE_BITS,
        |k| {
            k.inject(3 << 8 | 13 | 1 << 11);
            k.vmcs.entry_error_code = 0x1_0000;
        },
        |k| {
            k.inject(3 << 8 | 13 | 1 << 11);
            k.vmcs.entry_error_code = 0xffff;
        },
    ),
    (
        c::EVENT_INSTRUCTION_LENGTH,
        |k| k.inject(4 << 8 | 0x80),
        |k| {
            k.inject(4 << 8 | 0x80);
            k.vmcs.entry_instruction_length = 2;
        },
    ),
    (
        h::HOST_CR0_FIXED,
        |k| k.vmcs.host.cr0 &= !(1 << 5),
        |k| k.vmcs.host.cr0 |= 1 << 3,
    ),
    (
        h::HOST_CR4_FIXED,
        |k| k.vmcs.host.cr4 &= !0x2000,
        |k| k.vmcs.host.cr4 |= 1 << 16,
    ),
    (
        h::HOST_CET_WP,
        |k| {
            k.vmcs.host.cr4 |= 1 << 23;
            k.vmcs.host.cr0 &= !(1 << 16);
        },
        |k| k.vmcs.host.cr4 |= 1 << 23,
    ),
    (
        h::HOST_CR3,
        |k| k.vmcs.host.cr3 |= 1 << 39,
        |k| k.vmcs.host.cr3 = (1 << 39) - 0x1000,
    ),
    (
        h::HOST_SYSENTER,
        |k| k.vmcs.host.sysenter_eip = NON_CANONICAL,
        |k| k.vmcs.host.sysenter_eip = 0xffff_8000_0000_0000,
    ),
    (
        h::HOST_SELECTOR_RPL_TI,
        |k| k.vmcs.host.selectors[1] |= 3,
        |k| k.vmcs.host.selectors[3] = 0x18,
    ),
    (
        h::HOST_SELECTOR_RPL_TI,
        |k| k.vmcs.host.selectors[6] |= 4,
        |k| k.vmcs.host.selectors[6] = 0x48,
    ),
    (
        h::HOST_CS_NULL,
        |k| k.vmcs.host.selectors[1] = 0,
        |k| k.vmcs.host.selectors[1] = 8,
    ),
    (h::HOST_TR_NULL, |k| k.vmcs.host.selectors[6] = 0, |_| {}),
    (
        h::HOST_SS_NULL,
        |k| {
            k.outside_ia32e();
            k.vmcs.host.selectors[2] = 0;
        },
        // A 64-bit host may have a null SS.
        |k| k.vmcs.host.selectors[2] = 0,
    ),
    (
        h::HOST_BASES,
        |k| k.vmcs.host.fs_base = NON_CANONICAL,
        |k| k.vmcs.host.fs_base = 0x7fff_ffff_f000,
    ),
    (
        h::HOST_BASES,
        |k| k.vmcs.host.idtr_base = 0x0000_8000_0000_0000,
        |k| {
            // Canonical with 5-level paging.
            k.vmcs.host.idtr_base = 0x0000_8000_0000_0000;
            k.linear = 57;
        },
    ),
    (
        h::HOST_ADDRESS_SPACE_SIZE,
        |k| k.vmcs.exit &= !(1 << 9),
        |k| {
            k.outside_ia32e();
        },
    ),
    (
        h::HOST_OUTSIDE_IA32E,
        |k| k.ia32e = false,
        Case::outside_ia32e,
    ),
    (
        h::HOST_64_CR4_PAE,
        |k| k.vmcs.host.cr4 &= !(1 << 5),
        |k| k.vmcs.host.cr4 |= 1 << 5,
    ),
    (
        h::HOST_64_RIP,
        |k| k.vmcs.host.rip = NON_CANONICAL,
        |k| k.vmcs.host.rip = 0x7fff_ffff_ffff,
    ),
    (h::HOST_32_CR4_PCIDE, Case::outside_ia32e, |k| {
        k.outside_ia32e();
        k.vmcs.host.cr4 &= !(1 << 17);
    }),
    (
        h::HOST_32_RIP,
        |k| {
            k.outside_ia32e();
            k.vmcs.host.cr4 &= !(1 << 17);
        },
        |k| {
            k.outside_ia32e();
            k.vmcs.host.rip = 0xc000_1000;
        },
    ),
    (
        g::GUEST_CR0_FIXED,
        |k| k.vmcs.guest.cr0 &= !(1 << 5),
        |k| k.vmcs.guest.cr0 |= 1 << 3,
    ),
    (
        g::GUEST_CR0_FIXED,
        |k| k.vmcs.guest.cr0 &= !1,
        |k| {
            // An unrestricted guest may clear PE.
            k.unrestricted_guest();
            k.vmcs.guest.cr0 &= !(1 | 1 << 31);
        },
    ),
    (
        g::GUEST_CR0_PG_PE,
        |k| {
            k.unrestricted_guest();
            k.vmcs.guest.cr0 &= !1;
        },
        Case::unrestricted_guest,
    ),
    (
        g::GUEST_CR4_FIXED,
        |k| k.vmcs.guest.cr4 &= !0x2000,
        |k| k.vmcs.guest.cr4 |= 1 << 16,
    ),
    (
        g::GUEST_CR4_FIXED,
        |k| k.vmcs.guest.cr4 |= 1 << 30,
        |k| k.vmcs.guest.cr4 |= 1 << 24,
    ),
    (
        g::GUEST_CET_WP,
        |k| {
            k.vmcs.guest.cr4 |= 1 << 23;
            k.vmcs.guest.cr0 &= !(1 << 16);
        },
        |k| k.vmcs.guest.cr4 |= 1 << 23,
    ),
    (
        g::GUEST_IA32E_PAGING,
        |k| k.vmcs.guest.cr4 &= !(1 << 5),
        |_| {},
    ),
    (
        g::GUEST_PCIDE,
        |k| k.vmcs.entry &= !(1 << 9),
        |k| {
            k.vmcs.entry &= !(1 << 9);
            k.vmcs.guest.cr4 &= !(1 << 17);
        },
    ),
    (
        g::GUEST_CR3,
        |k| k.vmcs.guest.cr3 |= 1 << 62,
        |k| {
            // LAM_U57 in a user process's CR3.
            k.vmcs.guest.cr3 |= 1 << 62;
            k.lam = true;
        },
    ),
    (
        g::GUEST_CR3,
        |k| {
            k.vmcs.guest.cr3 |= 1 << 39;
            k.lam = true;
        },
        |k| k.vmcs.guest.cr3 = (1 << 39) - 0x1000,
    ),
    (
        g::GUEST_CR0_FIXED,
        |k| k.vmcs.guest.cr0 &= !(1 << 31),
        |k| {
            // CD and NW are not checked, whatever FIXED0 and FIXED1 say.
            k.caps[6] = Some(0x8000_0021 | 1 << 30);
            k.caps[7] = Some(0x9fff_ffff);
            k.vmcs.guest.cr0 |= 1 << 29;
        },
    ),
    (
        g::GUEST_DEBUGCTL,
        |k| k.vmcs.guest.debugctl = 1 << 32,
        |k| k.vmcs.guest.debugctl = 1 << 15 | 1 << 1 | 1,
    ),
    (
        g::GUEST_DR7,
        |k| k.vmcs.guest.dr7 |= 1 << 32,
        |k| {
            // Not loaded without "load debug controls".
            k.vmcs.guest.dr7 |= 1 << 32;
            k.vmcs.entry &= !(1 << 2);
        },
    ),
    (
        g::GUEST_SYSENTER,
        |k| k.vmcs.guest.sysenter_esp = NON_CANONICAL,
        |k| k.vmcs.guest.sysenter_esp = 0,
    ),
    (
        g::TR_TI,
        |k| k.segment(TR).selector |= 4,
        |k| k.segment(TR).selector = 0x48,
    ),
    (
        g::LDTR_TI,
        |k| *k.segment(LDTR) = segment(0x54, 0xffff_c900_0000_0000, 0xffff, 0x82),
        |k| *k.segment(LDTR) = segment(0x50, 0xffff_c900_0000_0000, 0xffff, 0x82),
    ),
    (
        g::SS_RPL,
        |k| k.segment(SS).selector = 0x1b,
        |k| {
            k.unrestricted_guest();
            k.segment(SS).selector = 0x1b;
        },
    ),
    (
        g::BASE_CANONICAL,
        |k| k.segment(TR).base = NON_CANONICAL,
        |k| k.segment(TR).base = 0xffff_8000_0000_0000,
    ),
    (
        g::BASE_CANONICAL,
        // Checked even though FS is unusable.
        |k| k.segment(FS).base = NON_CANONICAL,
        // An unusable LDTR's base is not checked.
        |k| k.segment(LDTR).base = NON_CANONICAL,
    ),
    (
        g::BASE_32,
        |k| k.segment(CS).base = 1 << 32,
        |k| k.segment(DS).base = 1 << 32,
    ),
    (
        g::CS_TYPE,
        |k| k.segment(CS).access_rights = 0xa093,
        |k| k.segment(CS).access_rights = 0xa09f,
    ),
    (
        g::SS_TYPE,
        |k| k.segment(SS).access_rights = 0xc09b,
        |k| k.segment(SS).access_rights = 0xc097,
    ),
    (
        g::DATA_ACCESSED,
        |k| *k.segment(DS) = segment(0x18, 0, 0xffff_ffff, 0xc092),
        |k| *k.segment(DS) = segment(0x18, 0, 0xffff_ffff, 0xc093),
    ),
    (
        g::CODE_READABLE,
        |k| *k.segment(DS) = segment(0x10, 0, 0xffff_ffff, 0xc099),
        |k| *k.segment(DS) = segment(0x10, 0, 0xffff_ffff, 0xc09b),
    ),
    (
        g::DESCRIPTOR_TYPE,
        |k| k.segment(CS).access_rights &= !(1 << 4),
        |k| k.segment(DS).access_rights = UNUSABLE,
    ),
    (
        g::DESCRIPTOR_TYPE,
        |k| k.segment(TR).access_rights |= 1 << 4,
        |_| {},
    ),
    (
        g::CS_DPL_NONCONFORMING,
        |k| k.segment(SS).access_rights = 0xc0f3,
        |_| {},
    ),
    (
        g::CS_DPL_CONFORMING,
        |k| k.segment(CS).access_rights = 0xa0ff,
        |k| k.segment(CS).access_rights = 0xa09f,
    ),
    (
        g::SS_DPL,
        |k| {
            k.segment(SS).selector = 0x1b;
            k.segment(CS).selector = 0x13;
        },
        |k| {
            k.unrestricted_guest();
            k.segment(SS).selector = 0x1b;
            k.segment(CS).selector = 0x13;
        },
    ),
    (
        g::DATA_DPL,
        |k| *k.segment(DS) = segment(0x2b, 0, 0xffff_ffff, 0xc093),
        |k| *k.segment(DS) = segment(0x2b, 0, 0xffff_ffff, 0xc0f3),
    ),
    (
        g::PRESENT,
        |k| k.segment(SS).access_rights &= !0x80,
        |k| k.segment(DS).access_rights = UNUSABLE | 0x13,
    ),
    (
        g::ACCESS_RIGHTS_RESERVED,
        |k| k.segment(CS).access_rights |= 0x100,
        |k| k.segment(CS).access_rights |= 0x1000,
    ),
    (
        g::ACCESS_RIGHTS_RESERVED,
        |k| k.segment(TR).access_rights |= 1 << 20,
        |_| {},
    ),
    (
        g::CS_D_L,
        |k| k.segment(CS).access_rights = 0xe09b,
        |k| k.segment(CS).access_rights = 0xc09b,
    ),
    (
        g::LIMIT_GRANULARITY,
        |k| k.segment(CS).limit = 0xffff_f000,
        |k| {
            k.segment(CS).limit = 0xf_ffff;
            k.segment(CS).access_rights = 0x209b;
        },
    ),
    (
        g::LIMIT_GRANULARITY,
        |k| k.segment(TR).limit = 0x10_0000,
        |k| k.segment(TR).limit = 0xf_ffff,
    ),
    (g::TR_TYPE, |k| k.segment(TR).access_rights = 0x89, |_| {}),
    (
        g::TR_TYPE,
        |k| k.segment(TR).access_rights = 0x83,
        |k| {
            // A 16-bit busy TSS outside IA-32e mode.
            k.vmcs.entry &= !(1 << 9);
            k.segment(TR).access_rights = 0x83;
        },
    ),
    (
        g::TR_USABLE,
        |k| k.segment(TR).access_rights |= UNUSABLE,
        |_| {},
    ),
    (
        g::LDTR_TYPE,
        |k| *k.segment(LDTR) = segment(0x50, 0xffff_c900_0000_0000, 0xffff, 0x83),
        |k| *k.segment(LDTR) = segment(0x50, 0xffff_c900_0000_0000, 0xffff, 0x82),
    ),
    (
        g::TABLE_BASES,
        |k| k.vmcs.guest.gdtr_base = NON_CANONICAL,
        |k| k.vmcs.guest.gdtr_base = 0x7fff_ffff_f000,
    ),
    (
        g::TABLE_LIMITS,
        |k| k.vmcs.guest.idtr_limit = 0x1_0000,
        |k| k.vmcs.guest.idtr_limit = 0xffff,
    ),
    (
        g::RIP_32,
        |k| k.segment(CS).access_rights = 0xc09b,
        |k| {
            k.segment(CS).access_rights = 0xc09b;
            k.vmcs.guest.rip = 0xffff_fffe;
        },
    ),
    (
        g::RIP_CANONICAL,
        |k| k.vmcs.guest.rip = 0x0000_8000_0000_0000,
        |k| {
            k.vmcs.guest.rip = 0x0000_8000_0000_0000;
            k.linear = 57;
        },
    ),
    (
        g::RFLAGS_RESERVED,
        |k| k.vmcs.guest.rflags |= 1 << 15,
        |k| k.vmcs.guest.rflags |= 1 << 21,
    ),
    (g::RFLAGS_RESERVED, |k| k.vmcs.guest.rflags &= !2, |_| {}),
    (g::RFLAGS_VM, |k| k.vmcs.guest.rflags |= 1 << 17, |_| {}),
    (
        g::RFLAGS_IF,
        |k| k.inject(EXTERNAL),
        |k| {
            k.inject(EXTERNAL);
            k.vmcs.guest.rflags |= IF;
        },
    ),
    (
        g::ACTIVITY_STATE,
        |k| k.vmcs.guest.activity = 4,
        |k| k.vmcs.guest.activity = 1,
    ),
    (
        g::ACTIVITY_STATE,
        |k| {
            // Wait-for-SIPI not supported.
            k.caps[5] = Some(4 << 16 | 0xc0);
            k.vmcs.guest.activity = 3;
        },
        |k| k.vmcs.guest.activity = 3,
    ),
    (
        g::ACTIVITY_HLT_DPL,
        |k| {
            // CPL 3 with a conforming CS.
            k.segment(CS).access_rights = 0xa09f;
            k.segment(CS).selector = 0x13;
            k.segment(SS).access_rights = 0xc0f3;
            k.segment(SS).selector = 0x1b;
            k.vmcs.guest.activity = 1;
        },
        |k| k.vmcs.guest.activity = 1,
    ),
    (
        g::ACTIVITY_EVENT,
        |k| {
            k.vmcs.guest.activity = 3;
            k.inject(UD);
        },
        |k| {
            k.vmcs.guest.activity = 1;
            k.inject(3 << 8 | 1);
        },
    ),
    (
        g::ACTIVITY_EVENT,
        |k| {
            k.vmcs.guest.activity = 2;
            k.inject(UD);
        },
        |k| {
            k.vmcs.guest.activity = 2;
            k.inject(3 << 8 | 18);
        },
    ),
    (
        g::INTERRUPTIBILITY_RESERVED,
        |k| k.vmcs.guest.interruptibility = 1 << 5,
        |k| k.vmcs.guest.interruptibility = 1 << 3,
    ),
    (
        g::STI_AND_MOV_SS,
        |k| {
            k.vmcs.guest.rflags |= IF;
            k.vmcs.guest.interruptibility = 3;
        },
        |k| k.vmcs.guest.interruptibility = 2,
    ),
    (
        g::STI_IF,
        |k| k.vmcs.guest.interruptibility = 1,
        |k| {
            k.vmcs.guest.interruptibility = 1;
            k.vmcs.guest.rflags |= IF;
        },
    ),
    (
        g::BLOCKING_INACTIVE,
        |k| {
            k.vmcs.guest.interruptibility = 2;
            k.vmcs.guest.activity = 1;
        },
        |k| k.vmcs.guest.interruptibility = 2,
    ),
    (
        g::BLOCKING_EXTERNAL,
        |k| {
            k.vmcs.guest.rflags |= IF;
            k.inject(EXTERNAL);
            k.vmcs.guest.interruptibility = 2;
        },
        |k| {
            k.vmcs.guest.rflags |= IF;
            k.inject(EXTERNAL);
            k.vmcs.guest.interruptibility = 8;
        },
    ),
    (
        g::BLOCKING_NMI,
        |k| {
            k.inject(2 << 8 | 2);
            k.vmcs.guest.interruptibility = 2;
        },
        |k| {
            k.inject(2 << 8 | 2);
            k.vmcs.guest.rflags |= IF;
            k.vmcs.guest.interruptibility = 1;
        },
    ),
    (
        g::BLOCKING_SMI,
        |k| k.vmcs.guest.interruptibility = 4,
        |_| {},
    ),
    (
        g::VIRTUAL_NMI_BLOCKING,
        |k| {
            k.vmcs.pin |= 1 << 3 | 1 << 5;
            k.inject(2 << 8 | 2);
            k.vmcs.guest.interruptibility = 8;
        },
        |k| {
            k.inject(2 << 8 | 2);
            k.vmcs.guest.interruptibility = 8;
        },
    ),
    (
        g::PENDING_DEBUG_RESERVED,
        |k| k.vmcs.guest.pending_debug = 1 << 4,
        |k| k.vmcs.guest.pending_debug = 1 << 14 | 0xf,
    ),
    (
        g::PENDING_DEBUG_RESERVED,
        |k| k.vmcs.guest.pending_debug = 1 << 16,
        |k| {
            k.vmcs.guest.pending_debug = 1 << 16;
            k.rtm = true;
        },
    ),
    (
        g::ENCLAVE_INTERRUPTION,
        |k| k.vmcs.guest.interruptibility = 1 << 4,
        |k| {
            k.vmcs.guest.interruptibility = 1 << 4;
            k.sgx = true;
        },
    ),
    (
        g::ENCLAVE_INTERRUPTION,
        |k| {
            k.vmcs.guest.interruptibility = 1 << 4 | 2;
            k.sgx = true;
        },
        |_| {},
    ),
    (
        g::PENDING_DEBUG_RTM,
        |k| {
            k.rtm = true;
            k.vmcs.guest.pending_debug = 1 << 16;
        },
        |k| {
            k.rtm = true;
            k.vmcs.guest.pending_debug = 1 << 16 | 1 << 12;
        },
    ),
    (
        g::PENDING_DEBUG_RTM,
        |k| {
            k.rtm = true;
            k.vmcs.guest.pending_debug = 1 << 16 | 1 << 12 | 1;
        },
        |_| {},
    ),
    (
        g::PENDING_DEBUG_BS,
        |k| {
            k.vmcs.guest.interruptibility = 2;
            k.vmcs.guest.rflags |= 1 << 8;
        },
        |k| {
            k.vmcs.guest.interruptibility = 2;
            k.vmcs.guest.rflags |= 1 << 8;
            k.vmcs.guest.pending_debug = 1 << 14;
        },
    ),
    (
        g::PENDING_DEBUG_BS,
        |k| {
            // BTF set: no single-step trap is owed after MOV SS.
            k.vmcs.guest.interruptibility = 2;
            k.vmcs.guest.rflags |= 1 << 8;
            k.vmcs.guest.debugctl = 2;
            k.vmcs.guest.pending_debug = 1 << 14;
        },
        |k| {
            // Outside an interrupt shadow or HLT the bit is not checked.
            k.vmcs.guest.rflags |= 1 << 8;
        },
    ),
    (
        g::LINK_POINTER,
        |k| k.vmcs.guest.link_pointer = 0x1000_0001,
        |k| k.vmcs.guest.link_pointer = 0x1000_0000,
    ),
    (
        g::LINK_POINTER,
        |k| k.vmcs.guest.link_pointer = 1 << 39,
        |_| {},
    ),
];

#[test]
fn a_linux_kernel_vmcs_passes_every_rule() {
    assert_eq!(Case::linux().violations(), []);
}

#[test]
fn each_rule_is_reported_first_when_broken() {
    for (i, (rule, breaks, _)) in CASES.iter().enumerate() {
        let mut case = Case::linux();
        breaks(&mut case);
        let found = case.violations();
        assert_eq!(
            found.first().map(|v| v.rule),
            Some(*rule),
            "case {i}: {rule:?}: {found:?}"
        );
    }
}

#[test]
fn each_rule_holds_for_a_nearby_legal_value() {
    for (i, (rule, _, satisfies)) in CASES.iter().enumerate() {
        let mut case = Case::linux();
        satisfies(&mut case);
        let found = case.violations();
        assert!(
            found.iter().all(|v| v.rule != *rule),
            "case {i}: {rule:?}: {found:?}"
        );
    }
}

#[test]
fn every_rule_has_a_case_and_a_unique_name() {
    let all: Vec<Rule> = RULES.iter().flat_map(|r| r.iter().copied()).collect();
    for rule in &all {
        assert!(
            CASES.iter().any(|(r, _, _)| r == rule),
            "no case for {rule:?}"
        );
        assert_eq!(all.iter().filter(|r| r.name == rule.name).count(), 1);
        assert!(rule.section.starts_with("27."));
    }
}

#[test]
fn a_violation_names_the_rule_and_the_values() {
    let mut case = Case::linux();
    case.vmcs.guest.cr0 &= !(1 << 5);
    let v = case.violations()[0];
    assert_eq!(
        v.to_string(),
        "SDM 27.3.1.1 guest CR0 fixed bits: GUEST_CR0=0x80050013 \
         IA32_VMX_CR0_FIXED0=0x80000021 IA32_VMX_CR0_FIXED1=0xffffffff"
    );
    let (count, first) = first_violation(&case.vmcs, &{
        let caps = Capabilities::from_raw(case.caps);
        // Leaked so the facts can borrow it for the call.
        let caps: &'static Capabilities = Box::leak(Box::new(caps));
        CpuFacts {
            caps,
            physical_address_bits: 39,
            linear_address_bits: 48,
            lam: false,
            rtm: false,
            sgx: false,
            ia32e_mode: true,
        }
    });
    assert_eq!((count, first), (1, Some(v)));
}

#[test]
fn reading_maps_each_field_to_its_encoding() {
    use crate::fields::*;
    let vmcs = Vmcs::read(|field| match field {
        GUEST_CR0 => Some(0x8005_0033),
        HOST_TR_SELECTOR => Some(0x40),
        VPID => None,
        f if f == Seg::Tr.guest_access_rights() => Some(0x8b),
        f if f == Seg::Cs.guest_base() => Some(0x1234),
        _ => Some(0),
    });
    assert_eq!(vmcs.guest.cr0, 0x8005_0033);
    assert_eq!(vmcs.host.selectors[6], 0x40);
    assert_eq!(vmcs.vpid, 0);
    assert_eq!(vmcs.guest.segments[TR].access_rights, 0x8b);
    assert_eq!(vmcs.guest.segments[CS].base, 0x1234);
}

#[test]
fn canonical_addresses() {
    assert!(is_canonical(0xffff_8000_0000_0000, 48));
    assert!(is_canonical(0x7fff_ffff_ffff, 48));
    assert!(!is_canonical(0x8000_0000_0000, 48));
    assert!(is_canonical(0x8000_0000_0000, 57));
    assert!(!is_canonical(NON_CANONICAL, 57));
}

#[test]
fn the_rule_count_is_the_number_of_rules_with_cases() {
    let mut with_cases: Vec<&str> = CASES.iter().map(|(r, _, _)| r.name).collect();
    with_cases.sort();
    with_cases.dedup();
    assert_eq!(rule_count(), with_cases.len());
}

#[test]
fn the_documentation_lists_every_rule_with_its_section() {
    let doc = include_str!("../../../Documentation/rvmm.rst");
    for rule in RULES.iter().flat_map(|r| r.iter()) {
        assert!(
            doc.lines()
                .any(|l| l.starts_with(rule.section) && l.ends_with(rule.name)),
            "Documentation/rvmm.rst lacks {rule:?}"
        );
    }
}

/// The value of VMCS field `field` in `v`: the inverse of [`Vmcs::read`], for the round trip below.
fn field_of(v: &Vmcs, field: u32) -> u64 {
    use crate::fields::*;
    let g = &v.guest;
    let h = &v.host;
    if let Some((i, seg)) = Seg::ALL.iter().enumerate().find(|(_, s)| {
        [
            s.guest_selector(),
            s.guest_base(),
            s.guest_limit(),
            s.guest_access_rights(),
        ]
        .contains(&field)
    }) {
        let s = g.segments[i];
        return match field {
            f if f == seg.guest_selector() => s.selector.into(),
            f if f == seg.guest_base() => s.base,
            f if f == seg.guest_limit() => s.limit.into(),
            _ => s.access_rights.into(),
        };
    }
    if let Some(i) = HOST_SELECTORS.iter().position(|&f| f == field) {
        return h.selectors[i].into();
    }
    match field {
        PIN_BASED_CONTROLS => v.pin.into(),
        PRIMARY_PROC_CONTROLS => v.primary.into(),
        SECONDARY_PROC_CONTROLS => v.secondary.into(),
        EXIT_CONTROLS => v.exit.into(),
        ENTRY_CONTROLS => v.entry.into(),
        VPID => v.vpid.into(),
        CR3_TARGET_COUNT => v.cr3_target_count.into(),
        IO_BITMAP_A => v.io_bitmaps[0],
        IO_BITMAP_B => v.io_bitmaps[1],
        MSR_BITMAP => v.msr_bitmap,
        EXIT_MSR_STORE_COUNT => v.exit_msr_store.0.into(),
        EXIT_MSR_STORE_ADDR => v.exit_msr_store.1,
        EXIT_MSR_LOAD_COUNT => v.exit_msr_load.0.into(),
        EXIT_MSR_LOAD_ADDR => v.exit_msr_load.1,
        ENTRY_MSR_LOAD_COUNT => v.entry_msr_load.0.into(),
        ENTRY_MSR_LOAD_ADDR => v.entry_msr_load.1,
        ENTRY_INTERRUPTION_INFO => v.entry_interruption_info.into(),
        ENTRY_EXCEPTION_ERROR_CODE => v.entry_error_code.into(),
        ENTRY_INSTRUCTION_LEN => v.entry_instruction_length.into(),
        HOST_CR0 => h.cr0,
        HOST_CR3 => h.cr3,
        HOST_CR4 => h.cr4,
        HOST_FS_BASE => h.fs_base,
        HOST_GS_BASE => h.gs_base,
        HOST_TR_BASE => h.tr_base,
        HOST_GDTR_BASE => h.gdtr_base,
        HOST_IDTR_BASE => h.idtr_base,
        HOST_SYSENTER_ESP => h.sysenter_esp,
        HOST_SYSENTER_EIP => h.sysenter_eip,
        HOST_RIP => h.rip,
        GUEST_CR0 => g.cr0,
        GUEST_CR3 => g.cr3,
        GUEST_CR4 => g.cr4,
        GUEST_DR7 => g.dr7,
        GUEST_IA32_DEBUGCTL => g.debugctl,
        GUEST_SYSENTER_ESP => g.sysenter_esp,
        GUEST_SYSENTER_EIP => g.sysenter_eip,
        GUEST_RIP => g.rip,
        GUEST_RFLAGS => g.rflags,
        GUEST_GDTR_BASE => g.gdtr_base,
        GUEST_GDTR_LIMIT => g.gdtr_limit.into(),
        GUEST_IDTR_BASE => g.idtr_base,
        GUEST_IDTR_LIMIT => g.idtr_limit.into(),
        GUEST_ACTIVITY_STATE => g.activity.into(),
        GUEST_INTERRUPTIBILITY => g.interruptibility.into(),
        GUEST_PENDING_DEBUG_EXCEPTIONS => g.pending_debug,
        VMCS_LINK_POINTER => g.link_pointer,
        _ => panic!("field {field:#x} is not read"),
    }
}

#[test]
fn reading_the_fields_of_a_vmcs_gives_it_back() {
    let v = linux_vmcs();
    assert_eq!(Vmcs::read(|f| Some(field_of(&v, f))), v);
}

#[test]
fn each_test_corruption_breaks_a_rule() {
    use crate::vmcs_corruption::CORRUPTIONS;
    let v = linux_vmcs();
    for (i, c) in CORRUPTIONS.iter().enumerate() {
        let mut case = Case::linux();
        case.vmcs = Vmcs::read(|f| {
            let value = field_of(&v, f);
            Some(if f == c.field {
                c.edit.apply(value)
            } else {
                value
            })
        });
        assert_ne!(case.violations(), [], "corruption {}: {c:?}", i + 1);
    }
}
