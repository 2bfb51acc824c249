// SPDX-License-Identifier: GPL-2.0

//! The VMCALL interface: RAX holds the function on entry and the result on return. Only CPL 0 may
//! call; at CPL > 0 VMCALL raises #UD, as it does on a CPU not in VMX operation.

/// Returns [`VERSION`]: proves the CPU is virtualized by rvmm.
pub const PING: u64 = 0;
/// Leaves VMX operation on this CPU and returns to the caller as an ordinary kernel; returns 0.
pub const DEVIRTUALIZE: u64 = 1;
/// Makes this CPU's exits go through the observing exit stub (latency histogram, exit trace) from
/// the next one on; returns 0.
pub const OBSERVE: u64 = 2;
/// Makes them go through the plain stub again; returns 0.
pub const UNOBSERVE: u64 = 3;

/// The interface version PING returns.
pub const VERSION: u64 = 0x7276_6d6d_0001; // "rvmm", version 1.
/// Result for an unknown function (like KVM's -KVM_ENOSYS).
pub const UNKNOWN_FUNCTION: u64 = -1000i64 as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Ping,
    Devirtualize,
    /// OBSERVE (true) or UNOBSERVE (false).
    Observe(bool),
    Unknown,
}

pub fn decode(rax: u64) -> Call {
    match rax {
        PING => Call::Ping,
        DEVIRTUALIZE => Call::Devirtualize,
        OBSERVE => Call::Observe(true),
        UNOBSERVE => Call::Observe(false),
        _ => Call::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions() {
        assert_eq!(decode(0), Call::Ping);
        assert_eq!(decode(1), Call::Devirtualize);
        assert_eq!(decode(2), Call::Observe(true));
        assert_eq!(decode(3), Call::Observe(false));
        assert_eq!(decode(4), Call::Unknown);
        assert_eq!(decode(0x99), Call::Unknown);
        assert_eq!(decode(u64::MAX), Call::Unknown);
    }
}
