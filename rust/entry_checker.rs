// SPDX-License-Identifier: GPL-2.0

//! Names the rule of SDM Vol. 3C chapter 27 that a VM entry broke (the rules are pure logic in
//! rust/vmx/entry_checks.rs): after a failed VMLAUNCH or VMRESUME rvmm reads the VMCS back and
//! logs each violated rule, once the CPU is out of root mode; with `check_vmcs=1` it checks the
//! VMCS before every VMLAUNCH and refuses one that breaks a rule.

use crate::{
    hw, module_parameters,
    vmx::{
        capabilities::Capabilities,
        entry_checks::{self, CpuFacts, Vmcs},
    },
};
use kernel::prelude::*;

/// What the checks need to know of the CPUs (all alike: rust/vmx_support.rs compares them).
pub(crate) struct Facts {
    caps: Capabilities,
    physical_address_bits: u32,
    linear_address_bits: u32,
    lam: bool,
    rtm: bool,
    sgx: bool,
}

impl Facts {
    /// The facts of the calling CPU, from CPUID, with the capability MSRs every CPU reported.
    pub(crate) fn new(caps: &Capabilities) -> Self {
        let max_leaf = hw::cpuid(0, 0)[0];
        let max_extended = hw::cpuid(0x8000_0000, 0)[0];
        let [_, ebx7, ecx7, _] = if max_leaf >= 7 {
            hw::cpuid(7, 0)
        } else {
            [0; 4]
        };
        let eax7_1 = if max_leaf >= 7 { hw::cpuid(7, 1)[0] } else { 0 };
        let physical_address_bits = if max_extended >= 0x8000_0008 {
            hw::cpuid(0x8000_0008, 0)[0] & 0xff
        } else {
            36
        };
        Facts {
            caps: *caps,
            physical_address_bits,
            linear_address_bits: if ecx7 >> 16 & 1 != 0 { 57 } else { 48 },
            lam: eax7_1 >> 26 & 1 != 0,
            rtm: ebx7 >> 11 & 1 != 0,
            sgx: ebx7 >> 2 & 1 != 0,
        }
    }

    fn cpu(&self) -> CpuFacts<'_> {
        CpuFacts {
            caps: &self.caps,
            physical_address_bits: self.physical_address_bits,
            linear_address_bits: self.linear_address_bits,
            lam: self.lam,
            rtm: self.rtm,
            sgx: self.sgx,
            // rvmm runs under a 64-bit kernel only.
            ia32e_mode: true,
        }
    }

    /// How many rules `vmcs` breaks. Allocates, locks and prints nothing: usable in root mode.
    pub(crate) fn violations(&self, vmcs: &Vmcs) -> usize {
        entry_checks::first_violation(vmcs, &self.cpu()).0
    }

    /// Logs each rule `vmcs`, CPU `id`'s VMCS as a VM entry failed with it, breaks. Process
    /// context.
    pub(crate) fn log(&self, id: usize, vmcs: &Vmcs) {
        let mut count = 0;
        entry_checks::check(vmcs, &self.cpu(), |v| {
            count += 1;
            // The kernel's formatting takes core::fmt::Display through Arguments.
            pr_err!("CPU{id}: VM entry check failed: {}\n", format_args!("{v}"));
        });
        if count == 0 {
            pr_err!(
                "CPU{id}: the VMCS breaks none of the rules rvmm checks (Documentation/rvmm.rst lists \
                 them and what is not checked); please report this with the kernel log\n"
            );
        }
    }
}

/// The current VMCS, read back. VMX root operation, with this CPU's VMCS current.
pub(crate) fn read_current_vmcs() -> Vmcs {
    Vmcs::read(hw::vmread_checked)
}

/// Whether the VMCS is to be checked before every VMLAUNCH (`check_vmcs=1`).
pub(crate) fn enabled() -> bool {
    *module_parameters::check_vmcs.value() != 0
}

/// Says at load that the checker runs, and how much it checks.
pub(crate) fn announce() {
    if enabled() {
        pr_info!(
            "check_vmcs=1: each VMCS is checked against {} VM-entry rules of SDM Vol. 3C chapter 27 before VMLAUNCH\n",
            entry_checks::rule_count()
        );
    }
}
