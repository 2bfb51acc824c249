// SPDX-License-Identifier: GPL-2.0

//! VM-exit counters per CPU and basic exit reason, shown in `/sys/kernel/debug/rvmm/exits`.
//!
//! Each CPU only ever increments its own row, so a relaxed atomic add is as cheap as a per-CPU
//! counter and needs no lock in VMX root mode; rows are cache-line aligned so CPUs do not share lines.

use crate::{
    cpus, fault_injection,
    vmx::{exit_reason, exit_table},
};
use kernel::{
    cpu, fmt,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

#[repr(align(64))]
struct Row([Atomic<u64>; exit_reason::COUNT]);

pub(crate) struct ExitCounters {
    /// Indexed by CPU id.
    rows: KVec<Row>,
}

impl ExitCounters {
    /// Bytes of counters per possible CPU.
    pub(crate) const MEMORY_PER_CPU: usize = size_of::<Row>();

    pub(crate) fn new() -> Result<Self> {
        fault_injection::allocation()?;
        let mut rows = KVec::with_capacity(cpu::nr_cpu_ids() as usize, GFP_KERNEL)?;
        for _ in 0..cpu::nr_cpu_ids() {
            rows.push(Row(core::array::from_fn(|_| Atomic::new(0))), GFP_KERNEL)?;
        }
        Ok(Self { rows })
    }

    /// CPU `cpu`'s row, for its exit handler to count into without a lock.
    pub(crate) fn row(&self, cpu: u32) -> *const [Atomic<u64>; exit_reason::COUNT] {
        &self.rows[cpu as usize].0
    }

    fn count(&self, cpu: u32, reason: usize) -> u64 {
        self.rows
            .get(cpu as usize)
            .map_or(0, |row| row.0[reason].load(Relaxed))
    }

    /// Zeroes every counter (the exits file's `0`).
    pub(crate) fn reset(&self) {
        for counter in self.rows.iter().flat_map(|row| row.0.iter()) {
            counter.store(0, Relaxed);
        }
    }

    /// Renders the table (debugfs read callback).
    pub(crate) fn show(&self, f: &mut impl fmt::Write) -> fmt::Result {
        exit_table::write(f, cpus::possible(), |cpu, reason| self.count(cpu, reason))
    }
}
