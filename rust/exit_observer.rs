// SPDX-License-Identifier: GPL-2.0

//! Exit latency histograms and the exit trace: what `/sys/kernel/debug/rvmm/latency` and
//! `/sys/kernel/debug/rvmm/trace` show.
//!
//! Both are off by default and cost the exit path nothing then: exits land on `rvmm_vmexit`, and
//! only while one of them is on does HOST_RIP point at `rvmm_vmexit_observed` (asm/vmx.S), which
//! reads the TSC at the exit and calls [`Observers::around`] around the handler. Their memory is
//! allocated the first time each is switched on and kept until unload.
//!
//! In root mode each CPU writes only its own histograms and trace ring, with atomics and no lock;
//! readers on other CPUs never hold it up (rust/vmx/exit_trace.rs says how a reader knows a record
//! is whole). A reset or a switch racing with exits may miss or keep the exits in flight, nothing
//! more.

use crate::{
    fault_injection, hw,
    vmx::{
        exit_latency::{self, Summary, BUCKETS},
        exit_reason::COUNT,
        exit_trace::{self, Record},
        fields::{self, Seg},
    },
};
use kernel::{
    alloc::KVVec,
    cpu, new_mutex,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        barrier::{smp_rmb, smp_wmb},
        Mutex,
    },
};

/// Which of the two a command is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Latency,
    Trace,
}

/// A table of atomic words, zeroed or set to one value, allocated once.
struct Words(KVVec<Atomic<u64>>);

impl Words {
    fn new(len: usize) -> Result<Self> {
        fault_injection::allocation()?;
        let mut words = KVVec::with_capacity(len, GFP_KERNEL)?;
        for _ in 0..len {
            words.push(Atomic::new(0), GFP_KERNEL)?;
        }
        Ok(Self(words))
    }
}

// Each CPU's part starts on its own cache line (8 words).
const fn per_cpu_stride(words: usize) -> usize {
    words.next_multiple_of(8)
}

/// Per CPU and basic exit reason: count, min, max, then the buckets.
const CELLS: usize = 3 + BUCKETS;
const LATENCY_STRIDE: usize = per_cpu_stride(COUNT * CELLS);

/// Per CPU: the next record's index, the first index since the last reset, then the slots, each a
/// sequence number and the packed record.
const SLOT_WORDS: usize = 1 + exit_trace::WORDS;
const TRACE_STRIDE: usize = per_cpu_stride(2 + exit_trace::LEN * SLOT_WORDS);

#[pin_data(PinnedDrop)]
pub(crate) struct Observers {
    latency_on: Atomic<bool>,
    trace_on: Atomic<bool>,
    /// Null until switched on the first time; then valid until `drop`.
    latency: Atomic<*const Words>,
    trace: Atomic<*const Words>,
    /// Serializes commands: allocation, switching every CPU's HOST_RIP, reset.
    #[pin]
    pub(crate) commands: Mutex<()>,
}

// SAFETY: the tables are only accessed through atomics, and freed in `drop`, when no CPU runs under
// rvmm any more: the hypervisor devirtualized them all before dropping this, with an IPI to each that
// cannot run before an exit handler in progress there has returned (interrupts are off in root mode).
unsafe impl Send for Observers {}
// SAFETY: as above.
unsafe impl Sync for Observers {}

impl Observers {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            latency_on: Atomic::new(false),
            trace_on: Atomic::new(false),
            latency: Atomic::new(core::ptr::null()),
            trace: Atomic::new(core::ptr::null()),
            commands <- new_mutex!(()),
        })
    }

    #[inline(always)]
    fn slot(&self, kind: Kind) -> &Atomic<*const Words> {
        match kind {
            Kind::Latency => &self.latency,
            Kind::Trace => &self.trace,
        }
    }

    #[inline(always)]
    fn table(&self, kind: Kind) -> Option<&Words> {
        // SAFETY: null, or a table that lives as long as `self` (see `switch_on`).
        unsafe { self.slot(kind).load(Acquire).as_ref() }
    }

    /// CPU `cpu`'s cells for basic exit reason `reason` (count, min, max, buckets), if allocated.
    #[inline(always)]
    fn cells(&self, cpu: usize, reason: usize) -> Option<&[Atomic<u64>]> {
        // A reason past the SDM's list would index the next CPU's cells.
        if reason >= COUNT {
            return None;
        }
        let start = cpu * LATENCY_STRIDE + reason * CELLS;
        self.table(Kind::Latency)?.0.get(start..start + CELLS)
    }

    /// CPU `cpu`'s trace ring, if allocated.
    #[inline(always)]
    fn ring(&self, cpu: usize) -> Option<&[Atomic<u64>]> {
        let start = cpu * TRACE_STRIDE;
        self.table(Kind::Trace)?.0.get(start..start + TRACE_STRIDE)
    }

    fn switch(&self, kind: Kind) -> &Atomic<bool> {
        match kind {
            Kind::Latency => &self.latency_on,
            Kind::Trace => &self.trace_on,
        }
    }

    pub(crate) fn is_on(&self, kind: Kind) -> bool {
        self.switch(kind).load(Acquire)
    }

    /// Whether exits must go through the observing stub.
    pub(crate) fn any_on(&self) -> bool {
        self.is_on(Kind::Latency) || self.is_on(Kind::Trace)
    }

    /// Switches `kind` on, allocating its table the first time. The caller holds `commands`.
    pub(crate) fn switch_on(&self, kind: Kind) -> Result {
        if self.table(kind).is_none() {
            let cpus = cpu::nr_cpu_ids() as usize;
            let words = match kind {
                Kind::Latency => Words::new(cpus * LATENCY_STRIDE)?,
                Kind::Trace => Words::new(cpus * TRACE_STRIDE)?,
            };
            // Initialized before it is published: an exit may record into it right after.
            reset_table(kind, &words);
            let table = KBox::into_raw(KBox::new(words, GFP_KERNEL)?);
            self.slot(kind).store(table, Release);
        }
        // Release, with the exits' Acquire: whoever sees it on finds the table.
        self.switch(kind).store(true, Release);
        Ok(())
    }

    pub(crate) fn switch_off(&self, kind: Kind) {
        self.switch(kind).store(false, Relaxed);
    }

    /// Forgets what `kind` holds.
    pub(crate) fn reset(&self, kind: Kind) {
        if let Some(table) = self.table(kind) {
            reset_table(kind, table);
        }
    }

    /// Runs the exit handler `handle` on CPU `cpu`, whose exit the stub timed at `exit_tsc`, and
    /// records the exit. In root mode, before and after the handler: what describes the exit is
    /// read from the VMCS before the handler may leave VMX operation.
    #[inline(always)]
    pub(crate) fn around<T>(&self, cpu: u32, exit_tsc: u64, handle: impl FnOnce() -> T) -> T {
        let latency = self.is_on(Kind::Latency);
        let reason = hw::vmread(fields::EXIT_REASON) as u32;
        let record = self.is_on(Kind::Trace).then(|| Record {
            tsc: exit_tsc,
            ticks: 0,
            reason,
            cpl: (hw::vmread(Seg::Ss.guest_access_rights()) >> 5 & 3) as u8,
            pid: kernel::current!().pid(),
            rip: hw::vmread(fields::GUEST_RIP),
            qualification: hw::vmread(fields::EXIT_QUALIFICATION),
        });
        let result = handle();
        let ticks = hw::rdtsc().wrapping_sub(exit_tsc);
        if latency {
            self.record_latency(cpu as usize, (reason & 0xffff) as usize, ticks);
        }
        if let Some(mut record) = record {
            record.ticks = ticks.min(u32::MAX.into()) as u32;
            self.record_exit(cpu as usize, &record);
        }
        result
    }

    // Root mode must not panic: every index below is checked with `get`, never by `[]`.
    #[inline(always)]
    fn record_latency(&self, cpu: usize, reason: usize, ticks: u64) {
        let Some([count, min, max, buckets @ ..]) = self.cells(cpu, reason) else {
            return;
        };
        count.add(1, Relaxed);
        if let Some(bucket) = buckets.get(exit_latency::bucket(ticks)) {
            bucket.add(1, Relaxed);
        }
        // Only this CPU writes its min and max (a reset aside), so no compare-and-swap.
        if ticks < min.load(Relaxed) {
            min.store(ticks, Relaxed);
        }
        if ticks > max.load(Relaxed) {
            max.store(ticks, Relaxed);
        }
    }

    /// Appends `record` to CPU `cpu`'s ring, of which it is the only writer.
    #[inline(always)]
    fn record_exit(&self, cpu: usize, record: &Record) {
        let Some(ring @ [head, ..]) = self.ring(cpu) else {
            return;
        };
        let index = head.load(Relaxed);
        let Some([sequence, words @ ..]) = ring_slot(ring, index) else {
            return;
        };
        // Busy, before any of the record changes (the writer's half of the slot's seqlock).
        sequence.store(0, Relaxed);
        smp_wmb();
        for (word, value) in words.iter().zip(record.pack()) {
            word.store(value, Relaxed);
        }
        sequence.store(exit_trace::sequence(index), Release);
        head.store(index.wrapping_add(1), Release);
    }

    /// CPU `cpu`'s latencies for basic exit reason `reason`.
    pub(crate) fn summary(&self, cpu: u32, reason: usize) -> Summary {
        let Some([count, min, max, buckets @ ..]) = self.cells(cpu as usize, reason) else {
            return Summary::EMPTY;
        };
        let mut s = Summary {
            count: count.load(Relaxed),
            min: min.load(Relaxed),
            max: max.load(Relaxed),
            histogram: [0; BUCKETS],
        };
        for (n, cell) in s.histogram.iter_mut().zip(buckets) {
            *n = cell.load(Relaxed);
        }
        s
    }

    /// Calls `f` with each whole record of CPU `cpu`'s ring since the last reset, oldest first,
    /// skipping those the CPU overwrites meanwhile (the reader's half of each slot's seqlock).
    pub(crate) fn for_each_record(&self, cpu: u32, mut f: impl FnMut(&Record) -> Result) -> Result {
        let Some(ring @ [head, reset_at, ..]) = self.ring(cpu as usize) else {
            return Ok(());
        };
        for index in exit_trace::window(head.load(Acquire), reset_at.load(Relaxed)) {
            let Some([sequence, slot_words @ ..]) = ring_slot(ring, index) else {
                continue;
            };
            let expected = sequence.load(Acquire);
            if expected != exit_trace::sequence(index) {
                continue;
            }
            let mut words = [0; exit_trace::WORDS];
            for (value, word) in words.iter_mut().zip(slot_words) {
                *value = word.load(Relaxed);
            }
            smp_rmb();
            if sequence.load(Relaxed) == expected {
                f(&Record::unpack(words))?;
            }
        }
        Ok(())
    }
}

/// The slot of record `index` in a ring (its sequence number, then the packed record), which
/// follows the ring's head and reset mark.
#[inline(always)]
fn ring_slot(ring: &[Atomic<u64>], index: u64) -> Option<&[Atomic<u64>]> {
    let start = 2 + exit_trace::slot(index) * SLOT_WORDS;
    ring.get(start..start + SLOT_WORDS)
}

/// Empties a table: no exits counted (each min above any duration), no records since the last one.
fn reset_table(kind: Kind, t: &Words) {
    for cpu in 0..cpu::nr_cpu_ids() as usize {
        match kind {
            Kind::Latency => {
                let cells = t.0.iter().skip(cpu * LATENCY_STRIDE).take(COUNT * CELLS);
                for (k, word) in cells.enumerate() {
                    word.store(if k % CELLS == 1 { u64::MAX } else { 0 }, Relaxed);
                }
            }
            Kind::Trace => {
                if let Some([head, reset_at, ..]) = t.0.get(cpu * TRACE_STRIDE..) {
                    reset_at.store(head.load(Acquire), Relaxed);
                }
            }
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Observers {
    fn drop(self: Pin<&mut Self>) {
        for table in [&self.latency, &self.trace] {
            let table = table.load(Relaxed).cast_mut();
            if !table.is_null() {
                // SAFETY: made by `KBox::into_raw` in `switch_on`; no CPU is under rvmm any more, so
                // nothing else uses it.
                drop(unsafe { KBox::from_raw(table) });
            }
        }
    }
}
