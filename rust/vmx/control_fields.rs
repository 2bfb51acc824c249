// SPDX-License-Identifier: GPL-2.0

//! The control fields of rvmm's VMCS and their values (SDM Vol. 3C, 25.6-25.8). After VMCLEAR a
//! field holds no defined value until it is written (25.11.3), so every control field that VM
//! entry or an exit reads under the chosen controls is written before the first VMLAUNCH:
//! [`fields_to_write`] lists them, and its test checks the list against what each control bit
//! rvmm may set makes the CPU read.

use super::{controls::*, fields::*, support::CR4_VMXE};

/// What rvmm asks of one control word: a CPU without a required bit cannot run rvmm, an optional
/// bit the CPU does not allow is dropped (rust/vmcs_setup.rs adjusts them, A.3-A.5).
pub struct Request {
    pub required: u32,
    pub optional: u32,
}

/// No exits but the ones the SDM makes unconditional, MSR reads in the bitmap and CR4.VMXE; the
/// secondary controls only let the guest use what the CPU has.
pub const PIN: Request = Request {
    required: 0,
    optional: 0,
};
pub const PRIMARY: Request = Request {
    required: PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY,
    optional: 0,
};
pub const SECONDARY: Request = Request {
    required: 0,
    optional: PROC2_ENABLE_RDTSCP
        | PROC2_ENABLE_INVPCID
        | PROC2_ENABLE_XSAVES
        | PROC2_ENABLE_USER_WAIT_PAUSE,
};
pub const EXIT: Request = Request {
    required: EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS,
    optional: 0,
};
pub const ENTRY: Request = Request {
    required: ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_DEBUG_CONTROLS,
    optional: 0,
};

/// The five control words as adjusted to the CPU.
#[derive(Clone, Copy)]
pub struct Controls {
    pub pin: u32,
    pub primary: u32,
    pub secondary: u32,
    pub exit: u32,
    pub entry: u32,
}

/// Every control field to write, with its value, for `controls`, the MSR bitmap at `msr_bitmap`
/// and the guest's CR0 and CR4. A field only a control that is off uses is left out: it may not
/// exist on the CPU, and VMWRITE to it would fail.
pub fn fields_to_write(
    controls: Controls,
    msr_bitmap: u64,
    cr0: u64,
    cr4: u64,
) -> impl Iterator<Item = (u32, u64)> {
    let (exception_bitmap, pf_mask, pf_match) = NO_EXCEPTION_EXITS;
    let secondary = if controls.primary & PROC_ACTIVATE_SECONDARY != 0 {
        controls.secondary
    } else {
        0
    };
    let when = |on: bool, field: u32, value: u64| on.then_some((field, value));
    [
        Some((PIN_BASED_CONTROLS, controls.pin.into())),
        Some((PRIMARY_PROC_CONTROLS, controls.primary.into())),
        when(
            controls.primary & PROC_ACTIVATE_SECONDARY != 0,
            SECONDARY_PROC_CONTROLS,
            secondary.into(),
        ),
        Some((EXIT_CONTROLS, controls.exit.into())),
        Some((ENTRY_CONTROLS, controls.entry.into())),
        Some((EXCEPTION_BITMAP, exception_bitmap.into())),
        Some((PAGE_FAULT_ERROR_CODE_MASK, pf_mask.into())),
        Some((PAGE_FAULT_ERROR_CODE_MATCH, pf_match.into())),
        Some((CR3_TARGET_COUNT, 0)),
        Some((EXIT_MSR_STORE_COUNT, 0)),
        Some((EXIT_MSR_LOAD_COUNT, 0)),
        Some((ENTRY_MSR_LOAD_COUNT, 0)),
        Some((ENTRY_INTERRUPTION_INFO, 0)),
        when(
            controls.primary & PROC_USE_MSR_BITMAPS != 0,
            MSR_BITMAP,
            msr_bitmap,
        ),
        when(secondary & PROC2_ENABLE_XSAVES != 0, XSS_EXITING_BITMAP, 0),
        // The host owns CR4.VMXE, and the guest reads it as set, as it is: the kernel's emergency
        // code (arch/x86/virt/hw.c, x86_vmx_emergency_disable_virtualization_cpu(), run on every
        // CPU on panic, kdump and emergency reboot) executes VMXOFF only where a read of CR4 shows
        // VMXE, and rvmm answers that VMXOFF by leaving VMX on the CPU (rust/exit.rs).
        Some((CR0_GUEST_HOST_MASK, 0)),
        Some((CR0_READ_SHADOW, cr0)),
        Some((CR4_GUEST_HOST_MASK, CR4_VMXE)),
        Some((CR4_READ_SHADOW, cr4 | CR4_VMXE)),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Control fields VM entry and every exit read whatever the controls (25.6-25.8).
    const ALWAYS_READ: &[u32] = &[
        PIN_BASED_CONTROLS,
        PRIMARY_PROC_CONTROLS,
        EXIT_CONTROLS,
        ENTRY_CONTROLS,
        EXCEPTION_BITMAP,
        PAGE_FAULT_ERROR_CODE_MASK,
        PAGE_FAULT_ERROR_CODE_MATCH,
        CR3_TARGET_COUNT,
        EXIT_MSR_STORE_COUNT,
        EXIT_MSR_LOAD_COUNT,
        ENTRY_MSR_LOAD_COUNT,
        ENTRY_INTERRUPTION_INFO,
        CR0_GUEST_HOST_MASK,
        CR0_READ_SHADOW,
        CR4_GUEST_HOST_MASK,
        CR4_READ_SHADOW,
    ];

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Word {
        Pin,
        Primary,
        Secondary,
        Exit,
        Entry,
    }

    /// The control fields each control bit rvmm may set makes the CPU read (25.6.2, 25.6.9,
    /// 25.6.20), from the SDM, not from the code under test. Bits whose effect is on guest-state
    /// fields (debug controls, IA-32e mode) or on no field read none here.
    const READS: &[(Word, u32, &[u32])] = &[
        (Word::Primary, PROC_USE_MSR_BITMAPS, &[MSR_BITMAP]),
        (
            Word::Primary,
            PROC_ACTIVATE_SECONDARY,
            &[SECONDARY_PROC_CONTROLS],
        ),
        (Word::Secondary, PROC2_ENABLE_RDTSCP, &[]),
        (Word::Secondary, PROC2_ENABLE_INVPCID, &[]),
        (Word::Secondary, PROC2_ENABLE_XSAVES, &[XSS_EXITING_BITMAP]),
        (Word::Secondary, PROC2_ENABLE_USER_WAIT_PAUSE, &[]),
        (Word::Exit, EXIT_SAVE_DEBUG_CONTROLS, &[]),
        (Word::Exit, EXIT_HOST_ADDRESS_SPACE_SIZE, &[]),
        (Word::Entry, ENTRY_LOAD_DEBUG_CONTROLS, &[]),
        (Word::Entry, ENTRY_IA32E_MODE_GUEST, &[]),
    ];

    fn requests() -> [(Word, &'static Request); 5] {
        [
            (Word::Pin, &PIN),
            (Word::Primary, &PRIMARY),
            (Word::Secondary, &SECONDARY),
            (Word::Exit, &EXIT),
            (Word::Entry, &ENTRY),
        ]
    }

    fn everything_requested() -> Controls {
        let all = |r: &Request| r.required | r.optional;
        Controls {
            pin: all(&PIN),
            primary: all(&PRIMARY),
            secondary: all(&SECONDARY),
            exit: all(&EXIT),
            entry: all(&ENTRY),
        }
    }

    fn written(controls: Controls) -> Vec<u32> {
        fields_to_write(controls, 0x1000, 0x8005_0033, 0x3506f0)
            .map(|(field, _)| field)
            .collect()
    }

    #[test]
    fn every_bit_rvmm_may_set_is_known_to_the_sdm_table() {
        for (word, request) in requests() {
            let bits = request.required | request.optional;
            for bit in (0..32).map(|n| 1u32 << n).filter(|b| bits & b != 0) {
                assert!(
                    READS.iter().any(|&(w, b, _)| w == word && b == bit),
                    "{word:?} control bit {bit:#x}: add the fields it makes the CPU read to READS"
                );
            }
        }
    }

    #[test]
    fn every_field_the_controls_make_the_cpu_read_is_written() {
        let fields = written(everything_requested());
        for field in ALWAYS_READ {
            assert!(fields.contains(field), "field {field:#x} is not written");
        }
        for &(_, _, reads) in READS {
            for field in reads {
                assert!(fields.contains(field), "field {field:#x} is not written");
            }
        }
        let mut unique = fields.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), fields.len(), "a field is written twice");
    }

    #[test]
    fn fields_of_controls_the_cpu_lacks_are_not_written() {
        let mut controls = everything_requested();
        controls.secondary &= !PROC2_ENABLE_XSAVES;
        assert!(!written(controls).contains(&XSS_EXITING_BITMAP));
        controls.primary &= !PROC_ACTIVATE_SECONDARY;
        controls.secondary = PROC2_ENABLE_XSAVES;
        let fields = written(controls);
        assert!(!fields.contains(&SECONDARY_PROC_CONTROLS));
        assert!(!fields.contains(&XSS_EXITING_BITMAP));
    }

    #[test]
    fn the_guest_reads_cr4_vmxe_set_and_the_rest_as_it_is() {
        let fields: Vec<_> = fields_to_write(everything_requested(), 0x1000, 0x33, 0x20).collect();
        assert!(fields.contains(&(CR4_GUEST_HOST_MASK, CR4_VMXE)));
        assert!(fields.contains(&(CR4_READ_SHADOW, 0x20 | CR4_VMXE)));
        assert!(fields.contains(&(CR0_GUEST_HOST_MASK, 0)));
        assert!(fields.contains(&(MSR_BITMAP, 0x1000)));
    }
}
