// SPDX-License-Identifier: GPL-2.0

//! Handing every CPU to another hypervisor in the kernel once it took one (see `vmxon` and
//! `emulate_cpuid` in rust/exit.rs): the hand-over starts when kvm_intel's VMXON exits to rvmm, or
//! when rvmm finds kvm_intel's CR4.VMXE on a CPU it launches; from then on every CPU under rvmm
//! leaves at its next CPUID leaf 1 from the kernel, with which KVM checks each CPU for VMX before
//! its VMXON there. It ends when no CPU is left under rvmm, so that a CPU rvmm launches later (a
//! hotplug once kvm_intel is gone) is not handed over to nobody (rust/vmx/hand_over.rs). A CPU
//! that rvmm launches in the same load after one found kvm_intel's VMXE hands itself over too.
//!
//! Exit handlers use this in root mode: atomics only, no lock.

use crate::vmx::hand_over;
use kernel::sync::atomic::{Atomic, Relaxed};

static STATE: Atomic<u32> = Atomic::new(0);

/// Applies `change` to the state atomically.
fn update(change: fn(u32) -> u32) {
    let mut state = STATE.load(Relaxed);
    while let Err(now) = STATE.cmpxchg(state, change(state), Relaxed) {
        state = now;
    }
}

/// Another hypervisor took a CPU, or holds one rvmm was launching: the others follow.
pub(crate) fn begin() {
    update(hand_over::begun);
}

/// Whether CPUs under rvmm are to leave at their next kernel-mode CPUID leaf 1.
pub(crate) fn in_progress() -> bool {
    hand_over::in_progress(STATE.load(Relaxed))
}

/// A hotplug launch that found another hypervisor is over: with no CPU under rvmm there is
/// nothing to hand over.
pub(crate) fn settle() {
    update(hand_over::settled);
}

/// A CPU became rvmm's guest.
pub(crate) fn cpu_entered() {
    update(hand_over::entered);
}

/// A CPU left VMX operation, however it left.
pub(crate) fn cpu_left() {
    update(hand_over::left);
}
