// SPDX-License-Identifier: GPL-2.0

//! What the guest sees from CPUID: the hardware's answer, except that VMX is hidden (a guest must
//! not try to nest under rvmm) and the hypervisor leaf names rvmm.

use super::support::CPUID1_ECX_VMX;

/// The hypervisor leaf (leaves 0x40000000-0x400000ff are reserved for hypervisors).
pub const HYPERVISOR_LEAF: u32 = 0x4000_0000;
/// The vendor signature in EBX, ECX, EDX of the hypervisor leaf.
pub const SIGNATURE: [u8; 12] = *b"rvmmrvmmrvmm";

/// The guest's CPUID result for `leaf` (`native` runs the real instruction for that leaf and the
/// guest's subleaf; it is not run for leaves rvmm answers itself).
pub fn answer(leaf: u32, native: impl FnOnce() -> [u32; 4]) -> [u32; 4] {
    match leaf {
        HYPERVISOR_LEAF => {
            let word = |i: usize| {
                u32::from_le_bytes([
                    SIGNATURE[i],
                    SIGNATURE[i + 1],
                    SIGNATURE[i + 2],
                    SIGNATURE[i + 3],
                ])
            };
            // EAX: the highest hypervisor leaf rvmm answers.
            [HYPERVISOR_LEAF, word(0), word(4), word(8)]
        }
        1 => {
            let [eax, ebx, ecx, edx] = native();
            [eax, ebx, ecx & !CPUID1_ECX_VMX, edx]
        }
        _ => native(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_one_hides_vmx_only() {
        let [_, _, ecx, edx] = answer(1, || [0x906ea, 0x800, 0xfffa_3223, 0xbfeb_fbff]);
        assert_eq!(ecx, 0xfffa_3203);
        assert_eq!(edx, 0xbfeb_fbff);
    }

    #[test]
    fn hypervisor_leaf_names_rvmm_without_asking_the_cpu() {
        let [eax, ebx, ecx, edx] = answer(HYPERVISOR_LEAF, || unreachable!());
        assert_eq!(eax, HYPERVISOR_LEAF);
        let mut sig = std::vec::Vec::new();
        for r in [ebx, ecx, edx] {
            sig.extend_from_slice(&r.to_le_bytes());
        }
        assert_eq!(sig, b"rvmmrvmmrvmm");
    }

    #[test]
    fn other_leaves_pass_through() {
        for leaf in [0, 7, 0xd, 0x4000_0001, 0x8000_0001] {
            assert_eq!(answer(leaf, || [leaf, 2, 3, 4]), [leaf, 2, 3, 4]);
        }
    }
}
