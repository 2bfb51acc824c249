// SPDX-License-Identifier: GPL-2.0

//! Fault injection for set-up, driven by module parameters, so that the selftests can make every
//! allocation and every VMX step fail in turn and check that rvmm rolls back completely:
//!
//! - `inject_alloc_failure=N`: the Nth allocation of this load fails with ENOMEM (0: none);
//! - `inject_step_failure=S inject_cpu=C`: set-up step S (see [`Step`]: 2 VMXON, 3 VMCLEAR,
//!   4 VMPTRLD, 5 VMWRITE, 6 VMLAUNCH) fails on CPU C as if the instruction had failed, or (10)
//!   CPU C's IA32_FEATURE_CONTROL reads as forbidding VMX (0: none);
//! - `inject_vmxon_fault=1 inject_cpu=C`: VMXON on CPU C runs without CR4.VMXE and raises #UD, as
//!   it raises #GP where the firmware left VMX off;
//! - `inject_user_entry_failure=K`: a VMCALL in user mode, instead of raising #UD, makes the next VM
//!   entry fail: 1 with invalid guest state (RIP advanced, blocking by STI and MOV SS at once: a VM
//!   exit with bit 31 set), 2 with a reserved bit in the event to inject (VMRESUME fails with
//!   VMfailValid). See rust/vmx/entry_failure.rs.
//! - `inject_kernel_entry_failure=1 inject_cpu=C`: a kernel-mode VMCALL of an unknown function on
//!   CPU C (samples/rvmm_ping.c makes one, after its PING) makes the VM entry after it fail on guest
//!   state, as a bug in rvmm would at run time: the CPU leaves VMX
//!   and rvmm names the broken rule at unload;
//! - `inject_capability_failure=K inject_cpu=C`: CPU C's VMX capability MSRs, as read at load, differ
//!   from the other CPUs' (1: IA32_VMX_MISC bit 0 flipped) or one of them faults (2:
//!   IA32_VMX_VMCS_ENUM), as on a system whose CPUs got different microcode or firmware settings;
//! - `inject_vmcs_corruption=K inject_cpu=C`: just before VMLAUNCH on CPU C, one field of the VMCS
//!   is changed as corruption K of rust/vmx/vmcs_corruption.rs says, so that VM entry breaks one
//!   rule of SDM chapter 27, which rvmm's checker then names;
//! - `inject_ignore_vmxoff=1 inject_cpu=C`: a kernel-mode VMXOFF on CPU C succeeds without leaving
//!   VMX, as if rvmm had no crash hook there: after a panic or crash kexec, CPU C is still under rvmm
//!   when the next kernel sends it INIT and SIPI;
//! - `inject_hand_over=1`: once every CPU is under rvmm, a hand-over to another hypervisor starts
//!   as if kvm_intel had taken a CPU (rust/hand_over.rs), without one: each CPU leaves at its next
//!   kernel-mode CPUID leaf 1;
//! - `inject_no_true_controls=1`: set-up ignores the TRUE capability MSRs, as on a CPU whose
//!   IA32_VMX_BASIC bit 55 is clear; the default-1 controls (CR3-load and CR3-store exiting) then
//!   stay on, and every CR3 access exits. No Bochs model lacks the TRUE MSRs.

use crate::{hw, module_parameters, vcpu::Step, vmx::vmcs_corruption};
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// Allocations made by this load so far.
static ALLOCATIONS: Atomic<u32> = Atomic::new(0);

/// Called before each allocation of set-up: fails the one `inject_alloc_failure` names.
pub(crate) fn allocation() -> Result {
    let target = *module_parameters::inject_alloc_failure.value();
    let this = ALLOCATIONS.fetch_add(1, Relaxed) + 1;
    if target != 0 && this == target {
        pr_info!("injected failure: allocation {this}\n");
        return Err(ENOMEM);
    }
    Ok(())
}

/// Whether `step` is to fail on CPU `cpu`. Called in IPI context: reads two integers, no more.
pub(crate) fn step_fails(step: Step, cpu: u32) -> bool {
    *module_parameters::inject_step_failure.value() == step as u32
        && *module_parameters::inject_cpu.value() == cpu
}

/// Whether VMXON on CPU `cpu` is to fault (`inject_vmxon_fault=1` on `inject_cpu`). Called in IPI
/// context: reads two integers, no more.
pub(crate) fn vmxon_faults(cpu: u32) -> bool {
    *module_parameters::inject_vmxon_fault.value() != 0
        && *module_parameters::inject_cpu.value() == cpu
}

/// How `inject_user_entry_failure` makes a VM entry into user mode fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserEntryFailure {
    GuestState,
    EntryControl,
}

/// Called in root mode for a VMCALL in user mode: reads one integer, no more.
pub(crate) fn user_entry_failure() -> Option<UserEntryFailure> {
    match *module_parameters::inject_user_entry_failure.value() {
        1 => Some(UserEntryFailure::GuestState),
        2 => Some(UserEntryFailure::EntryControl),
        _ => None,
    }
}

/// Whether a kernel-mode VMCALL of an unknown function on this CPU is to make the next VM entry fail
/// (`inject_kernel_entry_failure=1` on `inject_cpu`). Called in root mode: reads integers and the
/// CPU number, no more.
pub(crate) fn kernel_entry_failure() -> bool {
    *module_parameters::inject_kernel_entry_failure.value() != 0
        && *module_parameters::inject_cpu.value() == kernel::cpu::CpuId::current().as_u32()
}

/// Whether a kernel VMXOFF on this CPU is to be ignored (`inject_ignore_vmxoff=1` on `inject_cpu`).
/// Called in root mode: reads integers and the CPU number, no more.
pub(crate) fn ignore_vmxoff() -> bool {
    *module_parameters::inject_ignore_vmxoff.value() != 0
        && *module_parameters::inject_cpu.value() == kernel::cpu::CpuId::current().as_u32()
}

/// Whether a hand-over is to start once every CPU is under rvmm.
pub(crate) fn hand_over() -> bool {
    *module_parameters::inject_hand_over.value() != 0
}

/// Whether set-up should act as if IA32_VMX_BASIC bit 55 were clear.
pub(crate) fn no_true_controls() -> bool {
    *module_parameters::inject_no_true_controls.value() != 0
}

/// `value`, as RDMSR of capability MSR `msr` returned it on CPU `cpu`, after what
/// `inject_capability_failure` asks for. Called in IPI context: reads integers, no more.
pub(crate) fn capability(cpu: u32, msr: u32, value: Option<u64>) -> Option<u64> {
    if *module_parameters::inject_cpu.value() != cpu {
        return value;
    }
    match (*module_parameters::inject_capability_failure.value(), msr) {
        (1, 0x485) => value.map(|v| v ^ 1),
        (2, 0x48a) => None,
        _ => value,
    }
}

/// The field value `corrupt_vmcs` replaced and the one it wrote, for the log.
static CORRUPTED: [Atomic<u64>; 2] = [Atomic::new(0), Atomic::new(0)];
/// 1 from the corruption until [`undo_vmcs_corruption`] put the old value back.
static UNDO_PENDING: Atomic<u32> = Atomic::new(0);

/// Applies `inject_vmcs_corruption` to the current VMCS if this is `inject_cpu`. Called in IPI
/// context on that CPU, in VMX root operation: reads integers, one VMREAD and one VMWRITE.
pub(crate) fn corrupt_vmcs(cpu: u32) {
    if *module_parameters::inject_cpu.value() != cpu {
        return;
    }
    let Some(corruption) =
        vmcs_corruption::corruption(*module_parameters::inject_vmcs_corruption.value())
    else {
        return;
    };
    let old = hw::vmread(corruption.field);
    let new = corruption.edit.apply(old);
    // A failed VMWRITE leaves the VMCS valid; the log then shows that nothing changed.
    let written = hw::vmwrite(corruption.field, new).is_ok();
    CORRUPTED[0].store(old, Relaxed);
    CORRUPTED[1].store(if written { new } else { old }, Relaxed);
    UNDO_PENDING.store(u32::from(written), Relaxed);
}

/// Puts back the field `corrupt_vmcs` changed, after the VM entry failed on it and before rvmm
/// leaves VMX on this CPU: leaving restores the guest state from the VMCS, which must be the
/// kernel's own (a corrupted CR0 or RFLAGS would become the CPU's). Root mode: integers and one
/// VMWRITE. Only the CPU that was corrupted finds one pending.
pub(crate) fn undo_vmcs_corruption() {
    if UNDO_PENDING.load(Relaxed) == 0 {
        return;
    }
    UNDO_PENDING.store(0, Relaxed);
    if let Some(corruption) =
        vmcs_corruption::corruption(*module_parameters::inject_vmcs_corruption.value())
    {
        hw::vmwrite_in_exit(corruption.field, CORRUPTED[0].load(Relaxed));
    }
}

/// Logs what `corrupt_vmcs` changed, once set-up is over.
pub(crate) fn report_vmcs_corruption() {
    let k = *module_parameters::inject_vmcs_corruption.value();
    if let Some(corruption) = vmcs_corruption::corruption(k) {
        pr_info!(
            "injected VMCS corruption {k} on CPU{}: {} {:#x} -> {:#x}\n",
            *module_parameters::inject_cpu.value(),
            corruption.name,
            CORRUPTED[0].load(Relaxed),
            CORRUPTED[1].load(Relaxed)
        );
    }
}
