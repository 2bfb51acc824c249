// SPDX-License-Identifier: GPL-2.0

//! VM-exit handling. Runs in VMX root operation with interrupts off, at any point of the guest
//! kernel, which may hold any lock: nothing here locks, sleeps, allocates or prints (SDM Vol. 3C,
//! chapter 26 lists which exits happen; Appendix C numbers them).

use crate::{
    fault_injection,
    guest_regs::GuestRegs,
    hand_over, hw,
    vcpu::{self, Leaving, Vcpu, VmxOwner},
    vmx::{
        controls::{ENTRY_IA32E_MODE_GUEST, PROC_MONITOR_TRAP_FLAG},
        cpuid,
        cr_access::{self, CrAccess},
        entry_failure::{self, Recovery, BLOCKING_BY_STI_OR_MOV_SS},
        event_injection::{self, Injection, HARDWARE_EXCEPTION, VALID},
        exit_reason::*,
        fields::{self, Seg},
        hypercall, instruction_error, msr,
        native_resume::NativeResume,
        rip,
        single_step::{self, PENDING_SINGLE_STEP},
        xcr,
    },
};

const DB: u8 = 1;
const UD: u8 = 6;
const GP: u8 = 13;
/// Activity state "active" (SDM 25.4.2).
const ACTIVE: u64 = 0;

/// What the exit stub does next.
#[repr(u64)]
enum Next {
    /// Resume the guest natively with IRETQ: rvmm has left VMX operation on this CPU.
    Natively = 0,
    Resume = 1,
    /// Resume the guest natively without IRET, NMIs still blocked (rust/vmx/native_resume.rs).
    NativelyKeepingNmiBlocked = 2,
}

impl From<NativeResume> for Next {
    fn from(resume: NativeResume) -> Self {
        match resume {
            NativeResume::Iret => Next::Natively,
            NativeResume::KeepingNmiBlocked => Next::NativelyKeepingNmiBlocked,
        }
    }
}

/// Called by the exit stub (asm/vmx.S) for every VM exit.
///
/// # Safety
///
/// `regs` is the frame the stub built on this CPU's host stack and `vcpu` the pointer stored at
/// HOST_RSP: this CPU's Vcpu.
#[no_mangle]
unsafe extern "C" fn rvmm_handle_vmexit(regs: *mut GuestRegs, vcpu: *const Vcpu) -> u64 {
    // SAFETY: by the stub's contract; nothing else uses either while this CPU is in root mode.
    let (regs, vcpu) = unsafe { (&mut *regs, &*vcpu) };
    handle(regs, vcpu) as u64
}

/// Called by the observing exit stub (asm/vmx.S), which HOST_RIP points at while the latency
/// histogram or the exit trace is on: the same handling, timed from `exit_tsc`, the TSC the stub
/// read at the exit, and recorded (rust/exit_observer.rs).
///
/// # Safety
///
/// As for [`rvmm_handle_vmexit`].
#[no_mangle]
unsafe extern "C" fn rvmm_handle_vmexit_observed(
    regs: *mut GuestRegs,
    vcpu: *const Vcpu,
    exit_tsc: u64,
) -> u64 {
    // SAFETY: as above.
    let (regs, vcpu) = unsafe { (&mut *regs, &*vcpu) };
    vcpu.observers()
        .around(vcpu.cpu(), exit_tsc, || handle(regs, vcpu)) as u64
}

/// Called by the exit stub when VMRESUME itself failed (VMfailValid): see [`failed_entry`].
///
/// # Safety
///
/// As for [`rvmm_handle_vmexit`].
#[no_mangle]
unsafe extern "C" fn rvmm_handle_vmresume_failure(regs: *mut GuestRegs, vcpu: *const Vcpu) -> u64 {
    // SAFETY: as above.
    let (regs, vcpu) = unsafe { (&mut *regs, &*vcpu) };
    let error = hw::vmread(fields::VM_INSTRUCTION_ERROR) as u32;
    failed_entry(regs, vcpu, ENTRY_FAILURE | error) as u64
}

// Inlined into both stubs' entry points, so that the plain one stays a single call.
#[inline(always)]
fn handle(regs: &mut GuestRegs, vcpu: &Vcpu) -> Next {
    let reason = hw::vmread(fields::EXIT_REASON) as u32;
    let basic = (reason & 0xffff) as usize;
    // A reason past the SDM's list has neither a counter nor a handler.
    let Some(&handler) = HANDLERS.get(basic) else {
        return unexpected(regs, vcpu, reason);
    };
    vcpu.count(basic);
    if reason & ENTRY_FAILURE != 0 {
        return failed_entry(regs, vcpu, reason);
    }
    vcpu.entry_undo.clear();
    // One indexed call, not a chain of comparisons (the kernel builds without jump tables).
    handler(regs, vcpu, reason)
}

/// Handles one basic exit reason; gets the full exit-reason field.
type Handler = fn(&mut GuestRegs, &Vcpu, u32) -> Next;

/// The handler of each basic exit reason, indexed by its number.
static HANDLERS: [Handler; COUNT] = {
    let mut table: [Handler; COUNT] = [unexpected; COUNT];
    table[CPUID] = |regs, vcpu, _| emulate_cpuid(regs, vcpu);
    table[MSR_READ] = |regs, vcpu, _| emulate_rdmsr(regs, vcpu);
    table[MSR_WRITE] = |regs, vcpu, _| emulate_wrmsr(regs, vcpu);
    table[CR_ACCESS] = emulate_cr_access;
    table[XSETBV] = |regs, vcpu, _| emulate_xsetbv(regs, vcpu);
    table[INVD] = |_, vcpu, _| {
        // INVD would drop dirty lines the kernel owns; WBINVD keeps memory coherent.
        hw::wbinvd();
        skip_instruction(vcpu)
    };
    table[VMCALL] = |regs, vcpu, _| hypercall(regs, vcpu);
    // As on a CPU without VMX (or without SMX enabled, for GETSEC).
    let mut vmx_instruction = VMCLEAR;
    while vmx_instruction <= VMXON {
        table[vmx_instruction] = undefined_opcode;
        vmx_instruction += 1;
    }
    table[VMXOFF] = vmxoff;
    table[MONITOR_TRAP_FLAG] = monitor_trap;
    table[VMXON] = vmxon;
    table[INVEPT] = undefined_opcode;
    table[INVVPID] = undefined_opcode;
    table[VMFUNC] = undefined_opcode;
    table[GETSEC] = undefined_opcode;
    table[EXCEPTION_NMI] = |_, _, _| reflect_event();
    // Not enabled; if it happens the interrupt is still pending and reaches the guest.
    table[EXTERNAL_INTERRUPT] = |_, _, _| Next::Resume;
    // INIT exits in VMX non-root operation and is blocked in root operation (SDM 26.2, 25.8). A
    // real CPU resets and waits for SIPI; so does this one, natively (see Vcpu::reset_by_init), and
    // the SIPI starts it at the vector, as after a crash kexec the next kernel expects of a CPU
    // that the crashed one left under rvmm. Never returns.
    table[INIT] = |_, vcpu, _| vcpu.reset_by_init();
    // Only in wait-for-SIPI, which rvmm never enters.
    table[SIPI] = |_, _, _| Next::Resume;
    // Leave VMX and let the faulting instruction run natively, so that the machine resets as it
    // would without rvmm.
    table[TRIPLE_FAULT] = stop;
    table
};

fn undefined_opcode(_: &mut GuestRegs, _: &Vcpu, _: u32) -> Next {
    inject(UD, None)
}

/// VMXOFF from the kernel: the CPU leaves VMX operation, as the kernel asked, and continues natively
/// after the instruction with VMsucceed (SDM Vol. 3C, 31.3 "VMXOFF"; 31.2 for the flags). This is how
/// the kernel's emergency code takes every CPU out of VMX on panic, kdump and emergency reboot.
/// From user mode, #UD as on a CPU without VMX.
fn vmxoff(regs: &mut GuestRegs, vcpu: &Vcpu, _: u32) -> Next {
    if guest_cpl() != 0 {
        return inject(UD, None);
    }
    let rflags = hw::vmread(fields::GUEST_RFLAGS);
    hw::vmwrite_in_exit(fields::GUEST_RFLAGS, instruction_error::vm_succeed(rflags));
    if fault_injection::ignore_vmxoff() {
        // Testing: as if rvmm had no crash hook on this CPU, which stays under rvmm.
        return skip_instruction(vcpu);
    }
    leave_after(regs, vcpu, Leaving::Devirtualize)
}

/// Leaves VMX operation on this CPU once the instruction that exited is complete. IRETQ, with which
/// the kernel resumes natively, would lose a debug exception the guest is owed (the single-step
/// trap after this instruction): then rvmm injects it and leaves at the MTF exit that follows its
/// delivery, on the #DB handler's first instruction (rust/vmx/single_step.rs). Only from CPL 0,
/// where the #DB handler runs on the kernel's CR3 and stack.
fn leave_after(regs: &mut GuestRegs, vcpu: &Vcpu, leaving: Leaving) -> Next {
    let _ = skip_instruction(vcpu);
    let pending = hw::vmread(fields::GUEST_PENDING_DEBUG_EXCEPTIONS);
    let dr6 = if vcpu.can_step() {
        single_step::dr6_for_injection(pending, hw::read_dr6())
    } else {
        None
    };
    let Some(dr6) = dr6 else {
        return leave_now(regs, vcpu, leaving);
    };
    // SAFETY: DR6 is the guest's (VM exits and entries leave it alone), and the #DB injected next
    // reports these conditions in it, as its delivery by the CPU would have.
    unsafe { hw::write_dr6(dr6) };
    hw::vmwrite_in_exit(fields::GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    let dr7 = hw::vmread(fields::GUEST_DR7);
    hw::vmwrite_in_exit(fields::GUEST_DR7, dr7 & !single_step::DR7_GD);
    let _ = inject(DB, None);
    vcpu.leave_after_step(leaving);
    let primary = hw::vmread(fields::PRIMARY_PROC_CONTROLS);
    hw::vmwrite_in_exit(
        fields::PRIMARY_PROC_CONTROLS,
        primary | u64::from(PROC_MONITOR_TRAP_FLAG),
    );
    Next::Resume
}

fn leave_now(regs: &mut GuestRegs, vcpu: &Vcpu, leaving: Leaving) -> Next {
    let rip = hw::vmread(fields::GUEST_RIP);
    match leaving {
        Leaving::Devirtualize => vcpu.leave_vmx(regs, rip, VmxOwner::Nobody),
        Leaving::HandOver => vcpu.hand_over(regs, CPUID as u32, rip, VmxOwner::Nobody),
    }
    .into()
}

/// The MTF exit a leave waited for (see [`leave_after`]); rvmm sets the flag for nothing else.
fn monitor_trap(regs: &mut GuestRegs, vcpu: &Vcpu, reason: u32) -> Next {
    let Some(leaving) = vcpu.take_leave_after_step() else {
        return unexpected(regs, vcpu, reason);
    };
    let primary = hw::vmread(fields::PRIMARY_PROC_CONTROLS);
    hw::vmwrite_in_exit(
        fields::PRIMARY_PROC_CONTROLS,
        primary & !u64::from(PROC_MONITOR_TRAP_FLAG),
    );
    leave_now(regs, vcpu, leaving)
}

/// VMXON from the kernel: another hypervisor that saw VMX in CPUID before rvmm hid it (kvm_intel
/// loading while rvmm loads) wants this CPU. The kernel may leave rvmm at any time (VMXOFF), so it
/// may also take VMX over: rvmm leaves VMX operation with CR4.VMXE set, as the kernel set it for
/// its VMXON, and the VMXON runs again natively. A #UD instead would make KVM warn and fail. The
/// other CPUs follow at their next kernel-mode CPUID leaf 1, with which KVM checks each CPU for VMX
/// before its VMXON there (see [`emulate_cpuid`] and rust/hand_over.rs): one hypervisor ends up on
/// every CPU, not each on some. From user mode, #UD as on a CPU without VMX.
fn vmxon(regs: &mut GuestRegs, vcpu: &Vcpu, reason: u32) -> Next {
    if guest_cpl() != 0 {
        return inject(UD, None);
    }
    hand_over::begin();
    let rip = hw::vmread(fields::GUEST_RIP);
    vcpu.hand_over(regs, reason, rip, VmxOwner::Kernel).into()
}

/// An exit rvmm does not expect: user code gets #UD, as from an instruction the CPU lacks; the
/// kernel leaves VMX on this CPU and meets natively whatever made it exit.
fn unexpected(regs: &mut GuestRegs, vcpu: &Vcpu, reason: u32) -> Next {
    if guest_cpl() != 0 {
        inject(UD, None)
    } else {
        stop(regs, vcpu, reason)
    }
}

/// A VM entry failed: the kernel leaves VMX on this CPU, user mode is entered again with #UD at
/// the exiting instruction (rust/vmx/entry_failure.rs says why, and what is put back).
fn failed_entry(regs: &mut GuestRegs, vcpu: &Vcpu, reason: u32) -> Next {
    let rip = match entry_failure::recover(guest_cpl(), vcpu.entry_undo.take_for_retry()) {
        Recovery::LeaveVmx => {
            // For the checker to name the rule once the CPU is out of root mode.
            vcpu.save_entry_vmcs();
            fault_injection::undo_vmcs_corruption();
            return stop(regs, vcpu, reason);
        }
        Recovery::RetryWithUd { rip } => rip,
    };
    if let Some(rip) = rip {
        hw::vmwrite_in_exit(fields::GUEST_RIP, rip);
    }
    let interruptibility = hw::vmread(fields::GUEST_INTERRUPTIBILITY);
    hw::vmwrite_in_exit(
        fields::GUEST_INTERRUPTIBILITY,
        interruptibility & !BLOCKING_BY_STI_OR_MOV_SS,
    );
    hw::vmwrite_in_exit(fields::GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    hw::vmwrite_in_exit(fields::GUEST_ACTIVITY_STATE, ACTIVE);
    inject(UD, None)
}

fn stop(regs: &mut GuestRegs, vcpu: &Vcpu, reason: u32) -> Next {
    vcpu.stop(regs, reason, hw::vmread(fields::GUEST_RIP))
        .into()
}

/// The address of the instruction after the one at `rip` that exited, wrapped as the CPU would in
/// the guest's mode: a 4-GiB wrap in compatibility mode must not become a RIP that VM entry refuses.
fn next_rip(rip: u64) -> u64 {
    rip::next_rip(rip, hw::vmread(fields::EXIT_INSTRUCTION_LEN), || {
        rip::is_64bit_mode(
            hw::vmread(fields::ENTRY_CONTROLS) as u32 & ENTRY_IA32E_MODE_GUEST != 0,
            hw::vmread(Seg::Cs.guest_access_rights()) as u32,
        )
    })
}

/// Completes the exiting instruction as executing it would have: advance RIP, end an STI/MOV SS
/// interrupt shadow, and, if the guest is single-stepping, raise the single-step trap the
/// instruction owes it (the CPU delivers it after VM entry, setting DR6.BS; rust/vmx/single_step.rs
/// says when one is owed).
#[inline(always)]
fn skip_instruction(vcpu: &Vcpu) -> Next {
    let rip = hw::vmread(fields::GUEST_RIP);
    vcpu.entry_undo.skipped_from(rip);
    hw::vmwrite_in_exit(fields::GUEST_RIP, next_rip(rip));
    if single_step::trap_owed(hw::vmread(fields::GUEST_RFLAGS), || {
        hw::vmread(fields::GUEST_IA32_DEBUGCTL)
    }) {
        let pending = hw::vmread(fields::GUEST_PENDING_DEBUG_EXCEPTIONS);
        hw::vmwrite_in_exit(
            fields::GUEST_PENDING_DEBUG_EXCEPTIONS,
            pending | PENDING_SINGLE_STEP,
        );
    }
    let interruptibility = hw::vmread(fields::GUEST_INTERRUPTIBILITY);
    if interruptibility & BLOCKING_BY_STI_OR_MOV_SS != 0 {
        hw::vmwrite_in_exit(
            fields::GUEST_INTERRUPTIBILITY,
            interruptibility & !BLOCKING_BY_STI_OR_MOV_SS,
        );
    }
    Next::Resume
}

/// Raises a fault in the guest at the exiting instruction (RIP stays on it).
fn inject(vector: u8, error_code: Option<u32>) -> Next {
    deliver(event_injection::exception(vector, error_code))
}

/// Delivers an exception or NMI that exited back to the guest, unchanged. None exits with rvmm's
/// controls (exception bitmap 0, no #PF exits); this keeps the guest whole if one ever does.
fn reflect_event() -> Next {
    deliver(event_injection::reflection(
        hw::vmread(fields::EXIT_INTERRUPTION_INFO) as u32,
        hw::vmread(fields::EXIT_INTERRUPTION_ERROR_CODE) as u32,
        hw::vmread(fields::EXIT_QUALIFICATION),
    ))
}

fn deliver(event: Injection) -> Next {
    if let Some(address) = event.cr2 {
        // SAFETY: the guest's CR2 is the CPU's (VM entry neither saves nor loads it), and the #PF
        // delivered next reports this address in it.
        unsafe { hw::write_cr2(address) };
    }
    if let Some(code) = event.error_code {
        hw::vmwrite_in_exit(fields::ENTRY_EXCEPTION_ERROR_CODE, code.into());
    }
    hw::vmwrite_in_exit(fields::ENTRY_INTERRUPTION_INFO, event.info.into());
    Next::Resume
}

/// The guest's privilege level: SS.DPL (SDM 25.4.1).
fn guest_cpl() -> u64 {
    hw::vmread(Seg::Ss.guest_access_rights()) >> 5 & 3
}

fn emulate_cpuid(regs: &mut GuestRegs, vcpu: &Vcpu) -> Next {
    let (leaf, subleaf) = (regs.rax as u32, regs.rcx as u32);
    // From the kernel only: a user process must not take a CPU out of rvmm.
    let handing_over = leaf == 1 && hand_over::in_progress() && guest_cpl() == 0;
    let [eax, ebx, ecx, edx] = if handing_over {
        // Another hypervisor took a CPU and checks this one for VMX: it gets the CPU's own
        // answer, showing VMX, and this CPU too once the CPUID is complete.
        hw::cpuid(leaf, subleaf)
    } else {
        cpuid::answer(leaf, || hw::cpuid(leaf, subleaf))
    };
    regs.rax = eax.into();
    regs.rbx = ebx.into();
    regs.rcx = ecx.into();
    regs.rdx = edx.into();
    if handing_over {
        return leave_after(regs, vcpu, Leaving::HandOver);
    }
    skip_instruction(vcpu)
}

fn emulate_rdmsr(regs: &mut GuestRegs, vcpu: &Vcpu) -> Next {
    let index = regs.rcx as u32;
    let value = match msr::read_policy(index) {
        msr::Read::Native => hw::rdmsr_safe(index),
        msr::Read::Masked(hidden) => hw::rdmsr_safe(index).map(|v| v & !hidden),
        msr::Read::Fault => None,
    };
    match value {
        Some(value) => {
            regs.set_edx_eax(value);
            skip_instruction(vcpu)
        }
        None => inject(GP, Some(0)),
    }
}

/// Writes to MSRs outside the bitmap's ranges exit, and those to IA32_BIOS_UPDT_TRIG, a microcode
/// update, which root mode makes (rust/vmx/msr.rs); the CPU decides whether they exist.
fn emulate_wrmsr(regs: &mut GuestRegs, vcpu: &Vcpu) -> Next {
    match hw::wrmsr_safe(regs.rcx as u32, regs.edx_eax()) {
        Ok(()) => skip_instruction(vcpu),
        Err(()) => inject(GP, Some(0)),
    }
}

fn emulate_cr_access(regs: &mut GuestRegs, vcpu: &Vcpu, reason: u32) -> Next {
    let access = cr_access::decode(hw::vmread(fields::EXIT_QUALIFICATION));
    match access {
        // The kernel's own copy of CR4 lacks VMXE, so its writes clear it and exit.
        CrAccess::MovTo { cr: 4, gpr } => {
            let value = cr_access::cr4_after_write(regs.get(gpr));
            hw::vmwrite_in_exit(fields::GUEST_CR4, value);
            hw::vmwrite_in_exit(fields::CR4_READ_SHADOW, value);
        }
        // CR3 and CR8 exits only happen where the CPU cannot turn their exiting controls off.
        CrAccess::MovTo { cr: 3, gpr } => {
            // Bit 63 asks to keep the PCID's TLB entries; it is not part of CR3.
            hw::vmwrite_in_exit(fields::GUEST_CR3, regs.get(gpr) & !(1 << 63));
        }
        CrAccess::MovFrom { cr: 3, gpr } => regs.set(gpr, hw::vmread(fields::GUEST_CR3)),
        CrAccess::MovTo { cr: 8, gpr } => {
            // SAFETY: CR8 (the TPR) is shared by host and guest, which are the same kernel.
            unsafe { hw::write_cr8(regs.get(gpr)) }
        }
        CrAccess::MovFrom { cr: 8, gpr } => regs.set(gpr, hw::read_cr8()),
        _ => return stop(regs, vcpu, reason),
    }
    skip_instruction(vcpu)
}

fn emulate_xsetbv(regs: &mut GuestRegs, vcpu: &Vcpu) -> Next {
    let (index, value) = (regs.rcx as u32, regs.edx_eax());
    let [eax, _, _, edx] = hw::cpuid(0xd, 0);
    let supported = u64::from(edx) << 32 | u64::from(eax);
    if !xcr::xsetbv_allowed(index, value, supported) {
        return inject(GP, Some(0));
    }
    hw::xsetbv(index, value);
    skip_instruction(vcpu)
}

fn hypercall(regs: &mut GuestRegs, vcpu: &Vcpu) -> Next {
    if guest_cpl() != 0 {
        return match fault_injection::user_entry_failure() {
            Some(failure) => break_user_entry(vcpu, failure),
            None => inject(UD, None),
        };
    }
    match hypercall::decode(regs.rax) {
        hypercall::Call::Ping => regs.rax = hypercall::VERSION,
        hypercall::Call::Devirtualize => {
            regs.rax = 0;
            return leave_after(regs, vcpu, Leaving::Devirtualize);
        }
        hypercall::Call::Observe(on) => {
            // From the next exit on; this one returns through the stub it came in by.
            hw::vmwrite_in_exit(fields::HOST_RIP, vcpu::exit_stub(on));
            regs.rax = 0;
        }
        hypercall::Call::Unknown => {
            regs.rax = hypercall::UNKNOWN_FUNCTION;
            // Off the common paths: the test-only failure costs PING and other exits nothing.
            if fault_injection::kernel_entry_failure() {
                return break_kernel_entry(vcpu);
            }
        }
    }
    skip_instruction(vcpu)
}

/// Testing: completes a kernel-mode VMCALL of an unknown function, then makes the VM entry after it
/// fail on guest state (blocking by STI and by MOV SS at once, SDM 27.3.1.5), as a bug in rvmm would
/// at run time: the CPU leaves VMX and continues natively after the VMCALL, and rvmm names the rule
/// at unload.
#[cold]
fn break_kernel_entry(vcpu: &Vcpu) -> Next {
    let next = skip_instruction(vcpu);
    hw::vmwrite_in_exit(fields::GUEST_INTERRUPTIBILITY, BLOCKING_BY_STI_OR_MOV_SS);
    next
}

/// Testing: makes the coming VM entry into user mode fail, as a bug in rvmm would.
#[cold]
fn break_user_entry(vcpu: &Vcpu, failure: fault_injection::UserEntryFailure) -> Next {
    match failure {
        fault_injection::UserEntryFailure::GuestState => {
            // RIP advanced, as for an emulated instruction (the retry must put it back), and
            // blocking by STI and by MOV SS at once, which fails the guest-state checks
            // (SDM 27.3.1.5).
            let rip = hw::vmread(fields::GUEST_RIP);
            vcpu.entry_undo.skipped_from(rip);
            hw::vmwrite_in_exit(fields::GUEST_RIP, next_rip(rip));
            hw::vmwrite_in_exit(fields::GUEST_INTERRUPTIBILITY, BLOCKING_BY_STI_OR_MOV_SS);
        }
        fault_injection::UserEntryFailure::EntryControl => {
            // A reserved bit of the event to inject: VMfailValid (SDM 27.2.1.3).
            let info = VALID | HARDWARE_EXCEPTION | u32::from(UD) | 1 << 30;
            hw::vmwrite_in_exit(fields::ENTRY_INTERRUPTION_INFO, info.into());
        }
    }
    Next::Resume
}
