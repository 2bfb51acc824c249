// SPDX-License-Identifier: GPL-2.0

//! The hardware-facing unsafe surface: CPU instructions, control registers and MSRs.
//!
//! Everything that executes a privileged or VMX instruction lives here, behind safe functions whose
//! preconditions are argued once.

use core::arch::asm;
use kernel::ffi::c_int;

extern "C" {
    // asm/msr.S
    fn rvmm_rdmsr_safe(msr: u32, value: *mut u64) -> c_int;
    fn rvmm_wrmsr_safe(msr: u32, value: u64) -> c_int;
}

/// Executes CPUID for `leaf`/`subleaf` and returns EAX, EBX, ECX, EDX.
pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let (eax, ebx, ecx, edx): (u32, u32, u32, u32);
    // SAFETY: CPUID exists on every x86-64 CPU and only writes the four registers named here. RBX is
    // reserved by LLVM, so it is saved in and restored from a scratch register around the instruction.
    unsafe {
        asm!(
            "mov {rbx_save:r}, rbx",
            "cpuid",
            "xchg {rbx_save:r}, rbx",
            rbx_save = out(reg) ebx,
            inout("eax") leaf => eax,
            inout("ecx") subleaf => ecx,
            out("edx") edx,
            options(nostack, preserves_flags),
        );
    }
    [eax, ebx, ecx, edx]
}

/// Reads this CPU's CR4 from the hardware, not from Linux's per-CPU shadow.
pub(crate) fn read_cr4() -> u64 {
    let cr4: u64;
    // SAFETY: reading CR4 at CPL 0 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) cr4, options(nomem, nostack, preserves_flags)) };
    cr4
}

/// Reads MSR `msr`, or `None` if the CPU raised #GP (the MSR does not exist).
pub(crate) fn rdmsr_safe(msr: u32) -> Option<u64> {
    let mut value = 0;
    // SAFETY: `rvmm_rdmsr_safe` executes RDMSR under an exception-table fixup, so a #GP returns an
    // error instead of faulting, and writes only `value`. Reading an MSR has no side effects for the
    // MSRs rvmm reads (architectural capability and feature MSRs).
    (unsafe { rvmm_rdmsr_safe(msr, &mut value) } == 0).then_some(value)
}

/// Writes MSR `msr`; `Err` if the CPU raised #GP (no such MSR, or a reserved bit set).
#[allow(dead_code)] // The MSR-write exit handler is its first user.
pub(crate) fn wrmsr_safe(msr: u32, value: u64) -> Result<(), ()> {
    // SAFETY: `rvmm_wrmsr_safe` executes WRMSR under an exception-table fixup. Callers only write MSRs
    // on behalf of a guest that was itself allowed to write them.
    match unsafe { rvmm_wrmsr_safe(msr, value) } {
        0 => Ok(()),
        _ => Err(()),
    }
}
