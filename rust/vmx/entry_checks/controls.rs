// SPDX-License-Identifier: GPL-2.0

//! Checks on the VM-execution, VM-exit and VM-entry control fields (SDM Vol. 3C, 27.2.1).

use super::{bit, Checker, Violation};

rules! {
    PIN_BASED "27.2.1.1" "pin-based controls: allowed settings";
    PRIMARY "27.2.1.1" "primary processor-based controls: allowed settings";
    SECONDARY "27.2.1.1" "secondary processor-based controls: allowed settings";
    CR3_TARGET_COUNT "27.2.1.1" "CR3-target count";
    IO_BITMAPS "27.2.1.1" "I/O-bitmap addresses";
    MSR_BITMAP "27.2.1.1" "MSR-bitmap address";
    APIC_VIRTUALIZATION "27.2.1.1" "APIC virtualization requires the TPR shadow";
    VIRTUAL_NMIS "27.2.1.1" "virtual NMIs require NMI exiting";
    NMI_WINDOW "27.2.1.1" "NMI-window exiting requires virtual NMIs";
    VPID "27.2.1.1" "VPID is not 0";
    UNRESTRICTED_GUEST "27.2.1.1" "unrestricted guest requires EPT";
    EXIT "27.2.1.2" "VM-exit controls: allowed settings";
    PREEMPTION_TIMER_SAVE "27.2.1.2" "saving the preemption timer requires activating it";
    EXIT_MSR_STORE "27.2.1.2" "VM-exit MSR-store address";
    EXIT_MSR_LOAD "27.2.1.2" "VM-exit MSR-load address";
    ENTRY "27.2.1.3" "VM-entry controls: allowed settings";
    EVENT_RESERVED "27.2.1.3" "event injection: reserved bits";
    EVENT_TYPE "27.2.1.3" "event injection: type";
    EVENT_VECTOR "27.2.1.3" "event injection: vector";
    EVENT_ERROR_CODE "27.2.1.3" "event injection: error code delivery";
    EVENT_ERROR_CODE_BITS "27.2.1.3" "event injection: error code bits 31:16";
    EVENT_INSTRUCTION_LENGTH "27.2.1.3" "event injection: instruction length";
    ENTRY_MSR_LOAD "27.2.1.3" "VM-entry MSR-load address";
    ENTRY_TO_SMM "27.2.1.3" "entry to SMM and dual-monitor deactivation outside SMM";
}

// Control bits (SDM 25.6-25.8).
const PIN_NMI_EXITING: u32 = 1 << 3;
pub(super) const PIN_VIRTUAL_NMIS: u32 = 1 << 5;
const PIN_PREEMPTION_TIMER: u32 = 1 << 6;
const PROC_TPR_SHADOW: u32 = 1 << 21;
const PROC_NMI_WINDOW: u32 = 1 << 22;
const PROC_IO_BITMAPS: u32 = 1 << 25;
const PROC_MTF: u32 = 1 << 27;
const PROC_MSR_BITMAPS: u32 = 1 << 28;
const PROC_SECONDARY: u32 = 1 << 31;
const PROC2_EPT: u32 = 1 << 1;
const PROC2_X2APIC_MODE: u32 = 1 << 4;
const PROC2_VPID: u32 = 1 << 5;
pub(super) const PROC2_UNRESTRICTED_GUEST: u32 = 1 << 7;
const PROC2_APIC_REGISTERS: u32 = 1 << 8;
const PROC2_INTERRUPT_DELIVERY: u32 = 1 << 9;
const EXIT_SAVE_PREEMPTION_TIMER: u32 = 1 << 22;
const ENTRY_TO_SMM_BITS: u32 = 1 << 10 | 1 << 11;

// The VM-entry interruption-information field (SDM 25.8.3).
pub(super) const EVENT_VALID: u32 = 1 << 31;
const EVENT_DELIVER_ERROR_CODE: u32 = 1 << 11;
pub(super) const EXTERNAL_INTERRUPT: u32 = 0;
pub(super) const NMI: u32 = 2;
const HARDWARE_EXCEPTION: u32 = 3;
const OTHER_EVENT: u32 = 7;

/// The event type, if the VM-entry interruption-information field injects one.
pub(super) fn injected_event(info: u32) -> Option<u32> {
    (info & EVENT_VALID != 0).then_some(info >> 8 & 7)
}

pub(super) fn check<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    execution(c);
    exit(c);
    entry(c);
}

/// Whether `value` has every bit `must_be_one` sets and no bit `may_be_one` lacks.
fn allowed_by(value: u32, (must_be_one, may_be_one): (u32, u32)) -> bool {
    value & must_be_one == must_be_one && value & !may_be_one == 0
}

fn execution<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let v = c.vmcs;
    let pin = c.allowed(0x481, 0x48d);
    c.require(
        allowed_by(v.pin, pin),
        PIN_BASED,
        &[("PIN_BASED_CONTROLS", v.pin.into())],
    );
    let primary = c.allowed(0x482, 0x48e);
    c.require(
        allowed_by(v.primary, primary),
        PRIMARY,
        &[("PRIMARY_PROC_CONTROLS", v.primary.into())],
    );
    // Without "activate secondary controls" the CPU acts as if they were all 0.
    let secondary = if v.primary & PROC_SECONDARY != 0 {
        v.secondary
    } else {
        0
    };
    let secondary_allowed = c.allowed(0x48b, 0x48b);
    c.require(
        allowed_by(secondary, secondary_allowed),
        SECONDARY,
        &[("SECONDARY_PROC_CONTROLS", secondary.into())],
    );
    let targets = (c.misc() >> 16 & 0x1ff) as u32;
    c.require(
        v.cr3_target_count <= targets,
        CR3_TARGET_COUNT,
        &[
            ("CR3_TARGET_COUNT", v.cr3_target_count.into()),
            ("IA32_VMX_MISC[24:16]", targets.into()),
        ],
    );
    if v.primary & PROC_IO_BITMAPS != 0 {
        let [a, b] = v.io_bitmaps;
        let ok = |x: u64| x & 0xfff == 0 && c.physical(x);
        c.require(
            ok(a) && ok(b),
            IO_BITMAPS,
            &[("IO_BITMAP_A", a), ("IO_BITMAP_B", b)],
        );
    }
    if v.primary & PROC_MSR_BITMAPS != 0 {
        let ok = v.msr_bitmap & 0xfff == 0 && c.physical(v.msr_bitmap);
        c.require(ok, MSR_BITMAP, &[("MSR_BITMAP", v.msr_bitmap)]);
    }
    let apic = PROC2_X2APIC_MODE | PROC2_APIC_REGISTERS | PROC2_INTERRUPT_DELIVERY;
    c.require(
        v.primary & PROC_TPR_SHADOW != 0 || secondary & apic == 0,
        APIC_VIRTUALIZATION,
        &[
            ("PRIMARY_PROC_CONTROLS", v.primary.into()),
            ("SECONDARY_PROC_CONTROLS", secondary.into()),
        ],
    );
    c.require(
        v.pin & PIN_VIRTUAL_NMIS == 0 || v.pin & PIN_NMI_EXITING != 0,
        VIRTUAL_NMIS,
        &[("PIN_BASED_CONTROLS", v.pin.into())],
    );
    c.require(
        v.primary & PROC_NMI_WINDOW == 0 || v.pin & PIN_VIRTUAL_NMIS != 0,
        NMI_WINDOW,
        &[
            ("PIN_BASED_CONTROLS", v.pin.into()),
            ("PRIMARY_PROC_CONTROLS", v.primary.into()),
        ],
    );
    c.require(
        secondary & PROC2_VPID == 0 || v.vpid != 0,
        VPID,
        &[("VIRTUAL_PROCESSOR_ID", v.vpid.into())],
    );
    c.require(
        secondary & PROC2_UNRESTRICTED_GUEST == 0 || secondary & PROC2_EPT != 0,
        UNRESTRICTED_GUEST,
        &[("SECONDARY_PROC_CONTROLS", secondary.into())],
    );
}

/// An MSR area of `count` 16-byte entries at `address`: 16-byte aligned, and its first and last
/// bytes within MAXPHYADDR (27.2.1.2, 27.2.1.3).
fn msr_area_ok<F>(c: &Checker<'_, F>, (count, address): (u32, u64)) -> bool {
    count == 0
        || address & 0xf == 0
            && c.physical(address)
            && c.physical(address.wrapping_add(u64::from(count) * 16 - 1))
}

fn exit<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let v = c.vmcs;
    let exit = c.allowed(0x483, 0x48f);
    c.require(
        allowed_by(v.exit, exit),
        EXIT,
        &[("EXIT_CONTROLS", v.exit.into())],
    );
    c.require(
        v.exit & EXIT_SAVE_PREEMPTION_TIMER == 0 || v.pin & PIN_PREEMPTION_TIMER != 0,
        PREEMPTION_TIMER_SAVE,
        &[
            ("PIN_BASED_CONTROLS", v.pin.into()),
            ("EXIT_CONTROLS", v.exit.into()),
        ],
    );
    for (area, rule, count, address) in [
        (
            v.exit_msr_store,
            EXIT_MSR_STORE,
            "EXIT_MSR_STORE_COUNT",
            "EXIT_MSR_STORE_ADDR",
        ),
        (
            v.exit_msr_load,
            EXIT_MSR_LOAD,
            "EXIT_MSR_LOAD_COUNT",
            "EXIT_MSR_LOAD_ADDR",
        ),
    ] {
        let ok = msr_area_ok(c, area);
        c.require(ok, rule, &[(count, area.0.into()), (address, area.1)]);
    }
}

fn entry<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let v = c.vmcs;
    let entry = c.allowed(0x484, 0x490);
    c.require(
        allowed_by(v.entry, entry),
        ENTRY,
        &[("ENTRY_CONTROLS", v.entry.into())],
    );
    event_injection(c);
    let ok = msr_area_ok(c, v.entry_msr_load);
    c.require(
        ok,
        ENTRY_MSR_LOAD,
        &[
            ("ENTRY_MSR_LOAD_COUNT", v.entry_msr_load.0.into()),
            ("ENTRY_MSR_LOAD_ADDR", v.entry_msr_load.1),
        ],
    );
    c.require(
        v.entry & ENTRY_TO_SMM_BITS == 0,
        ENTRY_TO_SMM,
        &[("ENTRY_CONTROLS", v.entry.into())],
    );
}

/// The exceptions VM entry requires an error code for where IA32_VMX_BASIC bit 56 is 0 (27.2.1.3):
/// #DF, #TS, #NP, #SS, #GP, #PF, #AC. #CP (21) came with CET, whose CPUs set bit 56.
fn has_error_code(vector: u32) -> bool {
    matches!(vector, 8 | 10..=14 | 17)
}

fn event_injection<F: FnMut(Violation)>(c: &mut Checker<'_, F>) {
    let v = c.vmcs;
    let info = v.entry_interruption_info;
    let Some(kind) = injected_event(info) else {
        return;
    };
    let vector = info & 0xff;
    let info_value = [("ENTRY_INTERRUPTION_INFO", u64::from(info))];
    c.require(info & 0x7fff_f000 == 0, EVENT_RESERVED, &info_value);
    // Type 1 is reserved; type 7 ("other event") needs the monitor trap flag.
    let mtf = c.allowed(0x482, 0x48e).1 & PROC_MTF != 0;
    c.require(
        kind != 1 && (kind != OTHER_EVENT || mtf),
        EVENT_TYPE,
        &info_value,
    );
    let vector_ok = match kind {
        NMI => vector == 2,
        HARDWARE_EXCEPTION => vector <= 31,
        OTHER_EVENT => vector == 0,
        _ => true,
    };
    c.require(vector_ok, EVENT_VECTOR, &info_value);
    // Only a hardware exception in protected mode may deliver an error code; IA32_VMX_BASIC bit 56
    // says whether any of them may (with or without one), else exactly those that push one.
    let any_error_code = c.cpu.caps.get(0x480).is_some_and(|basic| bit(basic, 56));
    let delivers = info & EVENT_DELIVER_ERROR_CODE != 0;
    let protected_mode = c.vmcs.guest.cr0 & 1 != 0;
    let may = kind == HARDWARE_EXCEPTION && protected_mode;
    let owed = may && has_error_code(vector);
    c.require(
        if any_error_code {
            !delivers || may
        } else {
            delivers == owed
        },
        EVENT_ERROR_CODE,
        &[
            ("ENTRY_INTERRUPTION_INFO", info.into()),
            ("GUEST_CR0", v.guest.cr0),
        ],
    );
    c.require(
        !delivers || v.entry_error_code >> 16 == 0,
        EVENT_ERROR_CODE_BITS,
        &[("ENTRY_EXCEPTION_ERROR_CODE", v.entry_error_code.into())],
    );
    // Software interrupts and exceptions (types 4-6) name the instruction's length; 0 is allowed
    // where IA32_VMX_MISC bit 30 says so.
    if matches!(kind, 4..=6) {
        let len = v.entry_instruction_length;
        let zero_ok = bit(c.misc(), 30);
        c.require(
            (1..=15).contains(&len) || len == 0 && zero_ok,
            EVENT_INSTRUCTION_LENGTH,
            &[
                ("ENTRY_INTERRUPTION_INFO", info.into()),
                ("ENTRY_INSTRUCTION_LEN", len.into()),
            ],
        );
    }
}
