// SPDX-License-Identifier: GPL-2.0

//! XSETBV validation (Intel SDM Vol. 2D, XSETBV, and Vol. 1, 13.3): the value a guest may load into
//! XCR0, or #GP.

const X87: u64 = 1 << 0;
const SSE: u64 = 1 << 1;
const AVX: u64 = 1 << 2;
const MPX: u64 = 1 << 3 | 1 << 4;
const AVX512: u64 = 1 << 5 | 1 << 6 | 1 << 7;
const AMX: u64 = 1 << 17 | 1 << 18;

/// Whether XSETBV with ECX=`xcr` and EDX:EAX=`value` succeeds on a CPU whose supported XCR0 bits
/// (CPUID.(EAX=0DH,ECX=0):EDX:EAX) are `supported`.
pub fn xsetbv_allowed(xcr: u32, value: u64, supported: u64) -> bool {
    let all_or_none = |group: u64| value & group == 0 || value & group == group;
    xcr == 0
        && value & X87 != 0
        && value & !supported == 0
        && (value & AVX == 0 || value & SSE != 0)
        && all_or_none(MPX)
        && all_or_none(AVX512)
        && (value & AVX512 == 0 || value & AVX != 0)
        && all_or_none(AMX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKYLAKE_X: u64 = 0x2ff;

    #[test]
    fn what_linux_sets_is_allowed() {
        assert!(xsetbv_allowed(0, 0x7, SKYLAKE_X));
        assert!(xsetbv_allowed(0, 0xe7, SKYLAKE_X));
        assert!(xsetbv_allowed(0, 0x2ff, SKYLAKE_X));
        assert!(xsetbv_allowed(0, X87, SKYLAKE_X));
    }

    #[test]
    fn invalid_values_fault() {
        assert!(!xsetbv_allowed(1, 0x7, SKYLAKE_X), "only XCR0 is writable");
        assert!(!xsetbv_allowed(0, 0x6, SKYLAKE_X), "x87 state is mandatory");
        assert!(!xsetbv_allowed(0, 0x5, SKYLAKE_X), "AVX needs SSE");
        assert!(!xsetbv_allowed(0, 0x407, SKYLAKE_X), "unsupported bit");
        assert!(
            !xsetbv_allowed(0, 0x67, SKYLAKE_X),
            "AVX-512 is all three bits"
        );
        assert!(!xsetbv_allowed(0, 0xe3, SKYLAKE_X), "AVX-512 needs AVX");
        assert!(!xsetbv_allowed(0, 0xf, SKYLAKE_X), "MPX is both bits");
        assert!(!xsetbv_allowed(0, 1 << 17 | 0x3, !0), "AMX is both bits");
        assert!(xsetbv_allowed(0, AMX | 0x3, !0));
    }
}
