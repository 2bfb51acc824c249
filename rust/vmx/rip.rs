// SPDX-License-Identifier: GPL-2.0

//! Where the guest continues after an instruction rvmm completes on its behalf.
//!
//! Outside 64-bit mode the instruction pointer is EIP: an instruction that ends at 4 GiB continues
//! at 0 (Intel SDM Vol. 3A, chapter 22, "Segment Wraparound": Pentium 4 and later), and VM entry refuses
//! a guest RIP with bits 63:32 set there (SDM Vol. 3C, 27.3.1.4). 16-bit code does not wrap at
//! 64 KiB: the next fetch past CS.limit raises #GP, as after the same instruction run natively, so
//! EIP is not cut to 16 bits.

/// Access-rights bit 13 of CS: a 64-bit code segment (SDM Vol. 3C, 25.4.1).
pub const CS_LONG_MODE: u32 = 1 << 13;

/// Whether the guest runs 64-bit code: IA-32e mode (the "IA-32e mode guest" entry control, which
/// every VM exit sets to IA32_EFER.LMA, SDM 28.3) with CS.L set. Compatibility mode is not.
pub fn is_64bit_mode(ia32e_mode_guest: bool, cs_access_rights: u32) -> bool {
    ia32e_mode_guest && cs_access_rights & CS_LONG_MODE != 0
}

/// The RIP after the `len`-byte instruction at `rip`. `in_64bit_mode` is asked only when the
/// instruction ends in another 4-GiB block than it starts in, which 32-bit code can only do at
/// 4 GiB and the kernel's code never does: the common exit pays nothing for it.
pub fn next_rip(rip: u64, len: u64, in_64bit_mode: impl FnOnce() -> bool) -> u64 {
    let next = rip.wrapping_add(len);
    if (next ^ rip) >> 32 == 0 || in_64bit_mode() {
        next
    } else {
        next & 0xffff_ffff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPAT_CS: u32 = 0xc0fb; // __USER32_CS: D=1, L=0
    const USER_CS: u32 = 0xa0fb; // __USER_CS: L=1
    const CODE16_CS: u32 = 0x00fb; // a 16-bit LDT code segment: D=0, L=0

    #[test]
    fn compatibility_mode_wraps_at_4_gib() {
        let mode = || is_64bit_mode(true, COMPAT_CS);
        assert_eq!(next_rip(0xffff_fffe, 2, mode), 0);
        assert_eq!(next_rip(0xffff_fffd, 2, mode), 0xffff_ffff);
        assert_eq!(next_rip(0xffff_ffff, 3, mode), 2);
    }

    #[test]
    fn sixteen_bit_code_keeps_the_carry_into_bit_16() {
        let mode = || is_64bit_mode(true, CODE16_CS);
        assert_eq!(next_rip(0xfffe, 2, mode), 0x1_0000);
        assert_eq!(next_rip(0xffff_fffe, 2, mode), 0);
    }

    #[test]
    fn sixty_four_bit_mode_does_not_wrap() {
        let mode = || is_64bit_mode(true, USER_CS);
        assert_eq!(next_rip(0xffff_fffe, 2, mode), 0x1_0000_0000);
        assert_eq!(next_rip(0x7fff_ffff_fffe, 2, mode), 0x8000_0000_0000);
        assert_eq!(next_rip(u64::MAX - 1, 2, mode), 0);
    }

    #[test]
    fn outside_ia32e_mode_cs_l_means_nothing() {
        assert!(!is_64bit_mode(false, USER_CS));
        assert_eq!(
            next_rip(0xffff_fffe, 2, || is_64bit_mode(false, USER_CS)),
            0
        );
    }

    #[test]
    fn the_mode_is_read_only_at_a_4_gib_crossing() {
        let kernel_rip = 0xffff_ffff_8100_0000;
        assert_eq!(next_rip(kernel_rip, 2, || unreachable!()), kernel_rip + 2);
        assert_eq!(next_rip(0x40_1000, 3, || unreachable!()), 0x40_1003);
    }
}
