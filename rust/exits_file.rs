// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/rvmm/exits`: the exit counters as a table; writing `0` resets them. The
//! directory also holds the latency and trace files (rust/observer_files.rs).
//!
//! The file is created by the C shim rather than with `kernel::debugfs`, whose file operations have
//! no owning module: a file still open at `rmmod` would then call its release operation in freed
//! module memory on close (the stress selftest hit exactly that). With `.owner` set, an open file
//! holds the module, and `rmmod` fails with EBUSY until it is closed, as for any C module.

use crate::{exit_counters::ExitCounters, hypervisor::Hypervisor, vmx::exit_table};
use core::ffi::c_void;
use kernel::{
    bindings, fmt,
    prelude::*,
    seq_file::SeqFile,
    uaccess::{UserPtr, UserSlice},
};

extern "C" {
    // asm/shim.c
    // `struct dentry *`, opaque here: only the shim looks inside.
    fn rvmm_debugfs_create(counters: *const c_void, hypervisor: *const c_void) -> *mut c_void;
    fn rvmm_debugfs_remove(dir: *mut c_void);
}

/// The `rvmm` debugfs directory: its `exits` file shows `counters`, its `latency` and `trace` files
/// the hypervisor's observers.
pub(crate) struct ExitsFile {
    dir: *mut c_void,
}

// SAFETY: the dentry is only used to remove the directory, from any thread.
unsafe impl Send for ExitsFile {}
// SAFETY: as above; `&ExitsFile` allows nothing.
unsafe impl Sync for ExitsFile {}

impl ExitsFile {
    /// Creates the files; `counters` and `hypervisor` must outlive the returned value.
    pub(crate) fn new(counters: &ExitCounters, hypervisor: &Hypervisor) -> Self {
        // SAFETY: `counters` and `hypervisor` outlive the files, which `drop` removes (debugfs then
        // waits for reads and writes in progress); the shim's callbacks only take shared
        // references to them.
        let dir = unsafe {
            rvmm_debugfs_create(
                core::ptr::from_ref(counters).cast(),
                core::ptr::from_ref(hypervisor).cast(),
            )
        };
        Self { dir }
    }
}

impl Drop for ExitsFile {
    fn drop(&mut self) {
        // SAFETY: the directory `new` created (an error pointer or NULL is ignored by debugfs).
        unsafe { rvmm_debugfs_remove(self.dir) };
    }
}

/// Lets the table writer print into a seq_file.
pub(crate) struct SeqWriter<'a>(pub(crate) &'a SeqFile);

impl fmt::Write for SeqWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.call_printf(format_args!("{s}"));
        Ok(())
    }
}

/// The file's show callback (shim `exits_show`).
///
/// # Safety
///
/// `m` is the seq_file being shown and `counters` the pointer given to `rvmm_debugfs_create`.
#[no_mangle]
unsafe extern "C" fn rvmm_exits_show(m: *mut bindings::seq_file, counters: *const c_void) -> i32 {
    // SAFETY: by the function's contract; the file is removed before the counters are freed.
    let (m, counters) = unsafe { (SeqFile::from_raw(m), &*counters.cast::<ExitCounters>()) };
    match counters.show(&mut SeqWriter(m)) {
        Ok(()) => 0,
        Err(_) => EINVAL.to_errno(),
    }
}

/// Reads one write(2) of `len` bytes at user address `buf` as a command: all of it, into a buffer of
/// `N` bytes (a longer write is -EINVAL, a partly unreadable one -EFAULT), then `parse`s it (`None`
/// is -EINVAL). Nothing is applied before the whole write was read. Shared by every rvmm file.
pub(crate) fn read_command<const N: usize, T>(
    buf: usize,
    len: usize,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<T> {
    let mut bytes = [0u8; N];
    let input = bytes.get_mut(..len).ok_or(EINVAL)?;
    UserSlice::new(UserPtr::from_addr(buf), len)
        .reader()
        .read_slice(input)?;
    parse(input).ok_or(EINVAL)
}

/// The file's write callback (shim `exits_write`): one command per write, `0` resets.
///
/// # Safety
///
/// `counters` is the pointer given to `rvmm_debugfs_create`; `buf` and `len` describe the user
/// buffer of the write.
#[no_mangle]
unsafe extern "C" fn rvmm_exits_write(counters: *const c_void, buf: usize, len: usize) -> isize {
    // SAFETY: as for `rvmm_exits_show`.
    let counters = unsafe { &*counters.cast::<ExitCounters>() };
    match read_command::<8, _>(buf, len, exit_table::parse_command) {
        Ok(exit_table::Command::Reset) => {
            counters.reset();
            len as isize
        }
        Err(error) => error.to_errno() as isize,
    }
}
