// SPDX-License-Identifier: GPL-2.0

//! Which MSR accesses exit and what the guest gets for them (Intel SDM Vol. 3C, 25.6.9 for the MSR
//! bitmap layout).

use super::controls::{MSR_IA32_VMX_BASIC, MSR_IA32_VMX_BLOCK_LAST};
use super::support::MSR_IA32_FEATURE_CONTROL;

pub const MSR_IA32_SYSENTER_CS: u32 = 0x174;
pub const MSR_IA32_SYSENTER_ESP: u32 = 0x175;
pub const MSR_IA32_SYSENTER_EIP: u32 = 0x176;
pub const MSR_IA32_DEBUGCTL: u32 = 0x1d9;
pub const MSR_FS_BASE: u32 = 0xc000_0100;
pub const MSR_GS_BASE: u32 = 0xc000_0101;
/// IA32_BIOS_UPDT_TRIG: a WRMSR loads the microcode update whose linear address it is given.
pub const MSR_IA32_BIOS_UPDT_TRIG: u32 = 0x79;

/// IA32_FEATURE_CONTROL bits that enable VMX (inside and outside SMX).
const FEATURE_CONTROL_VMX_BITS: u64 = 1 << 1 | 1 << 2;

/// What a guest RDMSR of `msr` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The hardware's value.
    Native,
    /// The hardware's value with these bits cleared.
    Masked(u64),
    /// #GP, as on a CPU without VMX, where the VMX capability MSRs do not exist. The whole block
    /// faults, not only the MSRs this CPU has, so that a capability MSR added by a later
    /// generation is hidden too.
    Fault,
}

pub fn read_policy(msr: u32) -> Read {
    match msr {
        MSR_IA32_FEATURE_CONTROL => Read::Masked(FEATURE_CONTROL_VMX_BITS),
        MSR_IA32_VMX_BASIC..=MSR_IA32_VMX_BLOCK_LAST => Read::Fault,
        _ => Read::Native,
    }
}

/// The MSRs whose reads exit; all others run at native speed.
pub fn intercepted_reads() -> impl Iterator<Item = u32> {
    core::iter::once(MSR_IA32_FEATURE_CONTROL).chain(MSR_IA32_VMX_BASIC..=MSR_IA32_VMX_BLOCK_LAST)
}

/// The MSRs (in the bitmap's ranges) whose writes exit. A microcode update must not be loaded in
/// VMX non-root operation (SDM Vol. 3C, 32.4): the write exits and rvmm makes it in root mode,
/// where its address means the same (the host page table maps the kernel half), as a late load
/// runs under KVM. The VMX MSRs are read-only and FEATURE_CONTROL is locked: no other write needs to.
pub fn intercepted_writes() -> impl Iterator<Item = u32> {
    core::iter::once(MSR_IA32_BIOS_UPDT_TRIG)
}

/// Byte offset and bit of `msr`'s write-exiting bit in the MSR bitmap (the read bitmaps' layout,
/// 2 KiB on), or `None` outside the bitmap's ranges (where every write exits).
pub fn write_bitmap_position(msr: u32) -> Option<(usize, u8)> {
    read_bitmap_position(msr).map(|(byte, bit)| (byte + 2048, bit))
}

/// Byte offset and bit of `msr`'s read-exiting bit in the 4-KiB MSR bitmap, or `None` for MSRs
/// outside the two ranges the bitmap covers (accesses to those always exit).
pub fn read_bitmap_position(msr: u32) -> Option<(usize, u8)> {
    let (base, index) = match msr {
        0..=0x1fff => (0, msr),
        0xc000_0000..=0xc000_1fff => (1024, msr - 0xc000_0000),
        _ => return None,
    };
    Some((base + index as usize / 8, (index % 8) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmx_is_hidden() {
        assert_eq!(read_policy(0x3a), Read::Masked(0b110));
        // IA32_VMX_BASIC to IA32_VMX_EXIT_CTLS2, and the unassigned rest of the block.
        for msr in 0x480..=0x4c0 {
            assert_eq!(read_policy(msr), Read::Fault, "{msr:#x}");
        }
        assert_eq!(read_policy(0x47f), Read::Native);
        // IA32_A_PMC0 and IA32_MCG_EXT_CTL: perf and local machine checks.
        assert_eq!(read_policy(0x4c1), Read::Native);
        assert_eq!(read_policy(0x4d0), Read::Native);
        assert_eq!(read_policy(MSR_GS_BASE), Read::Native);
    }

    #[test]
    fn every_hidden_msr_is_intercepted() {
        let all: std::vec::Vec<u32> = intercepted_reads().collect();
        assert_eq!(all.len(), 1 + 0x41);
        assert!(all.iter().all(|&m| read_policy(m) != Read::Native));
    }

    #[test]
    fn microcode_updates_exit() {
        let writes: std::vec::Vec<u32> = intercepted_writes().collect();
        assert_eq!(writes, [0x79]);
        assert_eq!(write_bitmap_position(0x79), Some((2048 + 15, 1)));
        assert_eq!(write_bitmap_position(0xc000_0100), Some((3072 + 32, 0)));
        assert_eq!(write_bitmap_position(0x4000_0000), None);
        // Reading the update signature (IA32_BIOS_SIGN_ID, 0x8b) stays native.
        assert_eq!(read_policy(0x8b), Read::Native);
    }

    #[test]
    fn bitmap_layout() {
        assert_eq!(read_bitmap_position(0), Some((0, 0)));
        assert_eq!(read_bitmap_position(0x3a), Some((7, 2)));
        assert_eq!(read_bitmap_position(0x1fff), Some((1023, 7)));
        assert_eq!(read_bitmap_position(0xc000_0000), Some((1024, 0)));
        assert_eq!(read_bitmap_position(0xc000_0101), Some((1024 + 32, 1)));
        assert_eq!(read_bitmap_position(0x2000), None);
        assert_eq!(read_bitmap_position(0x4000_0000), None);
    }
}
