// SPDX-License-Identifier: GPL-2.0

//! rvmm: a thin Intel VT-x hypervisor that virtualizes the running kernel.

use kernel::{debugfs, prelude::*};

mod cpus;
mod exit;
mod exit_counters;
mod guest_regs;
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
}

struct Rvmm {
    // Dropped in this order: every CPU is devirtualized before the counters it counts into go, and
    // the file goes before its directory.
    _hypervisor: hypervisor::Hypervisor,
    _exits: Pin<KBox<debugfs::File<exit_counters::ExitCounters>>>,
    _debugfs: debugfs::Dir,
}

impl kernel::Module for Rvmm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let hotplug = cpus::HotplugGuard::lock();
        vmx_support::check_online_cpus(&hotplug)?;

        let dir = debugfs::Dir::new(c"rvmm");
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
            "virtualized {} CPUs; exit counters: /sys/kernel/debug/rvmm/exits\n",
            hypervisor.cpus()
        );
        Ok(Self {
            _hypervisor: hypervisor,
            _exits: exits,
            _debugfs: dir,
        })
    }
}

impl Drop for Rvmm {
    fn drop(&mut self) {
        pr_info!("devirtualized every CPU; unloaded\n");
    }
}
