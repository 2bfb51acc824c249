// SPDX-License-Identifier: GPL-2.0

//! The checks VM entry makes before it loads the guest (Intel SDM Vol. 3C, chapter 27: 27.2 on the
//! controls and the host-state area, 27.3.1 on the guest-state area), as pure logic over a snapshot
//! of the VMCS and the CPU's capability MSRs. A CPU that fails an entry says only "VM-instruction
//! error 7" or "exit reason 33"; this names the rule and the values that broke it.
//!
//! The checks cover what can apply to a VMCS like rvmm's: a 64-bit host, an IA-32e mode guest
//! that is neither virtual-8086 nor an unrestricted guest, MSR bitmaps, no EPT. What is not
//! checked, and why, is listed in Documentation/rvmm.rst ("VM-entry checks"). Each rule is listed
//! once in [`RULES`] and checked in the order the SDM lists them; the SDM lets a CPU check in any
//! order, so a VMCS that breaks several rules gets all of them reported.

/// Defines each rule as a constant and lists them all in `RULES`.
macro_rules! rules {
    ($($id:ident $section:literal $name:literal;)*) => {
        $(pub const $id: super::Rule = super::Rule { section: $section, name: $name };)*
        pub const RULES: &[super::Rule] = &[$($id),*];
    };
}

pub mod controls;
pub mod guest;
pub mod host;
#[cfg(test)]
mod tests;

use super::{capabilities::Capabilities, fields, segment::Segment};
use core::fmt;

/// One rule of SDM chapter 27.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub section: &'static str,
    pub name: &'static str,
}

/// Every rule the checks implement, in the SDM's order.
pub const RULES: &[&[Rule]] = &[controls::RULES, host::RULES, guest::RULES];

/// How many rules the checks implement.
pub fn rule_count() -> usize {
    RULES.iter().map(|area| area.len()).sum()
}

/// A rule a VMCS broke, with the values involved (field or MSR name, value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    values: [(&'static str, u64); 3],
    len: usize,
}

impl Violation {
    pub fn values(&self) -> &[(&'static str, u64)] {
        &self.values[..self.len]
    }
}

impl fmt::Display for Violation {
    /// "SDM 27.3.1.1 guest CR0 fixed bits: GUEST_CR0=0x80050013 IA32_VMX_CR0_FIXED0=0x80000021"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDM {} {}:", self.rule.section, self.rule.name)?;
        for (name, value) in self.values() {
            write!(f, " {name}={value:#x}")?;
        }
        Ok(())
    }
}

/// What the checks need to know of the CPU besides its capability MSRs.
#[derive(Debug, Clone, Copy)]
pub struct CpuFacts<'a> {
    pub caps: &'a Capabilities,
    /// MAXPHYADDR (CPUID 0x80000008 EAX[7:0]). (IA32_VMX_BASIC bit 48, which would limit the VMCS's
    /// pointers to 4 GiB, is 0 on every CPU with Intel 64.)
    pub physical_address_bits: u32,
    /// 57 with 5-level paging support (CPUID 7 ECX[16]), else 48: what "canonical" means here.
    pub linear_address_bits: u32,
    /// Linear-address masking (CPUID 7.1 EAX[26]): CR3 bits 62:61 are then not reserved.
    pub lam: bool,
    /// RTM (CPUID 7 EBX[11]): bit 16 of the pending debug exceptions is then not reserved.
    pub rtm: bool,
    /// SGX (CPUID 7 EBX[2]): bit 4 of the interruptibility state (enclave interruption) may be set.
    pub sgx: bool,
    /// The CPU runs in IA-32e mode (IA32_EFER.LMA), as under any 64-bit kernel.
    pub ia32e_mode: bool,
}

/// The host state VM exit loads (SDM 25.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostState {
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    /// ES, CS, SS, DS, FS, GS, TR.
    pub selectors: [u16; 7],
    pub fs_base: u64,
    pub gs_base: u64,
    pub tr_base: u64,
    pub gdtr_base: u64,
    pub idtr_base: u64,
    pub sysenter_esp: u64,
    pub sysenter_eip: u64,
    pub rip: u64,
}

/// The guest state VM entry checks and loads (SDM 25.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuestState {
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub dr7: u64,
    pub debugctl: u64,
    pub sysenter_esp: u64,
    pub sysenter_eip: u64,
    pub rip: u64,
    pub rflags: u64,
    pub gdtr_base: u64,
    pub gdtr_limit: u32,
    pub idtr_base: u64,
    pub idtr_limit: u32,
    pub segments: [Segment; 8],
    pub activity: u32,
    pub interruptibility: u32,
    pub pending_debug: u64,
    pub link_pointer: u64,
}

/// The fields of a VMCS that the checks read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vmcs {
    pub pin: u32,
    pub primary: u32,
    pub secondary: u32,
    pub exit: u32,
    pub entry: u32,
    pub vpid: u16,
    pub cr3_target_count: u32,
    pub io_bitmaps: [u64; 2],
    pub msr_bitmap: u64,
    /// (count, address) of the VM-exit MSR-store, VM-exit MSR-load and VM-entry MSR-load areas.
    pub exit_msr_store: (u32, u64),
    pub exit_msr_load: (u32, u64),
    pub entry_msr_load: (u32, u64),
    pub entry_interruption_info: u32,
    pub entry_error_code: u32,
    pub entry_instruction_length: u32,
    pub host: HostState,
    pub guest: GuestState,
}

impl Vmcs {
    /// Reads the fields with `vmread`, which returns `None` for a field the CPU does not have
    /// (read as 0: e.g. the VPID of a CPU without VPID, whose control is then 0 too).
    pub fn read(mut vmread: impl FnMut(u32) -> Option<u64>) -> Self {
        use fields::*;
        let mut r = |field: u32| vmread(field).unwrap_or(0);
        let mut segments = [Segment::default(); 8];
        for (i, seg) in Seg::ALL.into_iter().enumerate() {
            segments[i] = Segment {
                selector: r(seg.guest_selector()) as u16,
                base: r(seg.guest_base()),
                limit: r(seg.guest_limit()) as u32,
                access_rights: r(seg.guest_access_rights()) as u32,
            };
        }
        let host_selectors = HOST_SELECTORS.map(|field| r(field) as u16);
        Vmcs {
            pin: r(PIN_BASED_CONTROLS) as u32,
            primary: r(PRIMARY_PROC_CONTROLS) as u32,
            secondary: r(SECONDARY_PROC_CONTROLS) as u32,
            exit: r(EXIT_CONTROLS) as u32,
            entry: r(ENTRY_CONTROLS) as u32,
            vpid: r(VPID) as u16,
            cr3_target_count: r(CR3_TARGET_COUNT) as u32,
            io_bitmaps: [r(IO_BITMAP_A), r(IO_BITMAP_B)],
            msr_bitmap: r(MSR_BITMAP),
            exit_msr_store: (r(EXIT_MSR_STORE_COUNT) as u32, r(EXIT_MSR_STORE_ADDR)),
            exit_msr_load: (r(EXIT_MSR_LOAD_COUNT) as u32, r(EXIT_MSR_LOAD_ADDR)),
            entry_msr_load: (r(ENTRY_MSR_LOAD_COUNT) as u32, r(ENTRY_MSR_LOAD_ADDR)),
            entry_interruption_info: r(ENTRY_INTERRUPTION_INFO) as u32,
            entry_error_code: r(ENTRY_EXCEPTION_ERROR_CODE) as u32,
            entry_instruction_length: r(ENTRY_INSTRUCTION_LEN) as u32,
            host: HostState {
                cr0: r(HOST_CR0),
                cr3: r(HOST_CR3),
                cr4: r(HOST_CR4),
                selectors: host_selectors,
                fs_base: r(HOST_FS_BASE),
                gs_base: r(HOST_GS_BASE),
                tr_base: r(HOST_TR_BASE),
                gdtr_base: r(HOST_GDTR_BASE),
                idtr_base: r(HOST_IDTR_BASE),
                sysenter_esp: r(HOST_SYSENTER_ESP),
                sysenter_eip: r(HOST_SYSENTER_EIP),
                rip: r(HOST_RIP),
            },
            guest: GuestState {
                cr0: r(GUEST_CR0),
                cr3: r(GUEST_CR3),
                cr4: r(GUEST_CR4),
                dr7: r(GUEST_DR7),
                debugctl: r(GUEST_IA32_DEBUGCTL),
                sysenter_esp: r(GUEST_SYSENTER_ESP),
                sysenter_eip: r(GUEST_SYSENTER_EIP),
                rip: r(GUEST_RIP),
                rflags: r(GUEST_RFLAGS),
                gdtr_base: r(GUEST_GDTR_BASE),
                gdtr_limit: r(GUEST_GDTR_LIMIT) as u32,
                idtr_base: r(GUEST_IDTR_BASE),
                idtr_limit: r(GUEST_IDTR_LIMIT) as u32,
                segments,
                activity: r(GUEST_ACTIVITY_STATE) as u32,
                interruptibility: r(GUEST_INTERRUPTIBILITY) as u32,
                pending_debug: r(GUEST_PENDING_DEBUG_EXCEPTIONS),
                link_pointer: r(VMCS_LINK_POINTER),
            },
        }
    }
}

/// Reports each rule `vmcs` breaks on a CPU with `cpu`'s facts to `report`, in the SDM's order.
/// Allocates nothing and never fails: usable in any context.
pub fn check(vmcs: &Vmcs, cpu: &CpuFacts<'_>, report: impl FnMut(Violation)) {
    let mut c = Checker { vmcs, cpu, report };
    controls::check(&mut c);
    host::check(&mut c);
    guest::check(&mut c);
}

/// How many rules `vmcs` breaks, and the first of them.
pub fn first_violation(vmcs: &Vmcs, cpu: &CpuFacts<'_>) -> (usize, Option<Violation>) {
    let (mut count, mut first) = (0, None);
    check(vmcs, cpu, |v| {
        count += 1;
        first.get_or_insert(v);
    });
    (count, first)
}

struct Checker<'a, F> {
    vmcs: &'a Vmcs,
    cpu: &'a CpuFacts<'a>,
    report: F,
}

impl<F: FnMut(Violation)> Checker<'_, F> {
    /// Reports `rule` broken, with up to three values, unless `ok`.
    fn require(&mut self, ok: bool, rule: Rule, values: &[(&'static str, u64)]) {
        if ok {
            return;
        }
        let mut v = Violation {
            rule,
            values: [("", 0); 3],
            len: values.len().min(3),
        };
        v.values[..v.len].copy_from_slice(&values[..v.len]);
        (self.report)(v);
    }

    /// Reports `rule` broken unless `value` (the field `name`) has every bit of `fixed.0` and none
    /// outside `fixed.1` (SDM Vol. 3D, A.7 and A.8); `register` is "CR0" or "CR4", for the MSR names.
    fn require_fixed(
        &mut self,
        rule: Rule,
        (name, value): (&'static str, u64),
        register: Cr,
        fixed: (u64, u64),
    ) {
        let ok = value & fixed.0 == fixed.0 && value & !fixed.1 == 0;
        let msrs = match register {
            Cr::Cr0 => ("IA32_VMX_CR0_FIXED0", "IA32_VMX_CR0_FIXED1"),
            Cr::Cr4 => ("IA32_VMX_CR4_FIXED0", "IA32_VMX_CR4_FIXED1"),
        };
        self.require(
            ok,
            rule,
            &[(name, value), (msrs.0, fixed.0), (msrs.1, fixed.1)],
        );
    }
}

/// A control register with fixed bits in VMX operation.
#[derive(Clone, Copy)]
enum Cr {
    Cr0,
    Cr4,
}

impl<F> Checker<'_, F> {
    /// The (must be 1, may be 1) settings of a control from its capability MSR, or its TRUE
    /// counterpart where IA32_VMX_BASIC bit 55 says there is one (SDM Vol. 3D, A.3-A.5).
    fn allowed(&self, msr: u32, true_msr: u32) -> (u32, u32) {
        let caps = self.cpu.caps;
        let has_true = caps.get(0x480).is_some_and(|basic| basic >> 55 & 1 != 0);
        let value = if has_true { caps.get(true_msr) } else { None }
            .or(caps.get(msr))
            .unwrap_or(0);
        (value as u32, (value >> 32) as u32)
    }

    fn canonical(&self, address: u64) -> bool {
        is_canonical(address, self.cpu.linear_address_bits)
    }

    /// Whether `address` has no bit set at or above MAXPHYADDR.
    fn physical(&self, address: u64) -> bool {
        address >> self.cpu.physical_address_bits.min(63) == 0
    }

    /// The FIXED0 and FIXED1 capability MSRs of `register`.
    fn fixed(&self, register: Cr) -> (u64, u64) {
        let first = match register {
            Cr::Cr0 => 0x486,
            Cr::Cr4 => 0x488,
        };
        let caps = self.cpu.caps;
        (
            caps.get(first).unwrap_or(0),
            caps.get(first + 1).unwrap_or(0),
        )
    }

    fn misc(&self) -> u64 {
        self.cpu.caps.get(0x485).unwrap_or(0)
    }
}

/// Whether bits 63:`bits`-1 of `address` are all equal (SDM Vol. 1, 3.3.7.1).
pub fn is_canonical(address: u64, bits: u32) -> bool {
    let shift = 64 - bits.clamp(1, 64);
    ((address << shift) as i64 >> shift) as u64 == address
}

/// Whether bit `n` of `value` is set.
fn bit(value: u64, n: u32) -> bool {
    value >> n & 1 != 0
}
