// SPDX-License-Identifier: GPL-2.0

//! Exit latency as log2 histograms: the bucket of a duration, the median of a histogram, and the
//! text of `/sys/kernel/debug/rvmm/latency`.
//!
//! A header line, then one line per CPU and basic exit reason that has exits, then one `all` line per
//! reason summing the CPUs, whitespace-separated; ticks are TSC ticks:
//!
//! ```text
//! latency on
//! cpu reason count min median max histogram
//! 0 CPUID 2126 140 256-511 900 7:12 8:2000 9:114
//! all CPUID 2126 140 256-511 900 7:12 8:2000 9:114
//! ```
//!
//! `B:N` in the histogram means N exits took 2^B to 2^(B+1)-1 ticks (bucket 0 also holds 0); the
//! median is the range of the bucket that holds it.

use super::exit_reason;
use core::fmt::{self, Write};

/// Buckets per reason: the last one also holds everything longer (2^31 ticks is about a second).
pub const BUCKETS: usize = 32;

/// The bucket of a duration of `ticks`: floor(log2), 0 for 0 and 1.
pub fn bucket(ticks: u64) -> usize {
    let log2 = 63usize.saturating_sub(ticks.leading_zeros() as usize);
    log2.min(BUCKETS - 1)
}

/// One reason's latencies on one CPU, or on all of them together.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Summary {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub histogram: [u64; BUCKETS],
}

impl Summary {
    pub const EMPTY: Summary = Summary {
        count: 0,
        min: u64::MAX,
        max: 0,
        histogram: [0; BUCKETS],
    };

    /// Adds `other`'s exits to these.
    pub fn add(&mut self, other: &Summary) {
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        for (sum, n) in self.histogram.iter_mut().zip(other.histogram) {
            *sum += n;
        }
    }

    /// The bucket that holds the median exit (the lower median for an even count), if any.
    pub fn median_bucket(&self) -> Option<usize> {
        let total: u64 = self.histogram.iter().sum();
        if total == 0 {
            return None;
        }
        // The (total+1)/2-th exit in order of duration.
        let rank = total.div_ceil(2);
        let mut seen = 0;
        self.histogram.iter().position(|&n| {
            seen += n;
            seen >= rank
        })
    }
}

/// The lowest and highest durations bucket `b` holds.
pub fn bucket_range(b: usize) -> (u64, u64) {
    let low = if b == 0 { 0 } else { 1 << b };
    let high = if b + 1 >= BUCKETS {
        u64::MAX
    } else {
        (1 << (b + 1)) - 1
    };
    (low, high)
}

/// Writes the file: the switch's state, then each CPU's reasons with exits (`summary(cpu, reason)`),
/// then the sum over CPUs of each reason with exits.
pub fn write(
    out: &mut impl Write,
    on: bool,
    cpus: impl Iterator<Item = u32> + Clone,
    summary: impl Fn(u32, usize) -> Summary,
) -> fmt::Result {
    writeln!(out, "latency {}", if on { "on" } else { "off" })?;
    writeln!(out, "cpu reason count min median max histogram")?;
    for cpu in cpus.clone() {
        for (reason, name) in exit_reason::defined() {
            write_line(out, format_args!("{cpu}"), name, &summary(cpu, reason))?;
        }
    }
    for (reason, name) in exit_reason::defined() {
        let mut all = Summary::EMPTY;
        for cpu in cpus.clone() {
            all.add(&summary(cpu, reason));
        }
        write_line(out, format_args!("all"), name, &all)?;
    }
    Ok(())
}

fn write_line(
    out: &mut impl Write,
    cpu: fmt::Arguments<'_>,
    name: &str,
    s: &Summary,
) -> fmt::Result {
    let Some(median) = s.median_bucket() else {
        return Ok(());
    };
    let (low, high) = bucket_range(median);
    // A reset racing with an exit may leave min above max for that moment: show what is known.
    let min = s.min.min(s.max);
    write!(out, "{cpu} {name} {} {min} {low}-", s.count)?;
    if high == u64::MAX {
        write!(out, "inf")?;
    } else {
        write!(out, "{high}")?;
    }
    write!(out, " {}", s.max)?;
    for (b, n) in s.histogram.iter().enumerate().filter(|(_, &n)| n != 0) {
        write!(out, " {b}:{n}")?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn summary_of(durations: &[u64]) -> Summary {
        let mut s = Summary::EMPTY;
        for &d in durations {
            s.count += 1;
            s.min = s.min.min(d);
            s.max = s.max.max(d);
            s.histogram[bucket(d)] += 1;
        }
        s
    }

    #[test]
    fn buckets_are_floor_log2_and_clamped() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(2), 1);
        assert_eq!(bucket(3), 1);
        assert_eq!(bucket(255), 7);
        assert_eq!(bucket(256), 8);
        assert_eq!(bucket(1 << 31), 31);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        for b in 0..BUCKETS {
            let (low, high) = bucket_range(b);
            assert_eq!(bucket(low), b);
            assert_eq!(bucket(high), b);
        }
    }

    #[test]
    fn median_is_the_bucket_of_the_middle_exit() {
        assert_eq!(Summary::EMPTY.median_bucket(), None);
        assert_eq!(summary_of(&[300]).median_bucket(), Some(8));
        // Lower median of an even count: the 2nd of 4.
        assert_eq!(summary_of(&[100, 200, 3000, 4000]).median_bucket(), Some(7));
        assert_eq!(
            summary_of(&[100, 300, 300, 5000, 9000]).median_bucket(),
            Some(8)
        );
        // One slow outlier does not move it.
        let mut many = [150u64; 99].to_vec();
        many.push(1 << 40);
        assert_eq!(summary_of(&many).median_bucket(), Some(7));
    }

    #[test]
    fn sums_over_cpus() {
        let mut all = summary_of(&[10, 20]);
        all.add(&summary_of(&[5, 4000]));
        all.add(&Summary::EMPTY);
        assert_eq!((all.count, all.min, all.max), (4, 5, 4000));
        assert_eq!(all, summary_of(&[10, 20, 5, 4000]));
    }

    fn render(on: bool, cpus: &[u32], summary: impl Fn(u32, usize) -> Summary) -> String {
        let mut s = String::new();
        write(&mut s, on, cpus.iter().copied(), summary).unwrap();
        s
    }

    #[test]
    fn lists_only_reasons_with_exits_per_cpu_then_summed() {
        let text = render(true, &[0, 2], |cpu, reason| match (cpu, reason) {
            (0, exit_reason::CPUID) => summary_of(&[140, 300, 300]),
            (2, exit_reason::CPUID) => summary_of(&[1000]),
            (2, exit_reason::VMCALL) => summary_of(&[u64::MAX]),
            _ => Summary::EMPTY,
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "latency on",
                "cpu reason count min median max histogram",
                "0 CPUID 3 140 256-511 300 7:1 8:2",
                "2 CPUID 1 1000 512-1023 1000 9:1",
                "2 VMCALL 1 18446744073709551615 2147483648-inf 18446744073709551615 31:1",
                "all CPUID 4 140 256-511 1000 7:1 8:2 9:1",
                "all VMCALL 1 18446744073709551615 2147483648-inf 18446744073709551615 31:1",
            ]
        );
    }

    #[test]
    fn empty_when_nothing_was_measured() {
        let text = render(false, &[0, 1], |_, _| Summary::EMPTY);
        assert_eq!(
            text,
            "latency off\ncpu reason count min median max histogram\n"
        );
    }

    #[test]
    fn a_reset_racing_an_exit_never_shows_min_above_max() {
        let mut raced = summary_of(&[500]);
        raced.min = u64::MAX;
        let text = render(true, &[0], |_, r| {
            if r == exit_reason::CPUID {
                raced
            } else {
                Summary::EMPTY
            }
        });
        assert!(text.contains("0 CPUID 1 500 256-511 500 8:1"), "{text}");
    }
}
