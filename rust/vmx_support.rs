// SPDX-License-Identifier: GPL-2.0

//! Refuses to load unless every online CPU can enter VMX operation.

use crate::{cpus, fault_injection, hw, vmx::support};
use kernel::{
    cpu,
    error::Error,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// Per-CPU verdict codes; `NOT_RUN` marks CPUs that were offline.
const NOT_RUN: u32 = 0;
const USABLE: u32 = 1;

fn encode(verdict: Result<(), support::Unusable>) -> u32 {
    match verdict {
        Ok(()) => USABLE,
        Err(support::Unusable::NoVmx) => 2,
        Err(support::Unusable::DisabledByFirmware) => 3,
        Err(support::Unusable::InUse) => 4,
        Err(support::Unusable::Fred) => 5,
    }
}

fn decode(code: u32) -> Option<support::Unusable> {
    match code {
        2 => Some(support::Unusable::NoVmx),
        3 => Some(support::Unusable::DisabledByFirmware),
        4 => Some(support::Unusable::InUse),
        5 => Some(support::Unusable::Fred),
        _ => None,
    }
}

fn errno(reason: support::Unusable) -> Error {
    match reason {
        support::Unusable::NoVmx => ENODEV,
        // The kernel crate names no EOPNOTSUPP; KVM returns it for the same condition.
        support::Unusable::DisabledByFirmware => {
            Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
        }
        support::Unusable::InUse => EBUSY,
        // Not a property of the CPU but of how the kernel was booted.
        support::Unusable::Fred => EINVAL,
    }
}

/// Checks this CPU (SDM Vol. 3C, 24.6 and 24.7).
fn check_this_cpu() -> Result<(), support::Unusable> {
    let ecx = hw::cpuid(1, 0)[2];
    // IA32_FEATURE_CONTROL only exists where VMX or SMX does, so read it after the CPUID check.
    let feature_control = if ecx & support::CPUID1_ECX_VMX != 0 {
        hw::rdmsr_safe(support::MSR_IA32_FEATURE_CONTROL)
    } else {
        None
    };
    support::check(ecx, feature_control, hw::read_cr4())
}

/// Checks every online CPU; on failure logs which CPUs and what to do, and returns a distinct errno
/// per reason. Returns the number of CPUs checked. The caller holds the hotplug lock.
pub(crate) fn check_online_cpus(_hotplug: &cpus::HotplugGuard) -> Result<u32> {
    fault_injection::allocation()?;
    let mut verdicts = KVec::with_capacity(cpu::nr_cpu_ids() as usize, GFP_KERNEL)?;
    for _ in 0..cpu::nr_cpu_ids() {
        verdicts.push(Atomic::<u32>::new(NOT_RUN), GFP_KERNEL)?;
    }
    cpus::on_each_online(&|cpu: cpu::CpuId| {
        verdicts[cpu.as_u32() as usize].store(encode(check_this_cpu()), Relaxed);
    });

    let mut checked = 0;
    let mut first_failure = None;
    let mut failures = 0;
    for (id, verdict) in verdicts.iter().enumerate() {
        let code = verdict.load(Relaxed);
        if code != NOT_RUN {
            checked += 1;
        }
        if let Some(reason) = decode(code) {
            failures += 1;
            first_failure.get_or_insert((id, reason));
        }
    }
    match first_failure {
        None => Ok(checked),
        Some((id, reason)) => {
            pr_err!(
                "cannot use VMX on CPU{id} ({failures} of {checked} CPUs affected): {}\n",
                reason.advice()
            );
            Err(errno(reason))
        }
    }
}
