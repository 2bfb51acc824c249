// SPDX-License-Identifier: GPL-2.0

//! What every CPU's VMCS shares: the adjusted controls, the MSR bitmap and the host page table
//! (Intel SDM Vol. 3C, 25.6-25.8 for the controls, 27.2-27.3 for the checks they must pass).

use crate::{
    entry_checker, fault_injection, hw,
    vmx::{
        capabilities::Capabilities,
        control_fields::{self, Controls, Request},
        controls::*,
        msr,
    },
};
use kernel::{page::Page, prelude::*};

pub(crate) struct Shared {
    pub(crate) revision_id: u32,
    pub(crate) controls: Controls,
    /// The CPU may set the monitor trap flag, with which rvmm delivers a pending debug exception
    /// before it leaves VMX operation (rust/vmx/single_step.rs).
    pub(crate) monitor_trap_flag: bool,
    /// The kernel runs user mode on page tables of its own (PTI), which map no module code.
    pub(crate) page_table_isolation: bool,
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
fn adjusted(caps: &Capabilities, name: &str, request: Request, capability_msr: u32) -> Result<u32> {
    let capability = caps.get(capability_msr).unwrap_or(0);
    adjust(request.required, request.optional, capability).map_err(|missing| {
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
        let controls = Controls {
            pin: adjusted(caps, "pin-based", control_fields::PIN, pin_msr)?,
            primary: adjusted(
                caps,
                "processor-based",
                control_fields::PRIMARY,
                primary_msr,
            )?,
            secondary: adjusted(
                caps,
                "secondary processor-based",
                control_fields::SECONDARY,
                MSR_IA32_VMX_PROCBASED_CTLS2,
            )?,
            exit: adjusted(caps, "VM-exit", control_fields::EXIT, exit_msr)?,
            entry: adjusted(caps, "VM-entry", control_fields::ENTRY, entry_msr)?,
        };

        fault_injection::allocation()?;
        let msr_bitmap = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        let reads = msr::intercepted_reads().filter_map(msr::read_bitmap_position);
        let writes = msr::intercepted_writes().filter_map(msr::write_bitmap_position);
        for (byte, bit) in Iterator::chain(reads, writes) {
            let mut value = 0u8;
            // SAFETY: `byte` < 4096 is inside the page, which only this function touches.
            unsafe {
                msr_bitmap.read_raw(&mut value, byte, 1)?;
                value |= 1 << bit;
                msr_bitmap.write_raw(&value, byte, 1)?;
            }
        }
        fault_injection::allocation()?;
        let host_pgd = hw::HostPgd::new()?;

        Ok(Self {
            revision_id: basic.revision_id(),
            controls,
            monitor_trap_flag: adjust(PROC_MONITOR_TRAP_FLAG, 0, cap(primary_msr)).is_ok(),
            page_table_isolation: hw::kernel_uses_pti(),
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
