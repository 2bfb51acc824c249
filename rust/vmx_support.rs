// SPDX-License-Identifier: GPL-2.0

//! Refuses to load unless every online CPU can enter VMX operation, with the same VMX capabilities.

use crate::{
    cpus, fault_injection, hw,
    vmx::{
        capabilities::{self, Capabilities, Unreadable},
        support,
    },
};
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

/// What one CPU found in its IPI: its verdict and, if it can use VMX, its capability MSRs.
struct CpuReport {
    verdict: Atomic<u32>,
    /// The capability MSR that could not be read, or 0.
    unreadable: Atomic<u32>,
    /// Bit i: `values[i]` holds a value (the CPU has that MSR).
    present: Atomic<u32>,
    values: [Atomic<u64>; capabilities::COUNT],
}

impl CpuReport {
    fn new() -> Self {
        Self {
            verdict: Atomic::new(NOT_RUN),
            unreadable: Atomic::new(0),
            present: Atomic::new(0),
            values: core::array::from_fn(|_| Atomic::new(0)),
        }
    }

    /// Runs on the CPU this report belongs to, in IPI context: reads, no more.
    fn fill(&self, cpu: u32) {
        let verdict = check_this_cpu();
        self.verdict.store(encode(verdict), Relaxed);
        if verdict.is_err() {
            return;
        }
        match Capabilities::read(|msr| fault_injection::capability(cpu, msr, hw::rdmsr_safe(msr))) {
            Ok(caps) => {
                let mut present = 0;
                for (i, value) in caps.raw().into_iter().enumerate() {
                    if let Some(value) = value {
                        self.values[i].store(value, Relaxed);
                        present |= 1 << i;
                    }
                }
                self.present.store(present, Relaxed);
            }
            Err(Unreadable::Msr(msr)) => self.unreadable.store(msr, Relaxed),
        }
    }

    fn capabilities(&self) -> Capabilities {
        let present = self.present.load(Relaxed);
        Capabilities::from_raw(core::array::from_fn(|i| {
            (present >> i & 1 != 0).then(|| self.values[i].load(Relaxed))
        }))
    }
}

/// Checks every online CPU; on failure logs which CPUs and what to do, and returns a distinct errno
/// per reason. Returns the number of CPUs checked and their VMX capabilities, the same on every one
/// (SDM Vol. 3D, Appendix A: rvmm builds one set of controls for all). The caller holds the hotplug
/// lock.
pub(crate) fn check_online_cpus(_hotplug: &cpus::HotplugGuard) -> Result<(u32, Capabilities)> {
    fault_injection::allocation()?;
    let mut reports = KVec::with_capacity(cpu::nr_cpu_ids() as usize, GFP_KERNEL)?;
    for _ in 0..cpu::nr_cpu_ids() {
        reports.push(CpuReport::new(), GFP_KERNEL)?;
    }
    cpus::on_each_online(&|cpu: cpu::CpuId| reports[cpu.as_u32() as usize].fill(cpu.as_u32()));

    let mut checked = 0;
    let mut first_failure = None;
    let mut failures = 0;
    for (id, report) in reports.iter().enumerate() {
        let code = report.verdict.load(Relaxed);
        if code != NOT_RUN {
            checked += 1;
        }
        if let Some(reason) = decode(code) {
            failures += 1;
            first_failure.get_or_insert((id, reason));
        }
    }
    if let Some((id, reason)) = first_failure {
        pr_err!(
            "cannot use VMX on CPU{id} ({failures} of {checked} CPUs affected): {}\n",
            reason.advice()
        );
        return Err(errno(reason));
    }

    let mut reference: Option<(usize, Capabilities)> = None;
    for (id, report) in reports.iter().enumerate() {
        if report.verdict.load(Relaxed) == NOT_RUN {
            continue;
        }
        let msr = report.unreadable.load(Relaxed);
        if msr != 0 {
            pr_err!(
                "cannot use VMX on CPU{id}: reading {} ({msr:#x}) faulted, although the CPU's other VMX capability MSRs say it exists; check for a firmware or microcode update\n",
                capabilities::name(msr)
            );
            return Err(EIO);
        }
        let caps = report.capabilities();
        match &reference {
            None => reference = Some((id, caps)),
            Some((first, first_caps)) => {
                if let Some((msr, theirs, ours)) = first_caps.first_difference(&caps) {
                    pr_err!(
                        "cannot use VMX: CPU{id} reports {} ({msr:#x}) as {ours:#x?}, CPU{first} as {theirs:#x?}; rvmm needs the same VMX capabilities on every CPU (check that firmware and microcode are the same on all)\n",
                        capabilities::name(msr)
                    );
                    return Err(EIO);
                }
            }
        }
    }
    let (_, caps) = reference.ok_or(ENODEV)?;
    Ok((checked, caps))
}
