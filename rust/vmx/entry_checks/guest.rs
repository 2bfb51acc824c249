// SPDX-License-Identifier: GPL-2.0

//! Checks on the guest-state area (SDM Vol. 3C, 27.3.1), for a guest that is neither in
//! virtual-8086 mode nor an unrestricted guest (RFLAGS.VM=1 in IA-32e mode is itself a violation).

use super::super::segment::{Segment, UNUSABLE};
use super::{
    bit,
    controls::{
        injected_event, EXTERNAL_INTERRUPT, NMI, PIN_VIRTUAL_NMIS, PROC2_UNRESTRICTED_GUEST,
    },
    host::{cr3_ok, CR0_WP, CR4_CET},
    Checker, Cr, Violation,
};

rules! {
    GUEST_CR0_FIXED "27.3.1.1" "guest CR0 fixed bits";
    GUEST_CR0_PG_PE "27.3.1.1" "guest CR0.PG requires CR0.PE";
    GUEST_CR4_FIXED "27.3.1.1" "guest CR4 fixed bits";
    GUEST_CET_WP "27.3.1.1" "guest CR4.CET requires CR0.WP";
    GUEST_IA32E_PAGING "27.3.1.1" "IA-32e mode guest CR0.PG and CR4.PAE";
    GUEST_PCIDE "27.3.1.1" "guest CR4.PCIDE outside IA-32e mode";
    GUEST_CR3 "27.3.1.1" "guest CR3 reserved bits";
    GUEST_DEBUGCTL "27.3.1.1" "guest IA32_DEBUGCTL bits 63:32";
    GUEST_DR7 "27.3.1.1" "guest DR7 bits 63:32";
    GUEST_SYSENTER "27.3.1.1" "guest SYSENTER_ESP and SYSENTER_EIP canonical";
    TR_TI "27.3.1.2" "guest TR selector TI";
    LDTR_TI "27.3.1.2" "guest LDTR selector TI";
    SS_RPL "27.3.1.2" "guest SS.RPL equals CS.RPL";
    BASE_CANONICAL "27.3.1.2" "guest TR, FS, GS and LDTR bases canonical";
    BASE_32 "27.3.1.2" "guest CS, SS, DS and ES bases bits 63:32";
    CS_TYPE "27.3.1.2" "guest CS type";
    SS_TYPE "27.3.1.2" "guest SS type";
    DATA_ACCESSED "27.3.1.2" "guest DS, ES, FS and GS accessed";
    CODE_READABLE "27.3.1.2" "guest code segment in DS, ES, FS or GS readable";
    DESCRIPTOR_TYPE "27.3.1.2" "guest segment descriptor type (S)";
    CS_DPL_NONCONFORMING "27.3.1.2" "guest non-conforming CS.DPL equals SS.DPL";
    CS_DPL_CONFORMING "27.3.1.2" "guest conforming CS.DPL at most SS.DPL";
    SS_DPL "27.3.1.2" "guest SS.DPL equals SS.RPL";
    DATA_DPL "27.3.1.2" "guest DS, ES, FS and GS DPL at least RPL";
    PRESENT "27.3.1.2" "guest segment present";
    ACCESS_RIGHTS_RESERVED "27.3.1.2" "guest access rights reserved bits";
    CS_D_L "27.3.1.2" "guest CS.D with CS.L in IA-32e mode";
    LIMIT_GRANULARITY "27.3.1.2" "guest segment limit and granularity";
    TR_TYPE "27.3.1.2" "guest TR type";
    TR_USABLE "27.3.1.2" "guest TR usable";
    LDTR_TYPE "27.3.1.2" "guest LDTR type";
    TABLE_BASES "27.3.1.3" "guest GDTR and IDTR bases canonical";
    TABLE_LIMITS "27.3.1.3" "guest GDTR and IDTR limits bits 31:16";
    RIP_32 "27.3.1.4" "guest RIP bits 63:32 outside 64-bit mode";
    RIP_CANONICAL "27.3.1.4" "guest RIP canonical in 64-bit mode";
    RFLAGS_RESERVED "27.3.1.4" "guest RFLAGS reserved bits";
    RFLAGS_VM "27.3.1.4" "guest RFLAGS.VM in IA-32e mode";
    RFLAGS_IF "27.3.1.4" "guest RFLAGS.IF for an injected external interrupt";
    ACTIVITY_STATE "27.3.1.5" "guest activity state supported";
    ACTIVITY_HLT_DPL "27.3.1.5" "guest HLT state requires SS.DPL 0";
    BLOCKING_INACTIVE "27.3.1.5" "guest STI or MOV SS blocking outside the active state";
    ACTIVITY_EVENT "27.3.1.5" "guest activity state allows the injected event";
    INTERRUPTIBILITY_RESERVED "27.3.1.5" "guest interruptibility reserved bits";
    STI_AND_MOV_SS "27.3.1.5" "guest blocking by STI and by MOV SS together";
    STI_IF "27.3.1.5" "guest blocking by STI requires RFLAGS.IF";
    BLOCKING_EXTERNAL "27.3.1.5" "guest STI or MOV SS blocking with an injected external interrupt";
    BLOCKING_NMI "27.3.1.5" "guest MOV SS blocking with an injected NMI";
    BLOCKING_SMI "27.3.1.5" "guest blocking by SMI outside SMM";
    VIRTUAL_NMI_BLOCKING "27.3.1.5" "guest NMI blocking with an injected virtual NMI";
    ENCLAVE_INTERRUPTION "27.3.1.5" "guest enclave interruption requires SGX and no MOV SS blocking";
    PENDING_DEBUG_RESERVED "27.3.1.5" "guest pending debug exceptions reserved bits";
    PENDING_DEBUG_BS "27.3.1.5" "guest pending single-step (BS) matches RFLAGS.TF and DEBUGCTL.BTF";
    PENDING_DEBUG_RTM "27.3.1.5" "guest pending RTM debug exception alone, with no MOV SS blocking";
    LINK_POINTER "27.3.1.5" "VMCS link pointer";
}

const ENTRY_IA32E_MODE_GUEST: u32 = 1 << 9;
const ENTRY_LOAD_DEBUG_CONTROLS: u32 = 1 << 2;
const CR0_PE: u32 = 0;
const CR0_CD_NW: u64 = 3 << 29;

const CR0_PG: u32 = 31;
const CR4_PAE: u32 = 5;
const CR4_PCIDE: u32 = 17;

const RFLAGS_TF: u32 = 8;
const RFLAGS_IF_BIT: u32 = 9;
const RFLAGS_VM_BIT: u32 = 17;
/// RFLAGS bits 63:22, 15, 5 and 3 must be 0; bit 1 must be 1.
const RFLAGS_MUST_BE_ZERO: u64 = !0 << 22 | 1 << 15 | 1 << 5 | 1 << 3;
const ACTIVE: u32 = 0;
const HLT: u32 = 1;
const SHUTDOWN: u32 = 2;
const WAIT_FOR_SIPI: u32 = 3;
const BLOCKING_BY_STI: u32 = 1 << 0;
const BLOCKING_BY_MOV_SS: u32 = 1 << 1;
const BLOCKING_BY_SMI: u32 = 1 << 2;
const BLOCKING_BY_NMI: u32 = 1 << 3;
const ENCLAVE_INTERRUPTION_BIT: u32 = 1 << 4;
/// Pending debug exceptions: B3-B0, enabled breakpoint (12), BS (14) and, with RTM, bit 16.
const PENDING_DEBUG_DEFINED: u64 = 0xf | 1 << 12 | 1 << 14;
const PENDING_BS: u64 = 1 << 14;
const PENDING_RTM: u64 = 1 << 16;
const DEBUGCTL_BTF: u32 = 1;

// Segment access rights (SDM 25.4.1).
const AR_S: u32 = 1 << 4;
const AR_P: u32 = 1 << 7;
const AR_L: u32 = 1 << 13;
const AR_D: u32 = 1 << 14;
const AR_G: u32 = 1 << 15;
/// Bits 11:8 and 31:17.
const AR_RESERVED: u32 = 0xf00 | !0 << 17;

// Indexes into `GuestState::segments` (SDM B.1.2 order).
const ES: usize = 0;
const CS: usize = 1;
const SS: usize = 2;
const DS: usize = 3;
const FS: usize = 4;
const GS: usize = 5;
const LDTR: usize = 6;
const TR: usize = 7;

fn usable(s: &Segment) -> bool {
    s.access_rights & UNUSABLE == 0
}

fn seg_type(s: &Segment) -> u32 {
    s.access_rights & 0xf
}

fn dpl(s: &Segment) -> u32 {
    s.access_rights >> 5 & 3
}

fn rpl(s: &Segment) -> u32 {
    u32::from(s.selector) & 3
}

/// A limit and G agree: with G=1 the limit's bits 11:0 are all 1 (it counts 4-KiB pages); with
/// G=0 its bits 31:20 are 0 (no more than 1 MiB).
fn limit_matches_granularity(s: &Segment) -> bool {
    if s.access_rights & AR_G != 0 {
        s.limit & 0xfff == 0xfff
    } else {
        s.limit >> 20 == 0
    }
}

/// The VMCS field names of segment register `i`, for the log.
fn names(i: usize) -> (&'static str, &'static str, &'static str, &'static str) {
    const SELECTOR: [&str; 8] = [
        "GUEST_ES_SELECTOR",
        "GUEST_CS_SELECTOR",
        "GUEST_SS_SELECTOR",
        "GUEST_DS_SELECTOR",
        "GUEST_FS_SELECTOR",
        "GUEST_GS_SELECTOR",
        "GUEST_LDTR_SELECTOR",
        "GUEST_TR_SELECTOR",
    ];
    const BASE: [&str; 8] = [
        "GUEST_ES_BASE",
        "GUEST_CS_BASE",
        "GUEST_SS_BASE",
        "GUEST_DS_BASE",
        "GUEST_FS_BASE",
        "GUEST_GS_BASE",
        "GUEST_LDTR_BASE",
        "GUEST_TR_BASE",
    ];
    const LIMIT: [&str; 8] = [
        "GUEST_ES_LIMIT",
        "GUEST_CS_LIMIT",
        "GUEST_SS_LIMIT",
        "GUEST_DS_LIMIT",
        "GUEST_FS_LIMIT",
        "GUEST_GS_LIMIT",
        "GUEST_LDTR_LIMIT",
        "GUEST_TR_LIMIT",
    ];
    const AR: [&str; 8] = [
        "GUEST_ES_AR",
        "GUEST_CS_AR",
        "GUEST_SS_AR",
        "GUEST_DS_AR",
        "GUEST_FS_AR",
        "GUEST_GS_AR",
        "GUEST_LDTR_AR",
        "GUEST_TR_AR",
    ];
    (SELECTOR[i], BASE[i], LIMIT[i], AR[i])
}

pub(super) fn check<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    control_registers(c);
    segments(c);
    descriptor_tables(c);
    rip_and_rflags(c);
    non_register_state(c);
}

fn ia32e_guest<F>(c: &Checker<'_, F>) -> bool {
    c.vmcs.entry & ENTRY_IA32E_MODE_GUEST != 0
}

fn unrestricted<F>(c: &Checker<'_, F>) -> bool {
    let v = c.vmcs;
    v.primary & 1 << 31 != 0 && v.secondary & PROC2_UNRESTRICTED_GUEST != 0
}

fn control_registers<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let g = c.vmcs.guest;
    // CD and NW are never checked (VM entry does not change them); an unrestricted guest may also run
    // with paging or protection off.
    let mut cr0_fixed = c.fixed(Cr::Cr0);
    cr0_fixed = (cr0_fixed.0 & !CR0_CD_NW, cr0_fixed.1 | CR0_CD_NW);
    if unrestricted(c) {
        cr0_fixed.0 &= !(1 << CR0_PE | 1 << CR0_PG);
    }
    c.require_fixed(GUEST_CR0_FIXED, ("GUEST_CR0", g.cr0), Cr::Cr0, cr0_fixed);
    c.require(
        !bit(g.cr0, CR0_PG) || bit(g.cr0, CR0_PE),
        GUEST_CR0_PG_PE,
        &[("GUEST_CR0", g.cr0)],
    );
    let cr4_fixed = c.fixed(Cr::Cr4);
    c.require_fixed(GUEST_CR4_FIXED, ("GUEST_CR4", g.cr4), Cr::Cr4, cr4_fixed);
    c.require(
        !bit(g.cr4, CR4_CET) || bit(g.cr0, CR0_WP),
        GUEST_CET_WP,
        &[("GUEST_CR0", g.cr0), ("GUEST_CR4", g.cr4)],
    );
    if ia32e_guest(c) {
        c.require(
            bit(g.cr0, CR0_PG) && bit(g.cr4, CR4_PAE),
            GUEST_IA32E_PAGING,
            &[("GUEST_CR0", g.cr0), ("GUEST_CR4", g.cr4)],
        );
    } else {
        c.require(!bit(g.cr4, CR4_PCIDE), GUEST_PCIDE, &[("GUEST_CR4", g.cr4)]);
    }
    let cr3 = cr3_ok(c, g.cr3);
    c.require(cr3, GUEST_CR3, &[("GUEST_CR3", g.cr3)]);
    if c.vmcs.entry & ENTRY_LOAD_DEBUG_CONTROLS != 0 {
        // Which of bits 31:0 are reserved differs between models; 63:32 are on every one.
        c.require(
            g.debugctl >> 32 == 0,
            GUEST_DEBUGCTL,
            &[("GUEST_IA32_DEBUGCTL", g.debugctl)],
        );
        c.require(g.dr7 >> 32 == 0, GUEST_DR7, &[("GUEST_DR7", g.dr7)]);
    }
    let sysenter = c.canonical(g.sysenter_esp) && c.canonical(g.sysenter_eip);
    c.require(
        sysenter,
        GUEST_SYSENTER,
        &[
            ("GUEST_SYSENTER_ESP", g.sysenter_esp),
            ("GUEST_SYSENTER_EIP", g.sysenter_eip),
        ],
    );
}

fn segments<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let s = c.vmcs.guest.segments;
    let (cs, ss, tr, ldtr) = (s[CS], s[SS], s[TR], s[LDTR]);
    let unrestricted = unrestricted(c);
    let ia32e = ia32e_guest(c);

    // Selectors.
    c.require(
        tr.selector & 4 == 0,
        TR_TI,
        &[("GUEST_TR_SELECTOR", tr.selector.into())],
    );
    c.require(
        !usable(&ldtr) || ldtr.selector & 4 == 0,
        LDTR_TI,
        &[("GUEST_LDTR_SELECTOR", ldtr.selector.into())],
    );
    if !unrestricted {
        c.require(
            rpl(&ss) == rpl(&cs),
            SS_RPL,
            &[
                ("GUEST_SS_SELECTOR", ss.selector.into()),
                ("GUEST_CS_SELECTOR", cs.selector.into()),
            ],
        );
    }

    // Bases.
    for i in [TR, FS, GS, LDTR] {
        // TR, FS and GS bases are checked even where unusable, LDTR's only where usable.
        let ok = i == LDTR && !usable(&s[i]) || c.canonical(s[i].base);
        c.require(ok, BASE_CANONICAL, &[(names(i).1, s[i].base)]);
    }
    for i in [CS, SS, DS, ES] {
        let ok = i != CS && !usable(&s[i]) || s[i].base >> 32 == 0;
        c.require(ok, BASE_32, &[(names(i).1, s[i].base)]);
    }

    // Access rights of CS, SS, DS, ES, FS and GS.
    let cs_type_ok =
        matches!(seg_type(&cs), 9 | 11 | 13 | 15) || unrestricted && seg_type(&cs) == 3;
    c.require(
        cs_type_ok,
        CS_TYPE,
        &[("GUEST_CS_AR", cs.access_rights.into())],
    );
    c.require(
        !usable(&ss) || matches!(seg_type(&ss), 3 | 7),
        SS_TYPE,
        &[("GUEST_SS_AR", ss.access_rights.into())],
    );
    for i in [DS, ES, FS, GS] {
        let seg = s[i];
        if !usable(&seg) {
            continue;
        }
        let ar = [(names(i).3, u64::from(seg.access_rights))];
        c.require(seg_type(&seg) & 1 != 0, DATA_ACCESSED, &ar);
        c.require(
            seg_type(&seg) & 8 == 0 || seg_type(&seg) & 2 != 0,
            CODE_READABLE,
            &ar,
        );
    }
    for i in [ES, CS, SS, DS, FS, GS] {
        let seg = s[i];
        let ok = i != CS && !usable(&seg) || seg.access_rights & AR_S != 0;
        c.require(
            ok,
            DESCRIPTOR_TYPE,
            &[(names(i).3, seg.access_rights.into())],
        );
    }
    let dpls = [
        ("GUEST_CS_AR", u64::from(cs.access_rights)),
        ("GUEST_SS_AR", u64::from(ss.access_rights)),
    ];
    match seg_type(&cs) {
        9 | 11 => c.require(dpl(&cs) == dpl(&ss), CS_DPL_NONCONFORMING, &dpls),
        13 | 15 => c.require(dpl(&cs) <= dpl(&ss), CS_DPL_CONFORMING, &dpls),
        _ => {}
    }
    if !unrestricted {
        c.require(
            dpl(&ss) == rpl(&ss),
            SS_DPL,
            &[
                ("GUEST_SS_SELECTOR", ss.selector.into()),
                ("GUEST_SS_AR", ss.access_rights.into()),
            ],
        );
        for i in [DS, ES, FS, GS] {
            let seg = s[i];
            let ok = !usable(&seg) || seg_type(&seg) > 11 || dpl(&seg) >= rpl(&seg);
            c.require(
                ok,
                DATA_DPL,
                &[
                    (names(i).0, seg.selector.into()),
                    (names(i).3, seg.access_rights.into()),
                ],
            );
        }
    }
    // P, reserved bits, CS.D with CS.L, limit and G: CS always, the others only where usable.
    let code_and_data = [ES, CS, SS, DS, FS, GS]
        .into_iter()
        .filter(|&i| i == CS || usable(&s[i]));
    for i in code_and_data.clone() {
        let ar = (names(i).3, u64::from(s[i].access_rights));
        c.require(s[i].access_rights & AR_P != 0, PRESENT, &[ar]);
        c.require(
            s[i].access_rights & AR_RESERVED == 0,
            ACCESS_RIGHTS_RESERVED,
            &[ar],
        );
    }
    if ia32e {
        c.require(
            cs.access_rights & AR_L == 0 || cs.access_rights & AR_D == 0,
            CS_D_L,
            &[("GUEST_CS_AR", cs.access_rights.into())],
        );
    }
    for i in code_and_data {
        let (_, _, limit, ar) = names(i);
        c.require(
            limit_matches_granularity(&s[i]),
            LIMIT_GRANULARITY,
            &[(limit, s[i].limit.into()), (ar, s[i].access_rights.into())],
        );
    }

    // TR always, LDTR where usable: type, S, P, reserved bits, limit and G; TR must be usable.
    let tr_type_ok = match seg_type(&tr) {
        11 => true,
        3 => !ia32e,
        _ => false,
    };
    for (i, type_ok, type_rule) in [
        (TR, tr_type_ok, TR_TYPE),
        (LDTR, seg_type(&ldtr) == 2, LDTR_TYPE),
    ] {
        let seg = s[i];
        if i == LDTR && !usable(&seg) {
            continue;
        }
        let (_, _, limit, ar) = names(i);
        let ar_value = (ar, u64::from(seg.access_rights));
        c.require(type_ok, type_rule, &[ar_value]);
        c.require(seg.access_rights & AR_S == 0, DESCRIPTOR_TYPE, &[ar_value]);
        c.require(seg.access_rights & AR_P != 0, PRESENT, &[ar_value]);
        // Bit 16 is the unusable bit: TR_USABLE's.
        c.require(
            seg.access_rights & AR_RESERVED == 0,
            ACCESS_RIGHTS_RESERVED,
            &[ar_value],
        );
        c.require(
            limit_matches_granularity(&seg),
            LIMIT_GRANULARITY,
            &[(limit, seg.limit.into()), ar_value],
        );
        if i == TR {
            c.require(usable(&tr), TR_USABLE, &[ar_value]);
        }
    }
}

fn descriptor_tables<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let g = c.vmcs.guest;
    let bases = c.canonical(g.gdtr_base) && c.canonical(g.idtr_base);
    c.require(
        bases,
        TABLE_BASES,
        &[
            ("GUEST_GDTR_BASE", g.gdtr_base),
            ("GUEST_IDTR_BASE", g.idtr_base),
        ],
    );
    c.require(
        g.gdtr_limit >> 16 == 0 && g.idtr_limit >> 16 == 0,
        TABLE_LIMITS,
        &[
            ("GUEST_GDTR_LIMIT", g.gdtr_limit.into()),
            ("GUEST_IDTR_LIMIT", g.idtr_limit.into()),
        ],
    );
}

fn rip_and_rflags<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let g = c.vmcs.guest;
    let cs_ar = g.segments[CS].access_rights;
    let rip = [("GUEST_RIP", g.rip), ("GUEST_CS_AR", u64::from(cs_ar))];
    if ia32e_guest(c) && cs_ar & AR_L != 0 {
        let ok = c.canonical(g.rip);
        c.require(ok, RIP_CANONICAL, &rip);
    } else {
        c.require(g.rip >> 32 == 0, RIP_32, &rip);
    }
    let rflags = [("GUEST_RFLAGS", g.rflags)];
    c.require(
        g.rflags & RFLAGS_MUST_BE_ZERO == 0 && bit(g.rflags, 1),
        RFLAGS_RESERVED,
        &rflags,
    );
    let no_vm = !ia32e_guest(c) && bit(g.cr0, CR0_PE);
    c.require(no_vm || !bit(g.rflags, RFLAGS_VM_BIT), RFLAGS_VM, &rflags);
    if injected_event(c.vmcs.entry_interruption_info) == Some(EXTERNAL_INTERRUPT) {
        c.require(bit(g.rflags, RFLAGS_IF_BIT), RFLAGS_IF, &rflags);
    }
}

fn non_register_state<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let v = c.vmcs;
    let g = v.guest;
    let misc = c.misc();
    let blocking = g.interruptibility;
    let state = ("GUEST_INTERRUPTIBILITY", u64::from(blocking));
    let sti_or_mov_ss = blocking & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS);
    let info = v.entry_interruption_info;
    let event = injected_event(info);
    let event_value = ("ENTRY_INTERRUPTION_INFO", u64::from(info));

    // Activity state. IA32_VMX_MISC bits 6-8: HLT, shutdown and wait-for-SIPI are supported.
    let supported = match g.activity {
        ACTIVE => true,
        HLT => bit(misc, 6),
        SHUTDOWN => bit(misc, 7),
        WAIT_FOR_SIPI => bit(misc, 8),
        _ => false,
    };
    let activity = ("GUEST_ACTIVITY_STATE", u64::from(g.activity));
    c.require(supported, ACTIVITY_STATE, &[activity]);
    c.require(
        g.activity != HLT || dpl(&g.segments[SS]) == 0,
        ACTIVITY_HLT_DPL,
        &[
            activity,
            ("GUEST_SS_AR", g.segments[SS].access_rights.into()),
        ],
    );
    c.require(
        sti_or_mov_ss == 0 || g.activity == ACTIVE,
        BLOCKING_INACTIVE,
        &[state, activity],
    );
    if let Some(kind) = event {
        let vector = info & 0xff;
        let ok = match g.activity {
            HLT => matches!((kind, vector), (0 | 2, _) | (3, 1 | 18) | (7, 0)),
            SHUTDOWN => matches!((kind, vector), (2, _) | (3, 18)),
            WAIT_FOR_SIPI => false,
            _ => true,
        };
        c.require(ok, ACTIVITY_EVENT, &[activity, event_value]);
    }

    // Interruptibility state.
    c.require(blocking >> 5 == 0, INTERRUPTIBILITY_RESERVED, &[state]);
    c.require(
        sti_or_mov_ss != BLOCKING_BY_STI | BLOCKING_BY_MOV_SS,
        STI_AND_MOV_SS,
        &[state],
    );
    c.require(
        blocking & BLOCKING_BY_STI == 0 || bit(g.rflags, RFLAGS_IF_BIT),
        STI_IF,
        &[state, ("GUEST_RFLAGS", g.rflags)],
    );
    match event {
        Some(EXTERNAL_INTERRUPT) => {
            c.require(sti_or_mov_ss == 0, BLOCKING_EXTERNAL, &[state, event_value]);
        }
        Some(NMI) => c.require(
            blocking & BLOCKING_BY_MOV_SS == 0,
            BLOCKING_NMI,
            &[state, event_value],
        ),
        _ => {}
    }
    // rvmm never runs in SMM, and its entries are not to SMM.
    c.require(blocking & BLOCKING_BY_SMI == 0, BLOCKING_SMI, &[state]);
    if event == Some(NMI) {
        c.require(
            v.pin & PIN_VIRTUAL_NMIS == 0 || blocking & BLOCKING_BY_NMI == 0,
            VIRTUAL_NMI_BLOCKING,
            &[state, ("PIN_BASED_CONTROLS", v.pin.into())],
        );
    }
    c.require(
        blocking & ENCLAVE_INTERRUPTION_BIT == 0 || c.cpu.sgx && blocking & BLOCKING_BY_MOV_SS == 0,
        ENCLAVE_INTERRUPTION,
        &[state],
    );

    // Pending debug exceptions.
    let pending = g.pending_debug;
    let defined = PENDING_DEBUG_DEFINED | if c.cpu.rtm { PENDING_RTM } else { 0 };
    let pending_value = ("GUEST_PENDING_DBG_EXCEPTIONS", pending);
    c.require(
        pending & !defined == 0,
        PENDING_DEBUG_RESERVED,
        &[pending_value],
    );
    // After STI, MOV SS or HLT a single-step trap is pending exactly when TF=1 and BTF=0.
    if sti_or_mov_ss != 0 || g.activity == HLT {
        let owed = bit(g.rflags, RFLAGS_TF) && !bit(g.debugctl, DEBUGCTL_BTF);
        c.require(
            (pending & PENDING_BS != 0) == owed,
            PENDING_DEBUG_BS,
            &[
                pending_value,
                ("GUEST_RFLAGS", g.rflags),
                ("GUEST_IA32_DEBUGCTL", g.debugctl),
            ],
        );
    }
    // An RTM debug exception (bit 16) comes alone: bits 11:0, 14 and 15:13 clear, bit 12 set, no MOV
    // SS blocking.
    if pending & PENDING_RTM != 0 {
        c.require(
            pending & 0xffff == 1 << 12 && blocking & BLOCKING_BY_MOV_SS == 0,
            PENDING_DEBUG_RTM,
            &[pending_value, state],
        );
    }
    let link = g.link_pointer;
    let link_ok = link == u64::MAX || link & 0xfff == 0 && c.physical(link);
    c.require(link_ok, LINK_POINTER, &[("VMCS_LINK_POINTER", link)]);
}
