// SPDX-License-Identifier: GPL-2.0

//! CPUs that come and go while rvmm is loaded, followed as KVM follows them:
//!
//! - CPU hotplug, through a dynamic `CPUHP_AP_ONLINE_DYN` state whose callbacks run on the CPU
//!   concerned: a CPU going offline leaves VMX operation first, so that it dies and is later woken
//!   by INIT/SIPI natively; a CPU coming online is virtualized.
//! - Suspend and resume (syscore, on the last CPU, interrupts off; the others went offline through
//!   hotplug): VMX state does not survive S3, so that CPU leaves VMX and re-enters it on resume.
//! - Shutdown, reboot and kexec (syscore shutdown): every CPU leaves VMX, because VMX operation
//!   blocks INIT, with which firmware or the next kernel takes the CPUs back.

use crate::{cpus::HotplugGuard, hypervisor::Hypervisor};
use core::ptr;
use kernel::{
    bindings,
    ffi::{c_int, c_uint},
    prelude::*,
    sync::atomic::{Acquire, Atomic, Release},
};

extern "C" {
    // asm/shim.c
    fn rvmm_register_syscore();
    fn rvmm_unregister_syscore();
}

/// The hypervisor the callbacks act for: set before the state is registered, cleared after it is
/// removed.
static HYPERVISOR: Atomic<*const Hypervisor> = Atomic::new(ptr::null());

/// rvmm's registered hotplug state; removed with [`Registration::remove`].
pub(crate) struct Registration(c_int);

impl Registration {
    /// Registers the callbacks for CPUs that come online or go offline from now on; the caller
    /// holds the hotplug lock, so none does meanwhile. `hypervisor` must stay where it is until
    /// [`Registration::remove`].
    pub(crate) fn new(hypervisor: &Hypervisor, hotplug: &HotplugGuard) -> Result<Self> {
        HYPERVISOR.store(ptr::from_ref(hypervisor), Release);
        // SAFETY: the name is a static C string; the callbacks match `cpuhp` callbacks; the caller
        // holds the hotplug read lock, as the `_cpuslocked` variant requires; `invoke` is false
        // because the online CPUs are virtualized already.
        let state = unsafe {
            bindings::__cpuhp_setup_state_cpuslocked(
                bindings::cpuhp_state_CPUHP_AP_ONLINE_DYN,
                c"rvmm:online".as_char_ptr(),
                false,
                Some(cpu_online),
                Some(cpu_offline),
                false,
            )
        };
        if state < 0 {
            HYPERVISOR.store(ptr::null(), Release);
            return Err(Error::from_errno(state));
        }
        // SAFETY: registers the shim's static syscore callbacks, removed in `remove`.
        unsafe { rvmm_register_syscore() };
        // As KVM does: a reboot that began before the registration would not call shutdown.
        // SAFETY: a plain read of a kernel global that only changes on the way down.
        let state_now = unsafe { bindings::system_state };
        if matches!(
            state_now,
            bindings::system_states_SYSTEM_HALT
                | bindings::system_states_SYSTEM_POWER_OFF
                | bindings::system_states_SYSTEM_RESTART
        ) {
            Self(state).remove(hotplug);
            return Err(EBUSY);
        }
        Ok(Self(state))
    }

    /// Stops the callbacks; once this returns, none runs or will run.
    pub(crate) fn remove(self, _hotplug: &HotplugGuard) {
        // SAFETY: the callbacks this registration set up; the caller holds the hotplug read lock.
        unsafe {
            rvmm_unregister_syscore();
            bindings::__cpuhp_remove_state_cpuslocked(self.0, false);
        }
        HYPERVISOR.store(ptr::null(), Release);
    }
}

/// The registered hypervisor, if any.
fn hypervisor<'a>() -> Option<&'a Hypervisor> {
    // SAFETY: the pointer is set while the Hypervisor is registered, and it outlives its
    // registration; callbacks only run while the state is registered.
    unsafe { HYPERVISOR.load(Acquire).as_ref() }
}

/// Startup callback, on the CPU coming online: virtualize it, or fail its bring-up.
extern "C" fn cpu_online(cpu: c_uint) -> c_int {
    match hypervisor().map(|h| h.virtualize_cpu(cpu)) {
        Some(Err(error)) => error.to_errno(),
        _ => 0,
    }
}

/// Teardown callback, on the CPU going offline: give it back to the kernel first.
extern "C" fn cpu_offline(cpu: c_uint) -> c_int {
    if let Some(hypervisor) = hypervisor() {
        hypervisor.devirtualize_cpu(cpu);
    }
    0
}

/// Syscore suspend, on the last online CPU with interrupts off: leave VMX, which S3 would lose.
#[no_mangle]
extern "C" fn rvmm_syscore_suspend() -> c_int {
    if let Some(hypervisor) = hypervisor() {
        hypervisor.devirtualize_this_cpu();
    }
    0
}

/// Syscore resume, on the same CPU with interrupts off: virtualize it again.
#[no_mangle]
extern "C" fn rvmm_syscore_resume() {
    if let Some(hypervisor) = hypervisor() {
        hypervisor.virtualize_this_cpu();
    }
}

/// Syscore shutdown (reboot, power-off, kexec): every CPU leaves VMX.
#[no_mangle]
extern "C" fn rvmm_syscore_shutdown() {
    if let Some(hypervisor) = hypervisor() {
        hypervisor.devirtualize_online();
    }
}
