// SPDX-License-Identifier: GPL-2.0

//! Checks on the host-state area (SDM Vol. 3C, 27.2.2-27.2.4).

use super::{bit, Checker, Cr, Violation};

rules! {
    HOST_CR0_FIXED "27.2.2" "host CR0 fixed bits";
    HOST_CR4_FIXED "27.2.2" "host CR4 fixed bits";
    HOST_CET_WP "27.2.2" "host CR4.CET requires CR0.WP";
    HOST_CR3 "27.2.2" "host CR3 reserved bits";
    HOST_SYSENTER "27.2.2" "host SYSENTER_ESP and SYSENTER_EIP canonical";
    HOST_SELECTOR_RPL_TI "27.2.3" "host selector RPL and TI";
    HOST_CS_NULL "27.2.3" "host CS selector not null";
    HOST_TR_NULL "27.2.3" "host TR selector not null";
    HOST_SS_NULL "27.2.3" "host SS selector not null outside a 64-bit host";
    HOST_BASES "27.2.3" "host FS, GS, TR, GDTR and IDTR bases canonical";
    HOST_OUTSIDE_IA32E "27.2.4" "IA-32e mode guest and 64-bit host outside IA-32e mode";
    HOST_ADDRESS_SPACE_SIZE "27.2.4" "host address-space size in IA-32e mode";
    HOST_64_CR4_PAE "27.2.4" "64-bit host CR4.PAE";
    HOST_64_RIP "27.2.4" "64-bit host RIP canonical";
    HOST_32_CR4_PCIDE "27.2.4" "32-bit host CR4.PCIDE";
    HOST_32_RIP "27.2.4" "32-bit host RIP bits 63:32";
}

const EXIT_HOST_ADDRESS_SPACE_SIZE: u32 = 1 << 9;
const ENTRY_IA32E_MODE_GUEST: u32 = 1 << 9;
const CR4_PAE: u32 = 5;
const CR4_PCIDE: u32 = 17;
pub(super) const CR4_CET: u32 = 23;
pub(super) const CR0_WP: u32 = 16;

const SELECTOR_NAMES: [&str; 7] = [
    "HOST_ES_SELECTOR",
    "HOST_CS_SELECTOR",
    "HOST_SS_SELECTOR",
    "HOST_DS_SELECTOR",
    "HOST_FS_SELECTOR",
    "HOST_GS_SELECTOR",
    "HOST_TR_SELECTOR",
];

/// Whether CR3 has no reserved bit set: none at or above MAXPHYADDR, but for bits 62:61 where LAM
/// makes them the CR3's LAM_U57 and LAM_U48 (SDM 27.2.2; Vol. 3A, 4.5.2 for LAM).
pub(super) fn cr3_ok<F>(c: &Checker<'_, F>, cr3: u64) -> bool {
    let lam_bits = if c.cpu.lam { 3 << 61 } else { 0 };
    c.physical(cr3 & !lam_bits)
}

pub(super) fn check<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let v = c.vmcs;
    let h = &v.host;
    let (cr0_fixed, cr4_fixed) = (c.fixed(Cr::Cr0), c.fixed(Cr::Cr4));
    c.require_fixed(HOST_CR0_FIXED, ("HOST_CR0", h.cr0), Cr::Cr0, cr0_fixed);
    c.require_fixed(HOST_CR4_FIXED, ("HOST_CR4", h.cr4), Cr::Cr4, cr4_fixed);
    c.require(
        !bit(h.cr4, CR4_CET) || bit(h.cr0, CR0_WP),
        HOST_CET_WP,
        &[("HOST_CR0", h.cr0), ("HOST_CR4", h.cr4)],
    );
    let cr3 = cr3_ok(c, h.cr3);
    c.require(cr3, HOST_CR3, &[("HOST_CR3", h.cr3)]);
    let sysenter = c.canonical(h.sysenter_esp) && c.canonical(h.sysenter_eip);
    c.require(
        sysenter,
        HOST_SYSENTER,
        &[
            ("HOST_SYSENTER_ESP", h.sysenter_esp),
            ("HOST_SYSENTER_EIP", h.sysenter_eip),
        ],
    );

    for (selector, name) in h.selectors.into_iter().zip(SELECTOR_NAMES) {
        c.require(
            selector & 7 == 0,
            HOST_SELECTOR_RPL_TI,
            &[(name, selector.into())],
        );
    }
    let [_, cs, ss, _, _, _, tr] = h.selectors;
    c.require(cs != 0, HOST_CS_NULL, &[("HOST_CS_SELECTOR", cs.into())]);
    c.require(tr != 0, HOST_TR_NULL, &[("HOST_TR_SELECTOR", tr.into())]);
    let host_64 = v.exit & EXIT_HOST_ADDRESS_SPACE_SIZE != 0;
    c.require(
        host_64 || ss != 0,
        HOST_SS_NULL,
        &[("HOST_SS_SELECTOR", ss.into())],
    );
    for (base, name) in [
        (h.fs_base, "HOST_FS_BASE"),
        (h.gs_base, "HOST_GS_BASE"),
        (h.tr_base, "HOST_TR_BASE"),
        (h.gdtr_base, "HOST_GDTR_BASE"),
        (h.idtr_base, "HOST_IDTR_BASE"),
    ] {
        let ok = c.canonical(base);
        c.require(ok, HOST_BASES, &[(name, base)]);
    }

    let exit_value = [("EXIT_CONTROLS", u64::from(v.exit))];
    if !c.cpu.ia32e_mode {
        c.require(
            v.entry & ENTRY_IA32E_MODE_GUEST == 0 && !host_64,
            HOST_OUTSIDE_IA32E,
            &[exit_value[0], ("ENTRY_CONTROLS", v.entry.into())],
        );
    } else {
        c.require(host_64, HOST_ADDRESS_SPACE_SIZE, &exit_value);
    }
    if host_64 {
        c.require(bit(h.cr4, CR4_PAE), HOST_64_CR4_PAE, &[("HOST_CR4", h.cr4)]);
        let rip = c.canonical(h.rip);
        c.require(rip, HOST_64_RIP, &[("HOST_RIP", h.rip)]);
    } else {
        c.require(
            !bit(h.cr4, CR4_PCIDE),
            HOST_32_CR4_PCIDE,
            &[("HOST_CR4", h.cr4)],
        );
        c.require(h.rip >> 32 == 0, HOST_32_RIP, &[("HOST_RIP", h.rip)]);
    }
}
