// SPDX-License-Identifier: GPL-2.0

//! Running code on every online CPU, and iterating CPU masks.

use kernel::{
    bindings, cpu,
    cpumask::Cpumask,
    error::to_result,
    ffi::{c_int, c_void},
    prelude::*,
};

/// The CPUs set in one of the kernel's static CPU masks.
///
/// # Safety
///
/// `mask` is one of the kernel's global masks (`__cpu_possible_mask`, `__cpu_online_mask`), which
/// live as long as the kernel.
unsafe fn cpus_in(mask: *const bindings::cpumask) -> impl Iterator<Item = u32> + Clone {
    // SAFETY: by the caller's contract.
    let mask = unsafe { Cpumask::from_raw(mask) };
    (0..cpu::nr_cpu_ids()).filter(move |&id| cpu::CpuId::from_u32(id).is_some_and(|c| mask.test(c)))
}

/// The CPUs that can ever be online: the columns of the exit table.
pub(crate) fn possible() -> impl Iterator<Item = u32> + Clone {
    // SAFETY: a kernel global mask, only written during early boot.
    unsafe { cpus_in(&raw const bindings::__cpu_possible_mask) }
}

/// Runs `f` on every online CPU, in IPI context (interrupts off), and waits for all of them.
///
/// The caller holds the CPU hotplug read lock if the set of CPUs must not change meanwhile.
pub(crate) fn on_each_online<F: Fn(cpu::CpuId) + Sync>(f: &F) {
    /// # Safety
    ///
    /// `info` must point to an `F` that lives until every CPU has returned.
    unsafe extern "C" fn trampoline<F: Fn(cpu::CpuId) + Sync>(info: *mut c_void) {
        // SAFETY: `info` is the `&F` passed below, alive until `on_each_cpu_cond_mask` returns
        // because it waits for every CPU; `F: Sync` allows calling it from several CPUs at once.
        let f = unsafe { &*info.cast::<F>() };
        f(cpu::CpuId::current());
    }
    // SAFETY: `trampoline::<F>` matches `smp_call_func_t`; `info` outlives the call since `wait` is
    // true; `__cpu_online_mask` is a static maintained by the kernel.
    unsafe {
        bindings::on_each_cpu_cond_mask(
            None,
            Some(trampoline::<F>),
            core::ptr::from_ref(f).cast_mut().cast(),
            true,
            &raw const bindings::__cpu_online_mask,
        )
    };
}

/// Runs `f` on CPU `id` with interrupts off (directly, if that is the calling CPU) and waits for it.
pub(crate) fn on_cpu<F: Fn() + Sync>(id: u32, f: &F) -> Result {
    /// # Safety
    ///
    /// `info` must point to an `F` that lives until the call has returned.
    unsafe extern "C" fn trampoline<F: Fn() + Sync>(info: *mut c_void) {
        // SAFETY: `info` is the `&F` passed below, alive until `smp_call_function_single` returns
        // because it waits.
        let f = unsafe { &*info.cast::<F>() };
        f();
    }
    let id = c_int::try_from(id).map_err(|_| EINVAL)?;
    // SAFETY: `trampoline::<F>` matches `smp_call_func_t`; `info` outlives the call since `wait` is 1.
    to_result(unsafe {
        bindings::smp_call_function_single(
            id,
            Some(trampoline::<F>),
            core::ptr::from_ref(f).cast_mut().cast(),
            1,
        )
    })
}

/// Holds the CPU hotplug read lock: no CPU comes or goes while it lives.
pub(crate) struct HotplugGuard(());

impl HotplugGuard {
    pub(crate) fn lock() -> Self {
        // SAFETY: may sleep; only called from process context (module init and exit, debugfs
        // writes).
        unsafe { bindings::cpus_read_lock() };
        HotplugGuard(())
    }
}

impl Drop for HotplugGuard {
    fn drop(&mut self) {
        // SAFETY: paired with the `cpus_read_lock` in `lock`.
        unsafe { bindings::cpus_read_unlock() };
    }
}
