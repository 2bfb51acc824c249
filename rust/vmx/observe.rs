// SPDX-License-Identifier: GPL-2.0

//! The commands `/sys/kernel/debug/rvmm/latency` and `/sys/kernel/debug/rvmm/trace` take, one per
//! write(2): `on`, `off`, or `0` to reset (as for the exits file), each optionally followed by one
//! newline. Anything else is -EINVAL and changes nothing.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    On,
    Off,
    Reset,
}

/// Parses what user space wrote; `None` for anything but a known command.
pub fn parse(input: &[u8]) -> Option<Command> {
    match input.strip_suffix(b"\n").unwrap_or(input) {
        b"on" => Some(Command::On),
        b"off" => Some(Command::Off),
        b"0" => Some(Command::Reset),
        _ => None,
    }
}

/// The longest command, with its newline: a longer write is -EINVAL without being read.
pub const MAX_LEN: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_and_zero() {
        assert_eq!(parse(b"on"), Some(Command::On));
        assert_eq!(parse(b"on\n"), Some(Command::On));
        assert_eq!(parse(b"off\n"), Some(Command::Off));
        assert_eq!(parse(b"0"), Some(Command::Reset));
        assert!([&b"on\n"[..], b"off\n", b"0\n"]
            .iter()
            .all(|c| c.len() <= MAX_LEN));
    }

    #[test]
    fn anything_else_is_refused() {
        for garbage in [
            &b""[..],
            b"\n",
            b"1",
            b"ON",
            b"onn",
            b" on",
            b"on\n\n",
            b"of",
            b"reset",
            b"00",
            b"on off",
            b"\xff\x00",
        ] {
            assert_eq!(parse(garbage), None, "{garbage:?}");
        }
    }
}
