// SPDX-License-Identifier: GPL-2.0

//! The state of a hand-over to another hypervisor, in one word so that its changes are atomic
//! together (rust/hand_over.rs): how many CPUs run under rvmm, and whether those are to leave at
//! their next kernel-mode CPUID leaf 1. It ends with the last CPU's leaving, or, if none is under
//! rvmm once the launch that found another hypervisor is over, then.

/// Bit 31: a hand-over is on; bits 30:0: the CPUs under rvmm.
const HANDING_OVER: u32 = 1 << 31;
const CPUS: u32 = HANDING_OVER - 1;

/// Whether `state` has a hand-over on.
pub fn in_progress(state: u32) -> bool {
    state & HANDING_OVER != 0
}

/// The CPUs under rvmm in `state`.
pub fn cpus(state: u32) -> u32 {
    state & CPUS
}

/// `state` once another hypervisor took a CPU or holds one rvmm was launching: a hand-over of the
/// CPUs under rvmm, and of those that the same load launches after this one.
pub fn begun(state: u32) -> u32 {
    state | HANDING_OVER
}

/// `state` once a launch that may have begun a hand-over is over: none is left if no CPU is.
pub fn settled(state: u32) -> u32 {
    if cpus(state) == 0 {
        0
    } else {
        state
    }
}

/// `state` once a CPU became rvmm's guest.
pub fn entered(state: u32) -> u32 {
    state + 1
}

/// `state` once a CPU left VMX operation: with the last one, the hand-over is over.
pub fn left(state: u32) -> u32 {
    match cpus(state) {
        0 | 1 => 0,
        _ => state - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_over_ends_with_the_last_cpu() {
        let two = entered(entered(0));
        let on = begun(two);
        assert!(in_progress(on) && cpus(on) == 2);
        assert!(in_progress(left(on)) && cpus(left(on)) == 1);
        assert_eq!(left(left(on)), 0);
    }

    #[test]
    fn a_cpu_launched_after_the_hand_over_began_follows() {
        // At load, a CPU finds kvm_intel's VMXE before another CPU launched: that one follows.
        let state = entered(begun(0));
        assert!(in_progress(state) && cpus(state) == 1);
    }

    #[test]
    fn with_no_cpu_under_rvmm_the_hand_over_is_settled() {
        // A hotplug that finds another hypervisor after every CPU went to it: a CPU launched
        // later, once it is gone, is not handed over at its first kernel CPUID.
        assert!(!in_progress(entered(settled(begun(0)))));
        let one = entered(0);
        assert_eq!(settled(begun(one)), begun(one), "CPUs still to hand over");
    }

    #[test]
    fn counting_survives_a_hand_over() {
        let state = entered(begun(entered(0)));
        assert!(in_progress(state) && cpus(state) == 2);
        assert_eq!(cpus(left(state)), 1);
        assert_eq!(left(0), 0, "never below zero");
    }
}
