// SPDX-License-Identifier: GPL-2.0

//! The state of a hand-over to another hypervisor, in one word so that its changes are atomic
//! together (rust/hand_over.rs): how many CPUs run under rvmm, and whether those are to leave at
//! their next kernel-mode CPUID leaf 1. A hand-over exists only while some CPU is under rvmm:
//! it starts with one there and ends with the last one's leaving.

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

/// `state` once another hypervisor took a CPU or holds one rvmm was launching: a hand-over of
/// the CPUs still under rvmm, if there are any.
pub fn begun(state: u32) -> u32 {
    if cpus(state) == 0 {
        state
    } else {
        state | HANDING_OVER
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
    fn no_cpu_under_rvmm_means_no_hand_over() {
        // A hotplug that finds another hypervisor after every CPU went to it.
        assert!(!in_progress(begun(0)));
        // A CPU launched later is not handed over at its first kernel CPUID.
        assert!(!in_progress(entered(begun(0))));
    }

    #[test]
    fn counting_survives_a_hand_over() {
        let state = entered(begun(entered(0)));
        assert!(in_progress(state) && cpus(state) == 2);
        assert_eq!(cpus(left(state)), 1);
        assert_eq!(left(0), 0, "never below zero");
    }
}
