// SPDX-License-Identifier: GPL-2.0

//! rvmm: a thin Intel VT-x hypervisor that virtualizes the running kernel.

use kernel::{
    prelude::*,
    time::{Instant, Monotonic},
};

mod cpus;
mod entry_checker;
mod exit;
mod exit_counters;
mod exit_observer;
mod exits_file;
mod fault_injection;
mod guest_regs;
mod hand_over;
mod hotplug;
mod hw;
mod hypervisor;
mod observer_files;
mod vcpu;
mod vmcs_setup;
// Shared with the host crate that `cargo test` builds, where `pub` is that crate's interface.
#[allow(unreachable_pub)]
mod vmx;
mod vmx_support;

module! {
    type: Rvmm,
    name: "rvmm",
    authors: ["rvmm developers"],
    description: "Thin Intel VT-x hypervisor that virtualizes the running kernel",
    license: "GPL",
    params: {
        check_vmcs: u32 {
            default: 0,
            description: "1: check each VMCS against the VM-entry rules of SDM Vol. 3C chapter 27 before VMLAUNCH and refuse one that breaks a rule, naming it",
        },
        inject_alloc_failure: u32 {
            default: 0,
            description: "Testing: make the Nth allocation of set-up fail (0: none)",
        },
        inject_step_failure: u32 {
            default: 0,
            description: "Testing: make a set-up step fail on inject_cpu: 2 VMXON, 3 VMCLEAR, 4 VMPTRLD, 5 VMWRITE, 6 VMLAUNCH, 10 the IA32_FEATURE_CONTROL check (0: none)",
        },
        inject_vmxon_fault: u32 {
            default: 0,
            description: "Testing: 1 makes VMXON on inject_cpu raise #UD (run without CR4.VMXE)",
        },
        inject_cpu: u32 {
            default: 0,
            description: "Testing: the CPU on which inject_step_failure, inject_vmxon_fault, inject_capability_failure, inject_vmcs_corruption, inject_kernel_entry_failure or inject_ignore_vmxoff applies",
        },
        inject_capability_failure: u32 {
            default: 0,
            description: "Testing: inject_cpu's VMX capabilities 1 differ from the others', 2 cannot be read (0: none)",
        },
        inject_user_entry_failure: u32 {
            default: 0,
            description: "Testing: a VMCALL in user mode makes the next VM entry fail: 1 guest state, 2 entry control (0: none)",
        },
        inject_vmcs_corruption: u32 {
            default: 0,
            description: "Testing: change one VMCS field on inject_cpu before VMLAUNCH, as corruption K of rust/vmx/vmcs_corruption.rs says (0: none)",
        },
        inject_kernel_entry_failure: u32 {
            default: 0,
            description: "Testing: 1 makes a kernel-mode VMCALL of an unknown function on inject_cpu break the VM entry after it (guest state)",
        },
        inject_ignore_vmxoff: u32 {
            default: 0,
            description: "Testing: 1 makes a kernel VMXOFF on inject_cpu succeed without leaving VMX, as without rvmm's crash hook",
        },
        inject_hand_over: u32 {
            default: 0,
            description: "Testing: 1 starts a hand-over once every CPU is under rvmm, as when kvm_intel took one: each CPU then leaves at its next CPUID leaf 1 from the kernel",
        },
        inject_no_true_controls: u32 {
            default: 0,
            description: "Testing: 1 ignores the TRUE capability MSRs, as on CPUs without them (CR3 accesses then exit)",
        },
    },
}

struct Rvmm {
    // Dropped in this order: the debugfs files go first (an open one holds the module, so none is in
    // use), then every CPU is devirtualized and the hypervisor freed with its observers, then the
    // counters go.
    _exits_file: exits_file::ExitsFile,
    _hypervisor: KBox<hypervisor::Hypervisor>,
    _counters: KBox<exit_counters::ExitCounters>,
}

impl kernel::Module for Rvmm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let start = Instant::<Monotonic>::now();
        let hotplug = cpus::HotplugGuard::lock();
        let (_, capabilities) = vmx_support::check_online_cpus(&hotplug)?;
        entry_checker::announce();

        let counters = exit_counters::ExitCounters::new()?;
        fault_injection::allocation()?;
        let counters = KBox::new(counters, GFP_KERNEL)?;
        let hypervisor = hypervisor::Hypervisor::start(&capabilities, &counters, &hotplug)?;
        drop(hotplug);
        let exits_file = exits_file::ExitsFile::new(&counters, &hypervisor);
        pr_info!(
            "virtualized {} CPUs in {} us, {} KiB per CPU; exit counters, latency and trace in /sys/kernel/debug/rvmm/\n",
            hypervisor.cpus(),
            start.elapsed().as_micros_ceil(),
            (vcpu::Vcpu::MEMORY + exit_counters::ExitCounters::MEMORY_PER_CPU).div_ceil(1024)
        );
        Ok(Self {
            _exits_file: exits_file,
            _hypervisor: hypervisor,
            _counters: counters,
        })
    }
}
