// SPDX-License-Identifier: GPL-2.0

//! The text of `/sys/kernel/debug/rvmm/exits` and the commands it accepts.
//!
//! One header line, then one line per defined basic exit reason, whitespace-separated:
//!
//! ```text
//! reason                nr       cpu0       cpu1      total
//! EXCEPTION_NMI          0          0          0          0
//! CPUID                 10        812        344       1156
//! ```
//!
//! Every defined reason is listed, counted or not, so that scripts can rely on the shape.

use super::exit_reason;
use core::fmt::{self, Write};

const NAME_WIDTH: usize = 20;
const COUNT_WIDTH: usize = 10;

/// Writes the table for the CPUs in `cpus`, taking each counter from `count(cpu, reason)`.
pub fn write(
    out: &mut impl Write,
    cpus: impl Iterator<Item = u32> + Clone,
    count: impl Fn(u32, usize) -> u64,
) -> fmt::Result {
    write!(out, "{:<NAME_WIDTH$}{:>4}", "reason", "nr")?;
    for cpu in cpus.clone() {
        // Render "cpuN" first so that the column is padded as a whole.
        let mut label = Label::default();
        write!(label, "cpu{cpu}")?;
        write!(out, " {:>COUNT_WIDTH$}", label.as_str())?;
    }
    writeln!(out, " {:>COUNT_WIDTH$}", "total")?;

    for (reason, name) in exit_reason::defined() {
        write!(out, "{name:<NAME_WIDTH$}{reason:>4}")?;
        let mut total: u64 = 0;
        for cpu in cpus.clone() {
            let n = count(cpu, reason);
            total = total.wrapping_add(n);
            write!(out, " {n:>COUNT_WIDTH$}")?;
        }
        writeln!(out, " {total:>COUNT_WIDTH$}")?;
    }
    Ok(())
}

/// A command written to the exits file.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `0`: set every counter to zero.
    Reset,
}

/// Parses what user space wrote; `None` for anything but a known command (the caller says -EINVAL).
pub fn parse_command(input: &[u8]) -> Option<Command> {
    match input.strip_suffix(b"\n").unwrap_or(input) {
        b"0" => Some(Command::Reset),
        _ => None,
    }
}

/// A small stack buffer for one column label: no allocation while formatting.
#[derive(Default)]
struct Label {
    bytes: [u8; 16],
    len: usize,
}

impl Label {
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is valid UTF-8.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("?")
    }
}

impl Write for Label {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn render(cpus: &[u32], count: impl Fn(u32, usize) -> u64) -> String {
        let mut s = String::new();
        write(&mut s, cpus.iter().copied(), count).unwrap();
        s
    }

    #[test]
    fn header_names_each_cpu_and_a_total() {
        let table = render(&[0, 1, 3], |_, _| 0);
        let header: Vec<_> = table.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["reason", "nr", "cpu0", "cpu1", "cpu3", "total"]);
    }

    #[test]
    fn one_row_per_defined_reason_with_per_cpu_counts_and_their_sum() {
        let table = render(&[0, 1], |cpu, reason| (cpu as u64 + 1) * reason as u64);
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows.len(), exit_reason::defined().count());
        let cpuid = rows.iter().find(|r| r[0] == "CPUID").unwrap();
        assert_eq!(cpuid[1..], ["10", "10", "20", "30"]);
        for row in &rows {
            assert_eq!(row.len(), 5, "{row:?}");
            let cells: Vec<u64> = row[1..].iter().map(|c| c.parse().unwrap()).collect();
            assert_eq!(cells[1] + cells[2], cells[3], "{row:?}");
        }
    }

    #[test]
    fn columns_stay_aligned_for_wide_counts() {
        let table = render(&[0, 1], |_, _| 1_000_000_000);
        let widths: Vec<usize> = table.lines().map(str::len).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}");
    }

    #[test]
    fn no_cpus_still_gives_a_well_formed_table() {
        let table = render(&[], |_, _| unreachable!());
        assert!(table.starts_with("reason"));
        assert!(table
            .lines()
            .skip(1)
            .all(|l| l.split_whitespace().count() == 3));
    }

    #[test]
    fn only_zero_resets() {
        assert_eq!(parse_command(b"0"), Some(Command::Reset));
        assert_eq!(parse_command(b"0\n"), Some(Command::Reset));
        for garbage in [
            &b""[..],
            b"\n",
            b"1",
            b"00",
            b" 0",
            b"0\n\n",
            b"reset",
            b"0 1",
            b"\xff\x00",
        ] {
            assert_eq!(parse_command(garbage), None, "{garbage:?}");
        }
    }
}
