// SPDX-License-Identifier: GPL-2.0

//! One CPU under rvmm: its VMXON region, VMCS and host stack; turning the running kernel into the
//! guest (VMLAUNCH from the live state) and back (VMXOFF and a native return).

use crate::{
    entry_checker,
    exit_observer::Observers,
    fault_injection,
    guest_regs::GuestRegs,
    hand_over, hw,
    vmcs_setup::Shared,
    vmx::{
        control_fields, controls,
        entry_checks::Vmcs,
        entry_failure, exit_reason, fields, msr,
        native_resume::{native_resume, NativeResume},
        segment::{self, Segment},
        support::{self, CR4_VMXE},
    },
};
use core::{cell::UnsafeCell, mem::MaybeUninit};
use kernel::{
    page::Page,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

extern "C" {
    // asm/vmx.S
    fn rvmm_launch() -> u64;
    fn rvmm_launch_return();
    fn rvmm_vmexit();
    fn rvmm_vmexit_observed();
    // asm/shim.c
    fn rvmm_report_yield();
    fn rvmm_send_init_to_self();
}

const HOST_STACK_SIZE: usize = 16 * 1024;
const RFLAGS_CF: u64 = 1 << 0;
const RFLAGS_ZF: u64 = 1 << 6;

#[repr(C, align(16))]
struct HostStack([u8; HOST_STACK_SIZE]);

/// The set-up step that failed on a CPU, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Step {
    FixedBits = 1,
    Vmxon,
    Vmclear,
    Vmptrld,
    Vmwrite,
    Vmlaunch,
    /// VM entry failed a guest-state check and the CPU left VMX operation (SDM 27.8).
    GuestState,
    /// Another hypervisor entered VMX operation on this CPU first (CR4.VMXE set).
    InUse,
    /// rvmm's VM-entry checker refused the VMCS before VMLAUNCH (`check_vmcs=1`).
    EntryCheck,
    /// IA32_FEATURE_CONTROL forbids VMXON on this CPU (checked again at every launch: a CPU that
    /// comes online or resumes may have other firmware settings than at load).
    FeatureControl,
}

impl Step {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::FixedBits => "CR0/CR4 fixed-bit check",
            Step::Vmxon => "VMXON",
            Step::Vmclear => "VMCLEAR",
            Step::Vmptrld => "VMPTRLD",
            Step::Vmwrite => "VMWRITE",
            Step::Vmlaunch => "VMLAUNCH",
            Step::GuestState => "VM entry (guest state)",
            Step::InUse => "VMX ownership check",
            Step::EntryCheck => "VM-entry check",
            Step::FeatureControl => "IA32_FEATURE_CONTROL check",
        }
    }

    fn from_u32(value: u32) -> Option<Self> {
        [
            Step::FixedBits,
            Step::Vmxon,
            Step::Vmclear,
            Step::Vmptrld,
            Step::Vmwrite,
            Step::Vmlaunch,
            Step::GuestState,
            Step::InUse,
            Step::EntryCheck,
            Step::FeatureControl,
        ]
        .into_iter()
        .find(|s| *s as u32 == value)
    }
}

/// Error number meaning VMfailInvalid (no VMCS to hold a number).
pub(crate) const VMFAIL_INVALID: u32 = u32::MAX;
/// Error number of a failure made by fault injection.
pub(crate) const INJECTED: u32 = u32::MAX - 1;
/// Error number of a VMX instruction that faulted (#GP, #UD) instead of failing.
pub(crate) const FAULTED: u32 = u32::MAX - 2;

fn fail_code(fail: hw::VmFail) -> u32 {
    match fail {
        hw::VmFail::Invalid => VMFAIL_INVALID,
        hw::VmFail::Valid(error) => error,
    }
}

pub(crate) struct Vcpu {
    vmxon: Page,
    vmcs: Page,
    stack: KBox<MaybeUninit<HostStack>>,
    /// This CPU's row of exit counters, owned by the module, which drops it after every Vcpu.
    counters: *const [Atomic<u64>; exit_reason::COUNT],
    /// The latency histograms and exit trace, owned by the hypervisor, which outlives every Vcpu.
    observers: *const Observers,
    /// The CPU this Vcpu is for.
    cpu: u32,
    /// 1 while this CPU runs as rvmm's guest.
    running: Atomic<u32>,
    /// How set-up failed: step << 32 | error number; 0 if it did not.
    failure: Atomic<u64>,
    /// The exit reason (with bit 31 for a failed VM entry) that made rvmm leave this CPU on its own.
    stopped_by: Atomic<u32>,
    /// 1 once rvmm handed this CPU to another hypervisor.
    yielded: Atomic<u32>,
    /// The CPU has the monitor trap flag (see [`Vcpu::leave_after_step`]).
    monitor_trap_flag: bool,
    /// The kernel uses page-table isolation (see [`Vcpu::leave_vmx`]).
    page_table_isolation: bool,
    /// How rvmm leaves this CPU at the next MTF exit ([`Leaving`] as a number; 0: it does not).
    leaving_after_step: Atomic<u32>,
    /// What the last exit handler changed that a failed VM entry into user mode puts back.
    pub(crate) entry_undo: EntryUndo,
    /// The VMCS as the last failed or refused VM entry found it, read back for the checker. Written
    /// only by this CPU, in root mode or in the IPI that launches it; read once it is done.
    entry_vmcs: UnsafeCell<Vmcs>,
    /// RIP, CS, RFLAGS, RSP, SS: the IRET frame the exit stub resumes the guest natively with.
    /// Only this CPU writes it, in root mode, just before that IRET.
    iret_frame: UnsafeCell<[u64; 5]>,
}

// SAFETY: `counters` points into the module's exit counters and `observers` to the hypervisor's,
// which outlive every Vcpu and are only used through atomics (and a mutex); everything else is
// owned, and the mutable state shared with other CPUs is atomic.
unsafe impl Send for Vcpu {}
// SAFETY: as above; the VMCS, host stack, `entry_undo` and `iret_frame` are only used by hardware and
// by this CPU in root mode; `entry_vmcs` is written by this CPU and read by others only after it
// finished (the IPI that wrote it returned, or the CPU left VMX operation).
unsafe impl Sync for Vcpu {}

impl Vcpu {
    /// Bytes allocated per CPU: VMXON region, VMCS, host stack and this structure.
    pub(crate) const MEMORY: usize =
        2 * kernel::page::PAGE_SIZE + HOST_STACK_SIZE + size_of::<Self>();

    pub(crate) fn new(
        shared: &Shared,
        counters: *const [Atomic<u64>; exit_reason::COUNT],
        observers: &Observers,
        cpu: u32,
    ) -> Result<KBox<Self>> {
        let revision = shared.revision_id.to_le_bytes();
        fault_injection::allocation()?;
        let vmxon = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        fault_injection::allocation()?;
        let vmcs = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        // SAFETY: 4 bytes at offset 0 of pages we own: the revision id both regions start with.
        unsafe {
            vmxon.write_raw(revision.as_ptr(), 0, 4)?;
            vmcs.write_raw(revision.as_ptr(), 0, 4)?;
        }
        fault_injection::allocation()?;
        let stack = KBox::new_uninit(GFP_KERNEL)?;
        fault_injection::allocation()?;
        let this = KBox::new(
            Vcpu {
                vmxon,
                vmcs,
                stack,
                counters,
                observers,
                cpu,
                running: Atomic::new(0),
                failure: Atomic::new(0),
                stopped_by: Atomic::new(0),
                yielded: Atomic::new(0),
                monitor_trap_flag: shared.monitor_trap_flag,
                page_table_isolation: shared.page_table_isolation,
                leaving_after_step: Atomic::new(0),
                entry_undo: EntryUndo::new(),
                entry_vmcs: UnsafeCell::new(Vmcs::default()),
                iret_frame: UnsafeCell::new([0; 5]),
            },
            GFP_KERNEL,
        )?;
        // HOST_RSP points at the Vcpu pointer stored at the top of the stack, where the exit stub
        // finds it; the 8 bytes above it keep the guest's IA32_SPEC_CTRL while the stub runs with
        // the kernel's (asm/vmx.S). The Vcpu is boxed, so the pointer stays valid until it is freed.
        // SAFETY: the slot is inside the stack allocation and nothing else uses it.
        unsafe {
            this.host_rsp()
                .write(core::ptr::from_ref::<Vcpu>(&this) as u64)
        };
        Ok(this)
    }

    fn host_rsp(&self) -> *mut u64 {
        let top = self.stack.as_ptr() as usize + HOST_STACK_SIZE;
        (top - 16) as *mut u64
    }

    pub(crate) fn running(&self) -> bool {
        self.running.load(Relaxed) != 0
    }

    /// Records that this CPU runs as rvmm's guest (`on`) or left VMX operation; lock-free.
    fn set_running(&self, on: bool) {
        match (self.running.xchg(u32::from(on), Relaxed) != 0, on) {
            (false, true) => hand_over::cpu_entered(),
            (true, false) => hand_over::cpu_left(),
            _ => {}
        }
    }

    /// Why set-up failed on this CPU: the step and its error number.
    pub(crate) fn failure(&self) -> Option<(Step, u32)> {
        let value = self.failure.load(Relaxed);
        Step::from_u32((value >> 32) as u32).map(|step| (step, value as u32))
    }

    /// Reads the current VMCS back for the checker. On this CPU, in VMX root operation with its
    /// VMCS current: at set-up, or in root mode after a failed VM entry. Locks, allocates and
    /// prints nothing.
    pub(crate) fn save_entry_vmcs(&self) {
        // SAFETY: only this CPU writes the cell, and nobody reads it meanwhile (see the Sync
        // argument).
        unsafe { *self.entry_vmcs.get() = entry_checker::read_current_vmcs() };
    }

    /// The VMCS as [`Vcpu::save_entry_vmcs`] saved it. Called once this CPU stopped writing it.
    pub(crate) fn entry_vmcs(&self) -> Vmcs {
        // SAFETY: as above.
        unsafe { *self.entry_vmcs.get() }
    }

    pub(crate) fn stopped_by(&self) -> u32 {
        self.stopped_by.load(Relaxed)
    }

    /// Counts one exit; called in root mode, so lock-free.
    #[inline(always)]
    pub(crate) fn count(&self, reason: usize) {
        // SAFETY: `counters` is valid for the life of the Vcpu (see the Sync argument).
        if let Some(counter) = unsafe { &*self.counters }.get(reason) {
            counter.add(1, Relaxed);
        }
    }

    /// The latency histograms and exit trace this CPU records into.
    #[inline(always)]
    pub(crate) fn observers(&self) -> &Observers {
        // SAFETY: valid for the life of the Vcpu (see the Sync argument).
        unsafe { &*self.observers }
    }

    pub(crate) fn cpu(&self) -> u32 {
        self.cpu
    }

    fn fail(&self, step: Step, error: u32) {
        self.failure
            .store((step as u64) << 32 | u64::from(error), Relaxed);
    }

    /// Makes the caller, the kernel running on this CPU, rvmm's guest. Called in IPI context on the
    /// CPU itself, with interrupts off. On failure this CPU is left as it was, outside VMX.
    pub(crate) fn launch(&self, shared: &Shared, cpu: u32) {
        // A step made to fail by fault injection fails as if its instruction had.
        let injected = |step| fault_injection::step_fails(step, cpu);
        self.failure.store(0, Relaxed);
        self.leaving_after_step.store(0, Relaxed);
        let cr0 = hw::read_cr0();
        let cr4 = hw::read_cr4();
        // Checked again here, where nothing can come between the check and VMXON: another
        // hypervisor (kvm_intel loading at the same time) may have set VMXE since the load-time
        // check, and VMXON would then fail, or succeed under its feet before its own VMXON.
        if cr4 & CR4_VMXE != 0 {
            hand_over::begin();
            return self.fail(Step::InUse, 0);
        }
        let feature_control = if injected(Step::FeatureControl) {
            Some(0)
        } else {
            hw::rdmsr_safe(support::MSR_IA32_FEATURE_CONTROL)
        };
        if !support::feature_control_allows_vmxon(feature_control) {
            return self.fail(Step::FeatureControl, 0);
        }
        let (fixed0, fixed1) = shared.cr0_fixed;
        let (fixed4_0, fixed4_1) = shared.cr4_fixed;
        if !controls::satisfies_fixed(cr0, fixed0, fixed1)
            || !controls::satisfies_fixed(cr4 | CR4_VMXE, fixed4_0, fixed4_1)
        {
            return self.fail(Step::FixedBits, 0);
        }
        // Testing: VMXON without VMXE raises #UD, which must fail the launch, not oops.
        let vmxe = if fault_injection::vmxon_faults(cpu) {
            0
        } else {
            CR4_VMXE
        };
        // SAFETY: VMXE is a bit the kernel does not track (its CR4 shadow never has it); the guest
        // reads it as set through the CR4 read shadow, which only its emergency code acts on.
        unsafe { hw::write_cr4(cr4 | vmxe) };
        let outside_vmx = |this: &Self, step, error| {
            this.fail(step, error);
            // SAFETY: restores the CR4 this CPU had.
            unsafe { hw::write_cr4(cr4) };
        };
        if injected(Step::Vmxon) {
            return outside_vmx(self, Step::Vmxon, INJECTED);
        }
        // SAFETY: the region is ours with its revision id, kept until after VMXOFF.
        match unsafe { hw::vmxon(hw::page_phys(&self.vmxon)) } {
            Ok(()) => {}
            Err(hw::VmxonError::Faulted) => return outside_vmx(self, Step::Vmxon, FAULTED),
            Err(hw::VmxonError::Failed(fail)) => {
                return outside_vmx(self, Step::Vmxon, fail_code(fail))
            }
        }
        let vmcs = hw::page_phys(&self.vmcs);
        let in_root = |this: &Self, step, error| {
            // SAFETY: in VMX root operation; the VMCS is ours and will not be used again.
            unsafe { hw::leave_vmx_operation(vmcs) };
            outside_vmx(this, step, error);
        };
        // SAFETY: in VMX root operation; the VMCS region is ours, with its revision id.
        if let Err(fail) = unsafe { hw::vmclear(vmcs) } {
            return in_root(self, Step::Vmclear, fail_code(fail));
        }
        if injected(Step::Vmclear) {
            return in_root(self, Step::Vmclear, INJECTED);
        }
        // SAFETY: as above.
        if let Err(fail) = unsafe { hw::vmptrld(vmcs) } {
            return in_root(self, Step::Vmptrld, fail_code(fail));
        }
        if injected(Step::Vmptrld) {
            return in_root(self, Step::Vmptrld, INJECTED);
        }
        if let Err(fail) = self.write_vmcs(shared, cr0, cr4 | CR4_VMXE) {
            return in_root(self, Step::Vmwrite, fail_code(fail));
        }
        if injected(Step::Vmwrite) {
            return in_root(self, Step::Vmwrite, INJECTED);
        }
        fault_injection::corrupt_vmcs(cpu);
        if entry_checker::enabled() {
            self.save_entry_vmcs();
            let broken = shared.facts.violations(&self.entry_vmcs());
            if broken != 0 {
                return in_root(self, Step::EntryCheck, broken as u32);
            }
        }
        if injected(Step::Vmlaunch) {
            return in_root(self, Step::Vmlaunch, INJECTED);
        }
        self.set_running(true);
        // A failed VMLAUNCH leaves VMX whatever CPL the VMCS shows: the guest is this kernel, here,
        // and a retry would only fail again (a corrupted SS.DPL would otherwise look like user mode).
        self.entry_undo.launching();
        // SAFETY: the VMCS is current and complete but for RSP, which the trampoline writes (RIP and
        // RFLAGS are its return point and these flags, written above); the guest continues right here.
        match unsafe { rvmm_launch() } {
            0 if self.running() => {}
            0 => {
                // The entry failed on guest state; the exit handler already left VMX operation.
                self.fail(Step::GuestState, self.stopped_by());
            }
            result => {
                self.set_running(false);
                let error = match result {
                    1 => hw::vmread(fields::VM_INSTRUCTION_ERROR) as u32,
                    _ => VMFAIL_INVALID,
                };
                if result == 1 {
                    // After the error number: a VMREAD of a field the CPU lacks overwrites it.
                    self.save_entry_vmcs();
                }
                in_root(self, Step::Vmlaunch, error);
            }
        }
    }

    /// Fills the VMCS from this CPU's live state (SDM Vol. 3C, 25.4-25.8).
    fn write_vmcs(&self, shared: &Shared, cr0: u64, cr4: u64) -> Result<(), hw::VmFail> {
        use fields::*;
        let w = hw::vmwrite;

        for (field, value) in
            control_fields::fields_to_write(shared.controls, shared.msr_bitmap_phys, cr0, cr4)
        {
            w(field, value)?;
        }

        // Guest state: this CPU as it runs now.
        w(GUEST_CR0, cr0)?;
        w(GUEST_CR3, hw::read_cr3())?;
        w(GUEST_CR4, cr4)?;
        w(GUEST_DR7, hw::read_dr7())?;
        let gdt = hw::sgdt();
        let idt = hw::sidt();
        w(GUEST_GDTR_BASE, gdt.base)?;
        w(GUEST_GDTR_LIMIT, gdt.limit.into())?;
        w(GUEST_IDTR_BASE, idt.base)?;
        w(GUEST_IDTR_LIMIT, idt.limit.into())?;
        let selectors = hw::selectors();
        let gdt_table = (gdt.base, u32::from(gdt.limit));
        let ldtr = read_segment(selectors[Seg::Ldtr as usize], gdt_table, (0, 0));
        let ldt_table = (ldtr.base, ldtr.limit);
        let fs_base = hw::rdmsr(msr::MSR_FS_BASE);
        let gs_base = hw::rdmsr(msr::MSR_GS_BASE);
        let mut tr_base = 0;
        for seg in Seg::ALL {
            let selector = selectors[seg as usize];
            let mut s = match seg {
                // A user's selectors, which may name an LDT entry emptied since it was loaded.
                Seg::Ds | Seg::Es | Seg::Fs | Seg::Gs => {
                    Segment::data_register(selector, descriptor(selector, gdt_table, ldt_table))
                }
                _ => read_segment(selector, gdt_table, ldt_table),
            };
            match seg {
                Seg::Fs => s.base = fs_base,
                Seg::Gs => s.base = gs_base,
                Seg::Tr => tr_base = s.base,
                _ => {}
            }
            w(seg.guest_selector(), s.selector.into())?;
            w(seg.guest_base(), s.base)?;
            w(seg.guest_limit(), s.limit.into())?;
            w(seg.guest_access_rights(), s.access_rights.into())?;
        }
        let sysenter = [
            hw::rdmsr(msr::MSR_IA32_SYSENTER_CS),
            hw::rdmsr(msr::MSR_IA32_SYSENTER_ESP),
            hw::rdmsr(msr::MSR_IA32_SYSENTER_EIP),
        ];
        w(GUEST_IA32_DEBUGCTL, hw::rdmsr(msr::MSR_IA32_DEBUGCTL))?;
        w(GUEST_SYSENTER_CS, sysenter[0])?;
        w(GUEST_SYSENTER_ESP, sysenter[1])?;
        w(GUEST_SYSENTER_EIP, sysenter[2])?;
        // The trampoline continues after VMLAUNCH with CF and ZF clear: VMsucceed (asm/vmx.S).
        w(GUEST_RIP, rvmm_launch_return as usize as u64)?;
        w(GUEST_RFLAGS, hw::read_rflags() & !(RFLAGS_CF | RFLAGS_ZF))?;
        w(VMCS_LINK_POINTER, u64::MAX)?;
        w(GUEST_ACTIVITY_STATE, 0)?;
        w(GUEST_INTERRUPTIBILITY, 0)?;
        w(GUEST_PENDING_DEBUG_EXCEPTIONS, 0)?;

        // Host state: the same kernel, on rvmm's stack and page table. Selectors with RPL and TI
        // clear (SDM 27.2.3); DS, ES, FS and GS may be null in a 64-bit host.
        w(HOST_CR0, cr0)?;
        w(HOST_CR3, shared.host_cr3)?;
        w(HOST_CR4, cr4)?;
        w(HOST_CS_SELECTOR, (selectors[Seg::Cs as usize] & !7).into())?;
        w(HOST_SS_SELECTOR, (selectors[Seg::Ss as usize] & !7).into())?;
        for field in [
            HOST_DS_SELECTOR,
            HOST_ES_SELECTOR,
            HOST_FS_SELECTOR,
            HOST_GS_SELECTOR,
        ] {
            w(field, 0)?;
        }
        w(HOST_TR_SELECTOR, (selectors[Seg::Tr as usize] & !7).into())?;
        w(HOST_FS_BASE, fs_base)?;
        w(HOST_GS_BASE, gs_base)?;
        w(HOST_TR_BASE, tr_base)?;
        w(HOST_GDTR_BASE, gdt.base)?;
        w(HOST_IDTR_BASE, idt.base)?;
        w(HOST_SYSENTER_CS, sysenter[0])?;
        w(HOST_SYSENTER_ESP, sysenter[1])?;
        w(HOST_SYSENTER_EIP, sysenter[2])?;
        w(HOST_RSP, self.host_rsp() as u64)?;
        w(HOST_RIP, exit_stub(self.observers().any_on()))
    }

    /// Leaves VMX operation in root mode and arranges for the exit stub to resume the guest's code
    /// natively at `resume_rip`, with every register the kernel had (SDM Vol. 3C, 28.5 lists what
    /// a VM exit changed), at whatever privilege level it ran. Called on this CPU in root mode.
    /// `next` says who uses VMX on this CPU afterwards, and so whether CR4.VMXE stays set. Returns
    /// how the stub resumes (rust/vmx/native_resume.rs).
    pub(crate) fn leave_vmx(
        &self,
        regs: &mut GuestRegs,
        resume_rip: u64,
        next: VmxOwner,
    ) -> NativeResume {
        use fields::*;
        let r = hw::vmread;
        let rsp = r(GUEST_RSP);
        let rflags = r(GUEST_RFLAGS);
        let (cr0, cr3, cr4, dr7) = (r(GUEST_CR0), r(GUEST_CR3), r(GUEST_CR4), r(GUEST_DR7));
        let gdt = hw::TableRegister {
            limit: r(GUEST_GDTR_LIMIT) as u16,
            base: r(GUEST_GDTR_BASE),
        };
        let idt = hw::TableRegister {
            limit: r(GUEST_IDTR_LIMIT) as u16,
            base: r(GUEST_IDTR_BASE),
        };
        let selector = |seg: Seg| r(seg.guest_selector()) as u16;
        let msrs = [
            (msr::MSR_FS_BASE, r(Seg::Fs.guest_base())),
            (msr::MSR_GS_BASE, r(Seg::Gs.guest_base())),
            (msr::MSR_IA32_DEBUGCTL, r(GUEST_IA32_DEBUGCTL)),
            (msr::MSR_IA32_SYSENTER_CS, r(GUEST_SYSENTER_CS)),
            (msr::MSR_IA32_SYSENTER_ESP, r(GUEST_SYSENTER_ESP)),
            (msr::MSR_IA32_SYSENTER_EIP, r(GUEST_SYSENTER_EIP)),
        ];
        let (ds, es, fs, gs, ldtr) = (
            selector(Seg::Ds),
            selector(Seg::Es),
            selector(Seg::Fs),
            selector(Seg::Gs),
            selector(Seg::Ldtr),
        );
        let frame = [
            resume_rip,
            u64::from(selector(Seg::Cs)),
            rflags,
            rsp,
            u64::from(selector(Seg::Ss)),
        ];
        // A user-mode CR3 under page-table isolation maps no module code, which runs until the
        // IRET: take the kernel half of the same address space (bits 11 and 12 select the user
        // PCID and page table, arch/x86/entry/calling.h) until the kernel switches CR3 itself on
        // its next entry and exit. Without isolation user mode runs on the kernel's own CR3,
        // whose bits 11 and 12 may belong to the page table's address.
        let cpl = r(Seg::Ss.guest_access_rights()) >> 5 & 3;
        let resume = native_resume(
            cpl,
            r(GUEST_INTERRUPTIBILITY),
            rflags,
            selector(Seg::Cs),
            r(HOST_CS_SELECTOR) as u16,
        );
        let cr3 = if cpl != 0 && self.page_table_isolation {
            cr3 & !(1 << 11 | 1 << 12)
        } else {
            cr3
        };

        // The VMCS is written back to memory before VMX operation ends (SDM Vol. 3C, 25.11.1), as
        // KVM does: the page is freed at unload. Nothing uses it after this point: the exit stub
        // resumes natively.
        // SAFETY: in root mode; the VMCS is this CPU's own, current one, and every field needed
        // was read above.
        unsafe { hw::leave_vmx_operation(hw::page_phys(&self.vmcs)) };
        self.set_running(false);
        let cr4 = match next {
            VmxOwner::Nobody => cr4 & !CR4_VMXE,
            VmxOwner::Kernel => cr4 | CR4_VMXE,
        };
        // SAFETY: each value is the guest's, i.e. the kernel's own state before this exit; CR4
        // loses VMXE unless the kernel set it for its own VMXON. The tables and selectors are the
        // ones it used.
        unsafe {
            hw::write_cr4(cr4);
            hw::write_cr0(cr0);
            hw::write_cr3(cr3);
            hw::load_descriptor_tables(gdt, idt);
        }
        hw::reload_tr();
        // SAFETY: the guest's LDTR, valid in the GDT just loaded; the bases are restored next.
        unsafe { hw::load_selectors(ldtr, ds, es, fs, gs) };
        // FS and GS bases after their selectors, whose loads overwrote them.
        for (m, value) in msrs {
            // These MSRs exist on every CPU with VMX, and each value was the CPU's own.
            let _ = hw::wrmsr_safe(m, value);
        }
        // SAFETY: the guest's DR7.
        unsafe { hw::write_dr7(dr7) };
        match resume {
            NativeResume::Iret => {
                // SAFETY: only this CPU touches its frame, here and in the IRET that follows.
                unsafe { *self.iret_frame.get() = frame };
                regs.rsp = self.iret_frame.get() as u64;
            }
            NativeResume::KeepingNmiBlocked => {
                let below = rsp - 24;
                // SAFETY: 24 bytes below the RSP of kernel code (CPL 0, the host's CS), which the
                // kernel leaves free (no red zone: -mno-red-zone) and maps in every page table's
                // kernel half, as in rvmm's; the stub pops them right after.
                unsafe { (below as *mut [u64; 3]).write_unaligned([frame[4], rflags, resume_rip]) };
                regs.rsp = below;
            }
        }
        resume
    }

    /// Leaves VMX operation on this CPU of its own accord (an exit rvmm cannot handle, a failed VM
    /// entry, a triple fault), resuming the guest natively at `rip` so that the kernel meets the
    /// same condition as it would without rvmm.
    pub(crate) fn stop(&self, regs: &mut GuestRegs, reason: u32, rip: u64) -> NativeResume {
        self.stopped_by.store(reason, Relaxed);
        self.leave_vmx(regs, rip, VmxOwner::Nobody)
    }

    /// An INIT reached this CPU under rvmm: leave VMX operation and send this CPU an INIT again
    /// through its local APIC, which it now obeys (INIT is blocked only in VMX root operation), so
    /// that it resets and waits for SIPI as a CPU without rvmm does, and the SIPI that follows starts
    /// it at the SIPI's vector natively. Nothing of the guest's state is restored: INIT resets it.
    /// Quick, because the SIPI follows the INIT closely (Linux sends it right after, and again 10 us
    /// later) and a SIPI only counts in wait-for-SIPI. Called on this CPU in root mode; never returns.
    pub(crate) fn reset_by_init(&self) -> ! {
        self.stopped_by.store(exit_reason::INIT as u32, Relaxed);
        // SAFETY: in root mode with this CPU's own VMCS current; nothing uses it afterwards, and
        // the INIT below discards this CPU's state anyway.
        unsafe { hw::leave_vmx_operation(hw::page_phys(&self.vmcs)) };
        self.set_running(false);
        // SAFETY: an ICR write to this CPU's own local APIC, lock-free; the INIT it sends resets this
        // CPU, which is what the INIT that exited asked for.
        unsafe { rvmm_send_init_to_self() };
        loop {
            core::hint::spin_loop();
        }
    }

    /// Hands this CPU to another hypervisor in the kernel (see `vmxon` in rust/exit.rs): rvmm
    /// leaves VMX operation, CR4.VMXE set or not as `next` says, and the guest continues natively
    /// at `rip`: the exiting instruction again (VMXON) or the one after it (a completed CPUID).
    pub(crate) fn hand_over(
        &self,
        regs: &mut GuestRegs,
        reason: u32,
        rip: u64,
        next: VmxOwner,
    ) -> NativeResume {
        self.stopped_by.store(reason, Relaxed);
        self.yielded.store(1, Relaxed);
        let resume = self.leave_vmx(regs, rip, next);
        // SAFETY: NMI-safe (an irq_work, lock-free): the message is printed once this CPU takes
        // interrupts again, outside root mode.
        unsafe { rvmm_report_yield() };
        resume
    }

    /// Whether rvmm can let the guest take an injected #DB under VMX before it leaves (the monitor
    /// trap flag).
    pub(crate) fn can_step(&self) -> bool {
        self.monitor_trap_flag
    }

    /// Leaves this CPU as `leaving` says at the next MTF exit.
    pub(crate) fn leave_after_step(&self, leaving: Leaving) {
        self.leaving_after_step.store(leaving as u32, Relaxed);
    }

    /// The leave an MTF exit was waited for, if any; there is none afterwards.
    pub(crate) fn take_leave_after_step(&self) -> Option<Leaving> {
        match self.leaving_after_step.xchg(0, Relaxed) {
            1 => Some(Leaving::Devirtualize),
            2 => Some(Leaving::HandOver),
            _ => None,
        }
    }

    /// Whether this CPU was handed to another hypervisor (see [`Vcpu::hand_over`]).
    pub(crate) fn yielded(&self) -> bool {
        self.yielded.load(Relaxed) != 0
    }
}

/// HOST_RIP: the exit stub that times and records exits (`observed`), or the one that does not.
pub(crate) fn exit_stub(observed: bool) -> u64 {
    if observed {
        rvmm_vmexit_observed as usize as u64
    } else {
        rvmm_vmexit as usize as u64
    }
}

/// Why rvmm leaves a CPU once the instruction that exited is complete.
#[derive(Clone, Copy)]
#[repr(u32)]
pub(crate) enum Leaving {
    /// VMXOFF from the kernel, or rvmm's own DEVIRTUALIZE: nobody uses VMX afterwards.
    Devirtualize = 1,
    /// A CPUID leaf 1 after rvmm gave a CPU to another hypervisor: this CPU goes to it too.
    HandOver = 2,
}

/// Who is in VMX operation on a CPU after rvmm leaves it.
#[derive(Clone, Copy)]
pub(crate) enum VmxOwner {
    Nobody,
    /// Another hypervisor in the kernel, which has set CR4.VMXE for its VMXON.
    Kernel,
}

/// What an exit handler changed in a user-mode guest's state, for a retry after a failed VM entry
/// (rust/vmx/entry_failure.rs). A plain cell, not an atomic: the kernel's atomics are calls into C,
/// two more per exit, and only this CPU touches its cell, in root mode.
pub(crate) struct EntryUndo(UnsafeCell<u64>);

impl EntryUndo {
    fn new() -> Self {
        EntryUndo(UnsafeCell::new(entry_failure::NOT_SKIPPED))
    }

    fn set(&self, value: u64) -> u64 {
        // SAFETY: only this CPU uses its Vcpu's cell, in VMX root operation with interrupts off, and
        // no NMI handler looks at it: no other access overlaps this one.
        unsafe { self.0.get().replace(value) }
    }

    /// A new exit: its handler changed nothing yet.
    #[inline(always)]
    pub(crate) fn clear(&self) {
        self.set(entry_failure::NOT_SKIPPED);
    }

    /// The handler advanced RIP from `rip`.
    #[inline(always)]
    pub(crate) fn skipped_from(&self, rip: u64) {
        self.set(rip);
    }

    /// The next entry is VMLAUNCH: if it fails, there is nothing to retry.
    fn launching(&self) {
        self.set(entry_failure::RETRYING);
    }

    /// What the handler changed; the next entry is a retry.
    pub(crate) fn take_for_retry(&self) -> u64 {
        self.set(entry_failure::RETRYING)
    }
}

/// A descriptor table as (base, limit).
type Table = (u64, u32);

/// The first 8 bytes of the descriptor `selector` names in the GDT or the LDT; `None` past the
/// table's limit.
fn descriptor(selector: u16, gdt: Table, ldt: Table) -> Option<u64> {
    let (base, limit) = if segment::in_ldt(selector) { ldt } else { gdt };
    segment::within_limit(selector, limit).then(|| {
        // SAFETY: the table is the one this CPU uses (its GDTR, or the LDT its LDTR selects, which
        // the kernel keeps mapped while loaded), and the descriptor lies within its limit.
        unsafe { hw::read_descriptor(base, segment::table_offset(selector)) }
    })
}

/// Decodes CS, SS, LDTR or TR, which hold the kernel's own selectors, from the GDT or LDT.
fn read_segment(selector: u16, gdt: Table, ldt: Table) -> Segment {
    if segment::is_null(selector) {
        return Segment::unusable(selector);
    }
    let Some(low) = descriptor(selector, gdt, ldt) else {
        return Segment::unusable(selector);
    };
    // System descriptors (LDT, TSS) are 16 bytes in IA-32e mode.
    let high = if low & (1 << 44) == 0 {
        descriptor(selector + 8, gdt, ldt).unwrap_or(0)
    } else {
        0
    };
    Segment::from_descriptor(selector, low, high)
}
