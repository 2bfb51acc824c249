// SPDX-License-Identifier: GPL-2.0

//! rvmm: a thin Intel VT-x hypervisor that virtualizes the running kernel.

use kernel::{
    debugfs,
    prelude::*,
    time::{Instant, Monotonic},
};

mod cpus;
mod exit;
mod exit_counters;
mod fault_injection;
mod guest_regs;
mod hotplug;
mod hw;
mod hypervisor;
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
        inject_alloc_failure: u32 {
            default: 0,
            description: "Testing: make the Nth allocation of set-up fail (0: none)",
        },
        inject_step_failure: u32 {
            default: 0,
            description: "Testing: make a set-up step fail on inject_cpu: 2 VMXON, 3 VMCLEAR, 4 VMPTRLD, 5 VMWRITE, 6 VMLAUNCH (0: none)",
        },
        inject_cpu: u32 {
            default: 0,
            description: "Testing: the CPU on which inject_step_failure applies",
        },
    },
}

struct Rvmm {
    // Dropped in this order: every CPU is devirtualized before the counters it counts into go, and
    // the file goes before its directory.
    _hypervisor: KBox<hypervisor::Hypervisor>,
    _exits: Pin<KBox<debugfs::File<exit_counters::ExitCounters>>>,
    _debugfs: debugfs::Dir,
}

impl kernel::Module for Rvmm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let start = Instant::<Monotonic>::now();
        let hotplug = cpus::HotplugGuard::lock();
        vmx_support::check_online_cpus(&hotplug)?;

        let dir = debugfs::Dir::new(c"rvmm");
        fault_injection::allocation()?;
        let exits = KBox::pin_init(
            dir.read_write_callback_file(
                c"exits",
                exit_counters::ExitCounters::new()?,
                &exit_counters::ExitCounters::show,
                &exit_counters::ExitCounters::command,
            ),
            GFP_KERNEL,
        )?;
        let hypervisor = hypervisor::Hypervisor::start(&exits, &hotplug)?;
        drop(hotplug);
        pr_info!(
            "virtualized {} CPUs in {} us, {} KiB per CPU; exit counters: /sys/kernel/debug/rvmm/exits\n",
            hypervisor.cpus(),
            start.elapsed().as_micros_ceil(),
            (vcpu::Vcpu::MEMORY + exit_counters::ExitCounters::MEMORY_PER_CPU).div_ceil(1024)
        );
        Ok(Self {
            _hypervisor: hypervisor,
            _exits: exits,
            _debugfs: dir,
        })
    }
}
