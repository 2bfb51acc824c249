// SPDX-License-Identifier: GPL-2.0

//! The exit trace: what one record holds, how it is packed into a ring slot, which slots a reader
//! may trust, and the text of `/sys/kernel/debug/rvmm/trace`.
//!
//! Each CPU writes its own ring of [`LEN`] slots in root mode, one record per exit; readers on other
//! CPUs never stop it. A slot carries the sequence number of the record it holds: the writer sets
//! it to 0 before changing the slot and to index + 1 after, so a reader that finds the same
//! expected number before and after copying the slot has a whole record (a seqlock per slot).
//!
//! A header line, then per CPU its records oldest first, whitespace-separated; the guest RIP comes
//! last because a kernel one is symbolized (`%pS`: `func+0x1c/0x50 [module]`):
//!
//! ```text
//! trace on
//! cpu tsc ticks reason cpl pid qualification rip
//! 0 81234567 612 CPUID 3 123 0x0 0x401a2c
//! 0 81239001 580 VMCALL 0 130 0x0 rvmm_ping_init+0x4c/0xb0 [rvmm_ping]
//! ```
//!
//! `ticks` are TSC ticks from the VM exit to the handler's return; `pid` is the task that was
//! running when the guest exited, whatever its mode.

use super::exit_reason;
use core::{
    fmt::{self, Write},
    ops::Range,
};

/// Records each CPU keeps: the last LEN exits.
pub const LEN: usize = 256;

/// Words a record packs into.
pub const WORDS: usize = 5;

/// One VM exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// TSC at the VM exit (the first thing the exit stub does after saving registers).
    pub tsc: u64,
    /// TSC ticks until the handler returned.
    pub ticks: u32,
    /// The full exit-reason field.
    pub reason: u32,
    /// The guest's privilege level (SS.DPL).
    pub cpl: u8,
    pub pid: i32,
    pub rip: u64,
    pub qualification: u64,
}

impl Record {
    pub fn pack(&self) -> [u64; WORDS] {
        [
            self.tsc,
            u64::from(self.ticks) << 32 | u64::from(self.reason),
            u64::from(self.cpl) << 32 | u64::from(self.pid as u32),
            self.rip,
            self.qualification,
        ]
    }

    pub fn unpack(words: [u64; WORDS]) -> Self {
        Record {
            tsc: words[0],
            ticks: (words[1] >> 32) as u32,
            reason: words[1] as u32,
            cpl: (words[2] >> 32) as u8 & 3,
            pid: words[2] as u32 as i32,
            rip: words[3],
            qualification: words[4],
        }
    }
}

/// The slot of record `index`.
pub fn slot(index: u64) -> usize {
    (index % LEN as u64) as usize
}

/// The sequence number a slot carries once record `index` is whole in it; 0 while it is written.
pub fn sequence(index: u64) -> u64 {
    index.wrapping_add(1)
}

/// The records a reader may find in a ring whose next record is `head`, oldest first: the last LEN,
/// none from before the reset that made `reset_at` the first.
pub fn window(head: u64, reset_at: u64) -> Range<u64> {
    head.saturating_sub(LEN as u64).max(reset_at.min(head))..head
}

pub fn write_header(out: &mut impl Write, on: bool) -> fmt::Result {
    writeln!(out, "trace {}", if on { "on" } else { "off" })?;
    writeln!(out, "cpu tsc ticks reason cpl pid qualification rip")
}

/// Writes one record as a line but for its RIP, which the caller writes after it with `rip`: the
/// kernel symbolizes kernel RIPs (CPL 0).
pub fn write_record(out: &mut impl Write, cpu: u32, r: &Record) -> fmt::Result {
    write!(out, "{cpu} {} {} ", r.tsc, r.ticks)?;
    let basic = (r.reason & 0xffff) as usize;
    match exit_reason::name(basic) {
        Some(name) if r.reason == basic as u32 => write!(out, "{name}")?,
        Some(name) => write!(out, "{name}/{:#x}", r.reason)?,
        None => write!(out, "{:#x}", r.reason)?,
    }
    write!(out, " {} {} {:#x} ", r.cpl, r.pid, r.qualification)
}

/// Whether the record's RIP is the kernel's, to be symbolized.
pub fn kernel_rip(r: &Record) -> bool {
    r.cpl == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn packing_keeps_every_field() {
        let r = Record {
            tsc: u64::MAX - 1,
            ticks: u32::MAX,
            reason: exit_reason::ENTRY_FAILURE | 33,
            cpl: 3,
            pid: -1,
            rip: 0xffff_ffff_8100_0000,
            qualification: 0x1234,
        };
        assert_eq!(Record::unpack(r.pack()), r);
        let zero = Record::default();
        assert_eq!(Record::unpack(zero.pack()), zero);
        let pid = Record {
            pid: i32::MAX,
            cpl: 0,
            ..r
        };
        assert_eq!(Record::unpack(pid.pack()), pid);
    }

    #[test]
    fn slots_wrap_and_sequence_numbers_never_mean_busy() {
        assert_eq!(slot(0), 0);
        assert_eq!(slot(LEN as u64 - 1), LEN - 1);
        assert_eq!(slot(LEN as u64), 0);
        assert_eq!(slot(3 * LEN as u64 + 7), 7);
        assert!((0..3 * LEN as u64).all(|i| sequence(i) != 0));
        // The record that overwrites a slot has another number.
        assert_ne!(sequence(5), sequence(5 + LEN as u64));
    }

    #[test]
    fn window_holds_the_last_len_records_since_the_reset() {
        assert_eq!(window(0, 0), 0..0);
        assert_eq!(window(10, 0), 0..10);
        let len = LEN as u64;
        assert_eq!(window(len + 10, 0), 10..len + 10);
        assert_eq!(window(len + 10, 100), 100..len + 10);
        assert_eq!(window(len + 10, len + 10), len + 10..len + 10);
        // A reset older than the ring does not widen it.
        assert_eq!(window(3 * len, len), 2 * len..3 * len);
        // Nor can a reset mark ahead of the head (it never is) make it backwards.
        assert!(window(5, 9).is_empty());
    }

    #[test]
    fn lines_put_the_rip_last() {
        let mut s = String::new();
        write_header(&mut s, true).unwrap();
        let user = Record {
            tsc: 81234567,
            ticks: 612,
            reason: exit_reason::CPUID as u32,
            cpl: 3,
            pid: 123,
            rip: 0x401a2c,
            qualification: 0,
        };
        write_record(&mut s, 0, &user).unwrap();
        s.push_str("RIP\n");
        let failed = Record {
            reason: exit_reason::ENTRY_FAILURE | 33,
            cpl: 0,
            ..user
        };
        write_record(&mut s, 1, &failed).unwrap();
        s.push_str("RIP\n");
        let unknown = Record { reason: 80, ..user };
        write_record(&mut s, 1, &unknown).unwrap();
        assert_eq!(
            s,
            "trace on\ncpu tsc ticks reason cpl pid qualification rip\n\
             0 81234567 612 CPUID 3 123 0x0 RIP\n\
             1 81234567 612 INVALID_GUEST_STATE/0x80000021 0 123 0x0 RIP\n\
             1 81234567 612 0x50 3 123 0x0 "
        );
        assert!(!kernel_rip(&user));
        assert!(kernel_rip(&failed));
    }
}
