// SPDX-License-Identifier: GPL-2.0

//! The hardware-facing unsafe surface: CPU instructions, control and debug registers, descriptor
//! tables, MSRs and VMX instructions.
//!
//! Everything that executes a privileged or VMX instruction lives here, behind functions whose
//! preconditions are argued once. Callers run at CPL 0 in the kernel, with preemption disabled where
//! the state is per CPU.

use crate::vmx::vmx_operation;
use core::arch::asm;
use kernel::ffi::{c_int, c_void};

extern "C" {
    // asm/msr.S
    fn rvmm_rdmsr_safe(msr: u32, value: *mut u64) -> c_int;
    fn rvmm_wrmsr_safe(msr: u32, value: u64) -> c_int;
    // asm/shim.c
    // `struct page *`, passed as an opaque pointer: the shim is the only side that looks inside.
    fn rvmm_page_to_phys(page: *mut c_void) -> u64;
    fn rvmm_alloc_host_pgd() -> *mut c_void;
    fn rvmm_free_host_pgd(page: *mut c_void);
    fn rvmm_copy_kernel_pgd(dst: *mut c_void);
    fn rvmm_reload_tr();
    fn rvmm_load_data_selectors(ds: u16, es: u16, fs: u16, gs: u16);
    fn rvmm_kernel_uses_pti() -> bool;
    fn rvmm_vmxon(phys: u64, cf: *mut u8, zf: *mut u8) -> i32;
}

/// Reads the time-stamp counter. Not ordered against the code around it, as the exit stub's RDTSC
/// is not: the latency it measures is the exit handler's, give or take a few instructions.
#[inline(always)]
pub(crate) fn rdtsc() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: RDTSC only writes EDX:EAX, and never faults at CPL 0 (CR4.TSD only restricts CPL > 0).
    unsafe {
        asm!("rdtsc", out("eax") low, out("edx") high, options(nostack, nomem, preserves_flags))
    };
    u64::from(high) << 32 | u64::from(low)
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

macro_rules! control_register {
    ($read:ident, $write:ident, $reg:literal) => {
        pub(crate) fn $read() -> u64 {
            let value: u64;
            // SAFETY: reading a control register at CPL 0 has no side effects.
            unsafe { asm!(concat!("mov {}, ", $reg), out(reg) value, options(nomem, nostack, preserves_flags)) };
            value
        }

        /// # Safety
        ///
        /// The caller keeps the kernel's view of the register consistent: it either restores a value
        /// the kernel had, or only changes a bit the kernel does not track (CR4.VMXE).
        pub(crate) unsafe fn $write(value: u64) {
            // SAFETY: by the caller's contract the new value is one the kernel runs with.
            unsafe { asm!(concat!("mov ", $reg, ", {}"), in(reg) value, options(nostack, preserves_flags)) };
        }
    };
}

control_register!(read_cr0, write_cr0, "cr0");
control_register!(read_cr3, write_cr3, "cr3");
control_register!(read_cr4, write_cr4, "cr4");
control_register!(read_cr8, write_cr8, "cr8");
control_register!(read_dr6, write_dr6, "dr6");
control_register!(read_dr7, write_dr7, "dr7");

/// Sets CR2, the faulting address a page-fault handler reads.
///
/// # Safety
///
/// A #PF is about to be delivered to the guest for address `value` (which a #PF that exits leaves
/// in the exit qualification, not in CR2: SDM Vol. 3C, 28.1).
pub(crate) unsafe fn write_cr2(value: u64) {
    // SAFETY: by the caller's contract, the value the CPU would have written on delivery.
    unsafe { asm!("mov cr2, {}", in(reg) value, options(nostack, preserves_flags)) };
}

/// A descriptor-table register (GDTR or IDTR) as SGDT/SIDT store it.
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TableRegister {
    pub(crate) limit: u16,
    pub(crate) base: u64,
}

pub(crate) fn sgdt() -> TableRegister {
    let mut table = TableRegister::default();
    // SAFETY: SGDT writes the 10 bytes of `table`.
    unsafe { asm!("sgdt [{}]", in(reg) &mut table, options(nostack, preserves_flags)) };
    table
}

pub(crate) fn sidt() -> TableRegister {
    let mut table = TableRegister::default();
    // SAFETY: SIDT writes the 10 bytes of `table`.
    unsafe { asm!("sidt [{}]", in(reg) &mut table, options(nostack, preserves_flags)) };
    table
}

/// Loads GDTR and IDTR.
///
/// # Safety
///
/// Both tables are ones this CPU was using, so every selector and vector stays valid.
pub(crate) unsafe fn load_descriptor_tables(gdt: TableRegister, idt: TableRegister) {
    // SAFETY: by the caller's contract.
    unsafe {
        asm!("lgdt [{}]", in(reg) &gdt, options(readonly, nostack, preserves_flags));
        asm!("lidt [{}]", in(reg) &idt, options(readonly, nostack, preserves_flags));
    }
}

/// The selectors in CS, SS, DS, ES, FS, GS, LDTR and TR, in the order of `vmx::fields::Seg`.
pub(crate) fn selectors() -> [u16; 8] {
    let (es, cs, ss, ds, fs, gs, ldtr, tr): (u16, u16, u16, u16, u16, u16, u16, u16);
    // SAFETY: reading segment selectors has no side effects.
    unsafe {
        asm!(
            "mov {0:x}, es", "mov {1:x}, cs", "mov {2:x}, ss", "mov {3:x}, ds",
            "mov {4:x}, fs", "mov {5:x}, gs", "sldt {6:x}", "str {7:x}",
            out(reg) es, out(reg) cs, out(reg) ss, out(reg) ds,
            out(reg) fs, out(reg) gs, out(reg) ldtr, out(reg) tr,
            options(nomem, nostack, preserves_flags),
        );
    }
    [es, cs, ss, ds, fs, gs, ldtr, tr]
}

/// Reads 8 bytes of a descriptor table: `table_base + offset`.
///
/// # Safety
///
/// `table_base` is the GDT or LDT this CPU uses and `offset` is within its limit.
pub(crate) unsafe fn read_descriptor(table_base: u64, offset: usize) -> u64 {
    let entry = (table_base as usize + offset) as *const u64;
    // SAFETY: by the caller's contract the entry is mapped; the table may not be 8-byte aligned.
    unsafe { entry.read_unaligned() }
}

/// Loads the LDT and then the data-segment selectors a CPU had (LDTR first: DS, ES, FS and GS may
/// select LDT entries). A selector whose descriptor the table no longer holds loads as null, as in
/// a context switch; GS keeps the kernel's GS base intact. SS is left to the IRET that resumes the
/// guest.
///
/// # Safety
///
/// `ldtr` is the LDT selector this CPU had loaded in the current GDT; the caller restores the FS
/// and GS bases afterwards.
pub(crate) unsafe fn load_selectors(ldtr: u16, ds: u16, es: u16, fs: u16, gs: u16) {
    // SAFETY: by the caller's contract; the shim's loads fault to null (exception-table fixups),
    // never to an oops, and change nothing but the segment registers and the user GS base, which
    // it puts back.
    unsafe {
        asm!("lldt {0:x}", in(reg) ldtr, options(nostack, preserves_flags));
        rvmm_load_data_selectors(ds, es, fs, gs);
    }
}

/// Whether the kernel isolates user page tables (PTI): a user-mode CR3 then maps no module code.
pub(crate) fn kernel_uses_pti() -> bool {
    // SAFETY: reads a boot CPU feature bit.
    unsafe { rvmm_kernel_uses_pti() }
}

/// Reloads TR from the GDT, restoring the TSS limit that VM exits cut to 0x67.
pub(crate) fn reload_tr() {
    // SAFETY: the shim does what the kernel's force_reload_TR() does, which a module cannot call:
    // it marks this CPU's TSS descriptor available in the writable GDT alias, loads TR from it and
    // goes back to the read-only GDT, all on this CPU with interrupts off.
    unsafe { rvmm_reload_tr() };
}

/// Reads an MSR the caller knows exists (an architectural MSR of every x86-64 CPU).
pub(crate) fn rdmsr(msr: u32) -> u64 {
    rdmsr_safe(msr).unwrap_or(0)
}

/// Reads MSR `msr`, or `None` if the CPU raised #GP (the MSR does not exist).
pub(crate) fn rdmsr_safe(msr: u32) -> Option<u64> {
    let mut value = 0;
    // SAFETY: `rvmm_rdmsr_safe` executes RDMSR under an exception-table fixup, so a #GP returns an
    // error instead of faulting, and writes only `value`. Reading an MSR has no side effects for the
    // MSRs rvmm reads (architectural state, and reads on behalf of a guest that may read them).
    (unsafe { rvmm_rdmsr_safe(msr, &mut value) } == 0).then_some(value)
}

/// Writes MSR `msr`; `Err` if the CPU raised #GP (no such MSR, or a reserved bit set).
pub(crate) fn wrmsr_safe(msr: u32, value: u64) -> Result<(), ()> {
    // SAFETY: `rvmm_wrmsr_safe` executes WRMSR under an exception-table fixup. Callers only write
    // MSRs on behalf of a guest that may write them, or restore values the kernel had.
    match unsafe { rvmm_wrmsr_safe(msr, value) } {
        0 => Ok(()),
        _ => Err(()),
    }
}

/// Executes XSETBV for a value already validated against the SDM's rules.
pub(crate) fn xsetbv(xcr: u32, value: u64) {
    // SAFETY: the caller validated `value` with `vmx::xcr::xsetbv_allowed`, so XSETBV does not fault;
    // host and guest are the same kernel, which chose this XCR0.
    unsafe {
        asm!("xsetbv", in("ecx") xcr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nomem, nostack, preserves_flags));
    }
}

pub(crate) fn wbinvd() {
    // SAFETY: WBINVD writes back and invalidates caches; it loses no data.
    unsafe { asm!("wbinvd", options(nostack, preserves_flags)) };
}

/// Physical address of a page.
pub(crate) fn page_phys(page: &kernel::page::Page) -> u64 {
    // SAFETY: `page` is a live page; page_to_phys() only computes.
    unsafe { rvmm_page_to_phys(page.as_ptr().cast()) }
}

/// The host's top-level page table (HOST_CR3): the kernel half of the kernel's own, at a physical
/// address with bit 12 clear, which page-table isolation reserves for user page tables.
pub(crate) struct HostPgd(core::ptr::NonNull<c_void>);

/// CR3 bit 12: "user page table" to the kernel's entry code under page-table isolation.
const PTI_USER_PGTABLE: u64 = 1 << 12;

impl HostPgd {
    /// Allocates the table and fills it with the kernel half of the current top-level table.
    pub(crate) fn new() -> kernel::error::Result<Self> {
        // SAFETY: the shim allocates zeroed pages with GFP_KERNEL in process context.
        let page = core::ptr::NonNull::new(unsafe { rvmm_alloc_host_pgd() })
            .ok_or(kernel::error::code::ENOMEM)?;
        let this = HostPgd(page);
        if this.phys() & PTI_USER_PGTABLE != 0 {
            kernel::pr_err!("host page table at {:#x}: bit 12 set\n", this.phys());
            return Err(kernel::error::code::EINVAL);
        }
        // SAFETY: the pages are ours; the shim copies the entries the kernel shares between all
        // address spaces, which it never changes after boot.
        unsafe { rvmm_copy_kernel_pgd(this.0.as_ptr()) };
        Ok(this)
    }

    pub(crate) fn phys(&self) -> u64 {
        // SAFETY: a live `struct page`; page_to_phys() only computes.
        unsafe { rvmm_page_to_phys(self.0.as_ptr()) }
    }
}

impl Drop for HostPgd {
    fn drop(&mut self) {
        // SAFETY: allocated by `rvmm_alloc_host_pgd` and no CPU uses it as CR3 any more: the
        // hypervisor drops it after every CPU left VMX operation.
        unsafe { rvmm_free_host_pgd(self.0.as_ptr()) };
    }
}

// SAFETY: the table is written once, before any CPU uses it, and only read by hardware afterwards.
unsafe impl Send for HostPgd {}
// SAFETY: as above.
unsafe impl Sync for HostPgd {}

/// How a VMX instruction failed (SDM Vol. 3C, 31.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VmFail {
    /// VMfailInvalid: no current VMCS to hold an error number.
    Invalid,
    /// VMfailValid, with the VM-instruction error number.
    Valid(u32),
}

fn vm_result(cf: u8, zf: u8) -> Result<(), VmFail> {
    match (cf, zf) {
        (0, 0) => Ok(()),
        (0, _) => Err(VmFail::Valid(
            vmread(crate::vmx::fields::VM_INSTRUCTION_ERROR) as u32,
        )),
        _ => Err(VmFail::Invalid),
    }
}

/// Why VMXON did not enter VMX root operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VmxonError {
    /// #GP or #UD: IA32_FEATURE_CONTROL forbids VMXON on this CPU, or CR4.VMXE did not stick.
    Faulted,
    Failed(VmFail),
}

/// Enters VMX root operation with the VMXON region at `phys`. A fault is caught, not an oops.
///
/// # Safety
///
/// `phys` is a zeroed 4-KiB page carrying the VMCS revision id that stays allocated until VMXOFF.
pub(crate) unsafe fn vmxon(phys: u64) -> Result<(), VmxonError> {
    let (mut cf, mut zf) = (0u8, 0u8);
    // SAFETY: by the caller's contract; the shim's VMXON has an exception-table fixup, and writes
    // only the two flags.
    if unsafe { rvmm_vmxon(phys, &mut cf, &mut zf) } != 0 {
        return Err(VmxonError::Faulted);
    }
    vm_result(cf, zf).map_err(VmxonError::Failed)
}

/// This CPU in VMX root operation; made only by [`leave_vmx_operation`], whose contract its
/// instructions rely on.
struct RootOperation;

impl vmx_operation::VmxInstructions for RootOperation {
    fn vmclear(&mut self, vmcs: u64) {
        // SAFETY: in VMX root operation, and `vmcs` is this CPU's VMCS region (the contract of
        // leave_vmx_operation, the only maker of RootOperation). A VMCS that is not active (a
        // failed VMPTRLD) is cleared harmlessly, hence the result is not needed.
        let _ = unsafe { vmclear(vmcs) };
    }

    fn vmxoff(&mut self) {
        // SAFETY: in VMX root operation, with the VMCS cleared just before (vmx_operation::leave).
        unsafe { asm!("vmxoff", options(nostack)) };
    }
}

/// Leaves VMX operation on this CPU, clearing its VMCS first (rust/vmx/vmx_operation.rs).
///
/// # Safety
///
/// This CPU is in VMX root operation, `vmcs` is its VMCS region, and nothing will use the VMCS
/// again until it is cleared and loaded anew.
pub(crate) unsafe fn leave_vmx_operation(vmcs: u64) {
    vmx_operation::leave(&mut RootOperation, vmcs);
}

/// # Safety
///
/// In VMX root operation; `phys` is a VMCS region (4 KiB, revision id written) owned by the caller.
pub(crate) unsafe fn vmclear(phys: u64) -> Result<(), VmFail> {
    let (cf, zf): (u8, u8);
    // SAFETY: by the caller's contract.
    unsafe {
        asm!("vmclear [{}]", "setc {}", "setz {}", in(reg) &phys, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    vm_result(cf, zf)
}

/// # Safety
///
/// As for [`vmclear`]; the VMCS becomes this CPU's current VMCS.
pub(crate) unsafe fn vmptrld(phys: u64) -> Result<(), VmFail> {
    let (cf, zf): (u8, u8);
    // SAFETY: by the caller's contract.
    unsafe {
        asm!("vmptrld [{}]", "setc {}", "setz {}", in(reg) &phys, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    vm_result(cf, zf)
}

/// Reads a field of the current VMCS (0 if the CPU has no such field).
pub(crate) fn vmread(field: u32) -> u64 {
    let value: u64;
    // SAFETY: only called in VMX root operation with a current VMCS (set-up and exit handling);
    // VMREAD only writes `value` and the flags.
    unsafe {
        asm!("vmread {}, {}", out(reg) value, in(reg) u64::from(field), options(nostack, nomem))
    };
    value
}

/// Reads a field of the current VMCS, or `None` if the CPU has no such field (VMfailValid, which
/// sets the VM-instruction error field to 12: read that first).
pub(crate) fn vmread_checked(field: u32) -> Option<u64> {
    let value: u64;
    let (cf, zf): (u8, u8);
    // SAFETY: as for `vmread`; the flags say whether `value` was written.
    unsafe {
        asm!("xor {v:e}, {v:e}", "vmread {v}, {f}", "setc {cf}", "setz {zf}", v = out(reg) value,
             f = in(reg) u64::from(field), cf = out(reg_byte) cf, zf = out(reg_byte) zf,
             options(nostack, nomem));
    }
    (cf | zf == 0).then_some(value)
}

/// This CPU's RFLAGS.
pub(crate) fn read_rflags() -> u64 {
    let value: u64;
    // SAFETY: PUSHF and POP only use the stack slot they push.
    unsafe { asm!("pushfq", "pop {}", out(reg) value, options(nomem, preserves_flags)) };
    value
}

/// Writes a field of the current VMCS.
pub(crate) fn vmwrite(field: u32, value: u64) -> Result<(), VmFail> {
    let (cf, zf): (u8, u8);
    // SAFETY: only called in VMX root operation with a current VMCS that this CPU owns; a VMCS field
    // changes nothing until the next VM entry, which checks it.
    unsafe {
        asm!("vmwrite {}, {}", "setc {}", "setz {}", in(reg) u64::from(field), in(reg) value,
             out(reg_byte) cf, out(reg_byte) zf, options(nostack, nomem));
    }
    vm_result(cf, zf)
}

/// Writes a field of the current VMCS while handling a VM exit. VMWRITE fails only for an
/// unsupported or read-only encoding, and the exit handlers write fixed, writable fields that
/// every VMX CPU has, so the exit path spends no instructions testing for a failure.
pub(crate) fn vmwrite_in_exit(field: u32, value: u64) {
    // SAFETY: as for `vmwrite`; called in VMX root operation, from the exit handler.
    unsafe {
        asm!("vmwrite {}, {}", in(reg) u64::from(field), in(reg) value, options(nostack, nomem))
    };
}

/// Calls rvmm's hypervisor on this CPU: `function` in RAX, the result returned in RAX.
///
/// # Safety
///
/// This CPU runs under rvmm (VMCALL raises #UD otherwise), and `function` is one whose effect the
/// caller is prepared for (DEVIRTUALIZE returns on a CPU that has left VMX operation).
pub(crate) unsafe fn vmcall(function: u64) -> u64 {
    let result: u64;
    // SAFETY: by the caller's contract; the hypervisor preserves every register but RAX.
    unsafe { asm!("vmcall", inout("rax") function => result, options(nostack)) };
    result
}
