// SPDX-License-Identifier: GPL-2.0

//! rvmm on every online CPU: virtualize them all or none, and give them back.

use crate::{
    cpus::{self, HotplugGuard},
    exit_counters::ExitCounters,
    hw,
    vcpu::{Step, Vcpu, VMFAIL_INVALID},
    vmcs_setup::Shared,
    vmx::{hypercall, instruction_error},
};
use kernel::{cpu, prelude::*};

pub(crate) struct Hypervisor {
    shared: KBox<Shared>,
    /// Indexed by CPU id; `Some` for the CPUs that were online at load.
    vcpus: KVec<Option<KBox<Vcpu>>>,
}

impl Hypervisor {
    /// Virtualizes every online CPU. If any CPU fails, every CPU that succeeded is devirtualized,
    /// all memory is freed, and the error names the CPU, the step and the VM-instruction error.
    pub(crate) fn start(counters: &ExitCounters, hotplug: &HotplugGuard) -> Result<Self> {
        let shared = KBox::new(Shared::new()?, GFP_KERNEL)?;
        let online = cpus::online();
        let mut vcpus = KVec::with_capacity(cpu::nr_cpu_ids() as usize, GFP_KERNEL)?;
        for id in 0..cpu::nr_cpu_ids() {
            let vcpu = if online.clone().any(|c| c == id) {
                Some(Vcpu::new(&shared, counters.row(id))?)
            } else {
                None
            };
            vcpus.push(vcpu, GFP_KERNEL)?;
        }
        let this = Self { shared, vcpus };
        cpus::on_each_online(&|cpu: cpu::CpuId| {
            if let Some(vcpu) = this.vcpu(cpu.as_u32()) {
                vcpu.launch(&this.shared);
            }
        });

        let first_failure = this.iter().find_map(|(id, v)| v.failure().map(|f| (id, f)));
        if let Some((id, (step, error))) = first_failure {
            let count = this.iter().filter(|(_, v)| v.failure().is_some()).count();
            match (step, error) {
                (Step::FixedBits, _) => pr_err!(
                    "CPU{id}: CR0/CR4 do not meet the VMX fixed-bit requirements ({count} CPU(s) failed)\n"
                ),
                (Step::GuestState, reason) => pr_err!(
                    "CPU{id}: VM entry failed on guest state (exit reason {reason:#x}, {count} CPU(s) failed); \
                     please report this with the kernel log\n"
                ),
                (_, VMFAIL_INVALID) => pr_err!(
                    "CPU{id}: {} failed with VMfailInvalid ({count} CPU(s) failed)\n",
                    step.name()
                ),
                (_, error) => pr_err!(
                    "CPU{id}: {} failed: VM-instruction error {error} ({}) ({count} CPU(s) failed)\n",
                    step.name(),
                    instruction_error::describe(error)
                ),
            }
            // Under the caller's hotplug lock: dropping `this` would take it a second time.
            this.devirtualize(hotplug);
            pr_err!("rolled back: no CPU is left in VMX operation\n");
            return Err(EIO);
        }
        Ok(this)
    }

    fn vcpu(&self, id: u32) -> Option<&Vcpu> {
        self.vcpus.get(id as usize)?.as_deref()
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &Vcpu)> + Clone {
        self.vcpus
            .iter()
            .enumerate()
            .filter_map(|(id, v)| v.as_deref().map(|v| (id, v)))
    }

    pub(crate) fn cpus(&self) -> usize {
        self.iter().filter(|(_, v)| v.running()).count()
    }

    /// Devirtualizes every CPU that still runs under rvmm.
    fn devirtualize(&self, _hotplug: &HotplugGuard) {
        cpus::on_each_online(&|cpu: cpu::CpuId| {
            if let Some(vcpu) = self.vcpu(cpu.as_u32()) {
                if vcpu.running() {
                    // SAFETY: this CPU runs under rvmm (its Vcpu says so), and DEVIRTUALIZE returns
                    // here with the CPU outside VMX operation, every register as it was.
                    unsafe { hw::vmcall(hypercall::DEVIRTUALIZE) };
                }
            }
        });
    }
}

impl Drop for Hypervisor {
    /// Devirtualizes every CPU that still runs under rvmm, then frees everything.
    fn drop(&mut self) {
        if self.cpus() != 0 {
            self.devirtualize(&HotplugGuard::lock());
        }
        for (id, vcpu) in self.iter() {
            if vcpu.stopped_by() != 0 {
                pr_warn!(
                    "CPU{id} had left VMX on its own after exit reason {:#x}\n",
                    vcpu.stopped_by()
                );
            }
        }
    }
}
