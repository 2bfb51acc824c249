// SPDX-License-Identifier: GPL-2.0

//! What every CPU's VMCS shares: the adjusted controls, the MSR bitmap and the host page table
//! (Intel SDM Vol. 3C, 25.6-25.8 for the controls, 27.2-27.3 for the checks they must pass).

use crate::{
    entry_checker, fault_injection, hw,
    vmx::{capabilities::Capabilities, controls::*, msr},
};
use kernel::{page::Page, prelude::*};

pub(crate) struct Shared {
    pub(crate) revision_id: u32,
    pub(crate) pin: u32,
    pub(crate) primary: u32,
    pub(crate) secondary: u32,
    pub(crate) exit: u32,
    pub(crate) entry: u32,
    pub(crate) cr0_fixed: (u64, u64),
    pub(crate) cr4_fixed: (u64, u64),
    _msr_bitmap: Page,
    pub(crate) msr_bitmap_phys: u64,
    _host_pgd: hw::HostPgd,
    pub(crate) host_cr3: u64,
    /// What the VM-entry checker knows of the CPUs.
    pub(crate) facts: entry_checker::Facts,
}

/// Adjusts one control field, naming it when the CPU lacks a required bit. A capability MSR the CPU
/// does not have allows nothing.
fn adjusted(
    caps: &Capabilities,
    name: &str,
    required: u32,
    optional: u32,
    capability_msr: u32,
) -> Result<u32> {
    adjust(required, optional, caps.get(capability_msr).unwrap_or(0)).map_err(|missing| {
        pr_err!("the CPU cannot set {name} bits {missing:#x}; rvmm needs a CPU with them\n");
        ENODEV
    })
}

impl Shared {
    /// Adjusts the controls to the capabilities every CPU reported (the same on all, checked) and
    /// builds the shared pages. Runs in process context.
    pub(crate) fn new(caps: &Capabilities) -> Result<Self> {
        let cap = |index: u32| caps.get(index).unwrap_or(0);
        let basic = VmxBasic(cap(MSR_IA32_VMX_BASIC));
        let true_controls = basic.has_true_controls() && !fault_injection::no_true_controls();
        let (pin_msr, primary_msr, exit_msr, entry_msr) = if true_controls {
            (
                MSR_IA32_VMX_TRUE_PINBASED_CTLS,
                MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
                MSR_IA32_VMX_TRUE_EXIT_CTLS,
                MSR_IA32_VMX_TRUE_ENTRY_CTLS,
            )
        } else {
            (
                MSR_IA32_VMX_PINBASED_CTLS,
                MSR_IA32_VMX_PROCBASED_CTLS,
                MSR_IA32_VMX_EXIT_CTLS,
                MSR_IA32_VMX_ENTRY_CTLS,
            )
        };
        // No exits but the ones the SDM makes unconditional, MSR reads in the bitmap and CR4.VMXE.
        let pin = adjusted(caps, "pin-based", 0, 0, pin_msr)?;
        let primary = adjusted(
            caps,
            "processor-based",
            PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY,
            0,
            primary_msr,
        )?;
        let secondary = adjusted(
            caps,
            "secondary processor-based",
            0,
            PROC2_ENABLE_RDTSCP
                | PROC2_ENABLE_INVPCID
                | PROC2_ENABLE_XSAVES
                | PROC2_ENABLE_USER_WAIT_PAUSE,
            MSR_IA32_VMX_PROCBASED_CTLS2,
        )?;
        let exit = adjusted(
            caps,
            "VM-exit",
            EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS,
            0,
            exit_msr,
        )?;
        let entry = adjusted(
            caps,
            "VM-entry",
            ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_DEBUG_CONTROLS,
            0,
            entry_msr,
        )?;

        fault_injection::allocation()?;
        let msr_bitmap = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        for m in msr::intercepted_reads() {
            if let Some((byte, bit)) = msr::read_bitmap_position(m) {
                let mut value = 0u8;
                // SAFETY: `byte` < 2048 is inside the page, which only this function touches.
                unsafe {
                    msr_bitmap.read_raw(&mut value, byte, 1)?;
                    value |= 1 << bit;
                    msr_bitmap.write_raw(&value, byte, 1)?;
                }
            }
        }
        fault_injection::allocation()?;
        let host_pgd = hw::HostPgd::new()?;

        Ok(Self {
            revision_id: basic.revision_id(),
            pin,
            primary,
            secondary,
            exit,
            entry,
            cr0_fixed: (cap(MSR_IA32_VMX_CR0_FIXED0), cap(MSR_IA32_VMX_CR0_FIXED1)),
            cr4_fixed: (cap(MSR_IA32_VMX_CR4_FIXED0), cap(MSR_IA32_VMX_CR4_FIXED1)),
            msr_bitmap_phys: hw::page_phys(&msr_bitmap),
            _msr_bitmap: msr_bitmap,
            host_cr3: host_pgd.phys(),
            _host_pgd: host_pgd,
            facts: entry_checker::Facts::new(caps),
        })
    }
}
