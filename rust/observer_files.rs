// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/rvmm/latency` and `/sys/kernel/debug/rvmm/trace` (created by the C shim, as
//! the exits file is): the exit latency histograms (rust/vmx/exit_latency.rs gives the format) and
//! the exit trace (rust/vmx/exit_trace.rs). Each write(2) is one command: `on`, `off` or `0` (reset);
//! anything else is -EINVAL and changes nothing.

use crate::{
    cpus,
    exit_observer::Kind,
    exits_file::{read_command, SeqWriter},
    hypervisor::Hypervisor,
    vmx::{exit_latency, exit_trace, observe},
};
use core::ffi::c_void;
use kernel::{bindings, fmt, prelude::*, seq_file::SeqFile};

extern "C" {
    // asm/shim.c
    // `struct seq_file *`, opaque here.
    fn rvmm_seq_print_symbol(m: *mut c_void, address: usize);
}

/// The shim's numbering of the two files.
fn kind(number: i32) -> Option<Kind> {
    match number {
        0 => Some(Kind::Latency),
        1 => Some(Kind::Trace),
        _ => None,
    }
}

fn show(m: *mut bindings::seq_file, hypervisor: &Hypervisor, kind: Kind) -> Result {
    // SAFETY: `m` is the seq_file being shown (the caller's contract).
    let mut out = SeqWriter(unsafe { SeqFile::from_raw(m) });
    let observers = hypervisor.observers();
    let on = observers.is_on(kind);
    match kind {
        Kind::Latency => exit_latency::write(&mut out, on, cpus::possible(), |cpu, reason| {
            observers.summary(cpu, reason)
        })
        .map_err(|_| EINVAL),
        Kind::Trace => {
            exit_trace::write_header(&mut out, on).map_err(|_| EINVAL)?;
            for cpu in cpus::possible() {
                observers.for_each_record(cpu, |record| {
                    exit_trace::write_record(&mut out, cpu, record).map_err(|_| EINVAL)?;
                    if exit_trace::kernel_rip(record) {
                        // SAFETY: `m` as above; %pS only looks the address up, never through it.
                        unsafe { rvmm_seq_print_symbol(m.cast(), record.rip as usize) };
                        Ok(())
                    } else {
                        fmt::Write::write_fmt(&mut out, format_args!("{:#x}\n", record.rip))
                            .map_err(|_| EINVAL)
                    }
                })?;
            }
            Ok(())
        }
    }
}

/// The files' show callback (shim `RVMM_OBSERVER_FILE`).
///
/// # Safety
///
/// `m` is the seq_file being shown and `hypervisor` the pointer given to `rvmm_debugfs_create`.
#[no_mangle]
unsafe extern "C" fn rvmm_observer_show(
    m: *mut bindings::seq_file,
    hypervisor: *const c_void,
    number: i32,
) -> i32 {
    // SAFETY: by the function's contract; the files are removed before the hypervisor is freed.
    let hypervisor = unsafe { &*hypervisor.cast::<Hypervisor>() };
    match kind(number)
        .ok_or(EINVAL)
        .and_then(|k| show(m, hypervisor, k))
    {
        Ok(()) => 0,
        Err(error) => error.to_errno(),
    }
}

/// The files' write callback: one command per write.
///
/// # Safety
///
/// `hypervisor` is the pointer given to `rvmm_debugfs_create`; `buf` and `len` describe the user
/// buffer of the write.
#[no_mangle]
unsafe extern "C" fn rvmm_observer_write(
    hypervisor: *const c_void,
    number: i32,
    buf: usize,
    len: usize,
) -> isize {
    // SAFETY: as for `rvmm_observer_show`.
    let hypervisor = unsafe { &*hypervisor.cast::<Hypervisor>() };
    let result = kind(number).ok_or(EINVAL).and_then(|kind| {
        let command = read_command::<{ observe::MAX_LEN }, _>(buf, len, observe::parse)?;
        hypervisor.observe(kind, command)
    });
    match result {
        Ok(()) => len as isize,
        Err(error) => error.to_errno() as isize,
    }
}
