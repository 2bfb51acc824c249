// SPDX-License-Identifier: GPL-2.0

//! rvmm on every online CPU: virtualize them all or none, and give them back.

use crate::{
    cpus::{self, HotplugGuard},
    exit_counters::ExitCounters,
    exit_observer::{Kind, Observers},
    fault_injection, hand_over, hotplug, hw,
    vcpu::{Step, Vcpu, FAULTED, INJECTED, VMFAIL_INVALID},
    vmcs_setup::Shared,
    vmx::{
        capabilities::Capabilities, exit_reason::ENTRY_FAILURE, hypercall, instruction_error,
        observe::Command, support,
    },
};
use kernel::{
    cpu,
    prelude::*,
    time::{Instant, Monotonic},
};

extern "C" {
    // asm/shim.c
    fn rvmm_sync_yield_reports();
}

pub(crate) struct Hypervisor {
    shared: KBox<Shared>,
    /// Indexed by CPU id; `Some` for every possible CPU, so that one coming online later finds its
    /// VMCS ready (as KVM allocates one per possible CPU).
    vcpus: KVec<Option<KBox<Vcpu>>>,
    /// Virtualizes CPUs that come online and devirtualizes those that go offline.
    hotplug: Option<hotplug::Registration>,
    /// The latency histograms and exit trace every Vcpu records into.
    observers: Pin<KBox<Observers>>,
}

impl Hypervisor {
    /// Virtualizes every online CPU and follows CPU hotplug from then on. If any CPU fails, every
    /// CPU that succeeded is devirtualized, all memory is freed, and the error names the CPU, the
    /// step and the VM-instruction error.
    pub(crate) fn start(
        capabilities: &Capabilities,
        counters: &ExitCounters,
        hotplug: &HotplugGuard,
    ) -> Result<KBox<Self>> {
        let shared = Shared::new(capabilities)?;
        fault_injection::allocation()?;
        let shared = KBox::new(shared, GFP_KERNEL)?;
        let possible = cpus::possible();
        fault_injection::allocation()?;
        let observers = KBox::pin_init(Observers::new(), GFP_KERNEL)?;
        fault_injection::allocation()?;
        let mut vcpus = KVec::with_capacity(cpu::nr_cpu_ids() as usize, GFP_KERNEL)?;
        for id in 0..cpu::nr_cpu_ids() {
            let vcpu = if possible.clone().any(|c| c == id) {
                Some(Vcpu::new(&shared, counters.row(id), &observers, id)?)
            } else {
                None
            };
            vcpus.push(vcpu, GFP_KERNEL)?;
        }
        // Boxed: the hotplug callbacks find it by address.
        fault_injection::allocation()?;
        let mut this = KBox::new(
            Self {
                shared,
                vcpus,
                hotplug: None,
                observers,
            },
            GFP_KERNEL,
        )?;
        cpus::on_each_online(&|cpu: cpu::CpuId| {
            if let Some(vcpu) = this.vcpu(cpu.as_u32()) {
                vcpu.launch(&this.shared, cpu.as_u32());
            }
        });

        fault_injection::report_vmcs_corruption();
        let first_failure = this
            .iter()
            .find_map(|(id, v)| v.failure().map(|f| (id, v, f)));
        if let Some((id, vcpu, (step, error))) = first_failure {
            let count = this.iter().filter(|(_, v)| v.failure().is_some()).count();
            report(id, step, error, count);
            this.explain_entry_failure(id, vcpu, step, error);
            // Under the caller's hotplug lock: dropping `this` would take it a second time.
            this.devirtualize(hotplug);
            pr_err!("rolled back: no CPU is left in VMX operation\n");
            return Err(if step == Step::InUse { EBUSY } else { EIO });
        }
        match hotplug::Registration::new(&this, hotplug) {
            Ok(registration) => this.hotplug = Some(registration),
            Err(error) => {
                this.devirtualize(hotplug);
                pr_err!("cannot follow CPU hotplug ({error:?}); rolled back every CPU\n");
                return Err(error);
            }
        }
        if fault_injection::hand_over() {
            pr_info!("injected: a hand-over to another hypervisor\n");
            hand_over::begin();
        }
        Ok(this)
    }

    /// Launches CPU `id`, this one, on its own (hotplug, resume), not as part of a load: if it finds
    /// another hypervisor, no CPU launched after it belongs to the same load, so a hand-over with
    /// no CPU left under rvmm is over (rust/hand_over.rs).
    fn launch_alone(&self, vcpu: &Vcpu, id: u32) {
        vcpu.launch(&self.shared, id);
        if let Some((Step::InUse, _)) = vcpu.failure() {
            hand_over::settle();
        }
    }

    /// Virtualizes CPU `id`, which is coming online (hotplug callback, on that CPU).
    pub(crate) fn virtualize_cpu(&self, id: u32) -> Result {
        let Some(vcpu) = self.vcpu(id) else {
            return Ok(());
        };
        cpus::on_cpu(id, &|| self.launch_alone(vcpu, id))?;
        if let Some((Step::InUse, _)) = vcpu.failure() {
            // rvmm gave the other CPUs to another hypervisor, which comes first (its hotplug
            // state runs before rvmm's): blocking this CPU would only break it.
            pr_warn!("CPU{id} comes online under another hypervisor; rvmm stays off it\n");
            return Ok(());
        }
        if let Some((step, error)) = vcpu.failure() {
            report(id as usize, step, error, 1);
            self.explain_entry_failure(id as usize, vcpu, step, error);
            pr_err!("CPU{id} stays offline: rvmm must run on every online CPU\n");
            return Err(EIO);
        }
        Ok(())
    }

    /// Devirtualizes CPU `id`, which is going offline (hotplug callback, on that CPU).
    pub(crate) fn devirtualize_cpu(&self, id: u32) {
        if let Some(vcpu) = self.vcpu(id) {
            let _ = cpus::on_cpu(id, &|| leave(vcpu));
        }
    }

    /// Names the rules a failed or refused VM entry on CPU `id` broke (rust/entry_checker.rs):
    /// VMfailValid with an invalid control (7) or host-state (8) field, a failed guest-state check,
    /// or the checker's own refusal.
    fn explain_entry_failure(&self, id: usize, vcpu: &Vcpu, step: Step, error: u32) {
        if matches!(
            (step, error),
            (Step::Vmlaunch, 7 | 8) | (Step::GuestState | Step::EntryCheck, _)
        ) {
            self.shared.facts.log(id, &vcpu.entry_vmcs());
        }
    }

    pub(crate) fn observers(&self) -> &Observers {
        &self.observers
    }

    /// Applies a command written to the latency or trace file. Switching one on or off points
    /// HOST_RIP of every CPU under rvmm at the exit stub that now applies; a CPU launched later
    /// (hotplug, resume) takes it from the observers' state.
    pub(crate) fn observe(&self, kind: Kind, command: Command) -> Result {
        let observers = &*self.observers;
        let _serialized = observers.commands.lock();
        match command {
            Command::On => observers.switch_on(kind)?,
            Command::Off => observers.switch_off(kind),
            Command::Reset => {
                observers.reset(kind);
                return Ok(());
            }
        }
        let function = if observers.any_on() {
            hypercall::OBSERVE
        } else {
            hypercall::UNOBSERVE
        };
        // No CPU comes or goes while every online one is switched; one launched before takes the
        // state set above, one launched after takes it too (`commands` keeps it from changing).
        let _hotplug = HotplugGuard::lock();
        cpus::on_each_online(&|cpu: cpu::CpuId| {
            if self.vcpu(cpu.as_u32()).is_some_and(|v| v.running()) {
                // SAFETY: this CPU runs under rvmm (its Vcpu says so, and only this CPU changes
                // that); the hypercall changes nothing the kernel sees but RAX.
                unsafe { hw::vmcall(function) };
            }
        });
        Ok(())
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
        self.devirtualize_online();
    }

    /// Devirtualizes every online CPU that runs under rvmm; the caller keeps the set of online CPUs
    /// stable (the hotplug lock, or a system on its way down).
    pub(crate) fn devirtualize_online(&self) {
        cpus::on_each_online(&|cpu: cpu::CpuId| {
            if let Some(vcpu) = self.vcpu(cpu.as_u32()) {
                leave(vcpu);
            }
        });
    }

    /// Devirtualizes the calling CPU, whose interrupts are off (syscore suspend).
    pub(crate) fn devirtualize_this_cpu(&self) {
        if let Some(vcpu) = self.vcpu(cpu::CpuId::current().as_u32()) {
            leave(vcpu);
        }
    }

    /// Virtualizes the calling CPU again, whose interrupts are off (syscore resume). A failure is
    /// logged and leaves the CPU native.
    pub(crate) fn virtualize_this_cpu(&self) {
        let id = cpu::CpuId::current().as_u32();
        if let Some(vcpu) = self.vcpu(id) {
            self.launch_alone(vcpu, id);
            if let Some((step, error)) = vcpu.failure() {
                report(id as usize, step, error, 1);
                self.explain_entry_failure(id as usize, vcpu, step, error);
                pr_err!("CPU{id} runs without rvmm after resume; reload rvmm to cover it\n");
            }
        }
    }
}

/// Takes the calling CPU, whose Vcpu this is, out of VMX operation if it runs under rvmm.
fn leave(vcpu: &Vcpu) {
    if vcpu.running() {
        // SAFETY: this CPU runs under rvmm (its Vcpu says so), and DEVIRTUALIZE returns here with
        // the CPU outside VMX operation, every register as it was.
        unsafe { hw::vmcall(hypercall::DEVIRTUALIZE) };
    }
}

/// Logs why set-up failed on CPU `id` (and on `count` CPUs in all).
fn report(id: usize, step: Step, error: u32, count: usize) {
    match (step, error) {
        (Step::InUse, _) => pr_err!(
            "CPU{id}: another hypervisor (such as kvm_intel) entered VMX operation while rvmm was loading \
             ({count} CPU(s)); unload it first (rmmod kvm_intel)\n"
        ),
        (Step::EntryCheck, broken) => pr_err!(
            "CPU{id}: the VMCS breaks {broken} VM-entry rule(s), so rvmm did not launch it (check_vmcs=1; \
             {count} CPU(s) failed); please report this with the kernel log\n"
        ),
        (Step::FeatureControl, _) => pr_err!(
            "CPU{id}: IA32_FEATURE_CONTROL does not allow VMX ({count} CPU(s) failed): {}\n",
            support::Unusable::DisabledByFirmware.advice()
        ),
        (Step::Vmxon, FAULTED) => pr_err!(
            "CPU{id}: VMXON faulted ({count} CPU(s) failed): this CPU's firmware settings forbid VMX; \
             enable VT-x in the firmware setup for every CPU\n"
        ),
        (Step::FixedBits, _) => pr_err!(
            "CPU{id}: CR0/CR4 do not meet the VMX fixed-bit requirements ({count} CPU(s) failed)\n"
        ),
        (Step::GuestState, reason) => pr_err!(
            "CPU{id}: VM entry failed on guest state (exit reason {reason:#x}, {count} CPU(s) failed); \
             please report this with the kernel log\n"
        ),
        (_, INJECTED) => pr_err!(
            "CPU{id}: {} failed, injected by inject_step_failure ({count} CPU(s) failed)\n",
            step.name()
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
}

impl Drop for Hypervisor {
    /// Devirtualizes every CPU that still runs under rvmm, then frees everything.
    fn drop(&mut self) {
        let cpus = self.cpus();
        if cpus != 0 || self.hotplug.is_some() {
            let start = Instant::<Monotonic>::now();
            let hotplug = HotplugGuard::lock();
            if let Some(registration) = self.hotplug.take() {
                registration.remove(&hotplug);
            }
            self.devirtualize(&hotplug);
            drop(hotplug);
            pr_info!(
                "devirtualized {cpus} CPUs in {} us\n",
                start.elapsed().as_micros_ceil()
            );
        }
        // SAFETY: process context; waits for the reports of CPUs handed to another hypervisor.
        unsafe { rvmm_sync_yield_reports() };
        for (id, vcpu) in self.iter() {
            if vcpu.yielded() {
                continue;
            }
            if vcpu.stopped_by() != 0 {
                pr_warn!(
                    "CPU{id} had left VMX on its own after exit reason {:#x}\n",
                    vcpu.stopped_by()
                );
                // A failure at set-up was explained when it was reported.
                if vcpu.stopped_by() & ENTRY_FAILURE != 0 && vcpu.failure().is_none() {
                    self.shared.facts.log(id, &vcpu.entry_vmcs());
                }
            }
        }
    }
}
