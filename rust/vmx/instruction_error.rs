// SPDX-License-Identifier: GPL-2.0

//! VM-instruction error numbers in words (Intel SDM Vol. 3C, 31.4), and the flags a VMX instruction
//! leaves (31.2).

/// CF, PF, AF, ZF, SF and OF: how a VMX instruction reports VMsucceed, VMfailInvalid, VMfailValid.
const STATUS_FLAGS: u64 = 0x8d5;

/// RFLAGS after a VMX instruction that succeeded: every status flag clear, the rest kept (31.2).
pub fn vm_succeed(rflags: u64) -> u64 {
    rflags & !STATUS_FLAGS
}

pub fn describe(error: u32) -> &'static str {
    match error {
        1 => "VMCALL executed in VMX root operation",
        2 => "VMCLEAR with invalid physical address",
        3 => "VMCLEAR with VMXON pointer",
        4 => "VMLAUNCH with non-clear VMCS",
        5 => "VMRESUME with non-launched VMCS",
        6 => "VMRESUME after VMXOFF",
        7 => "VM entry with invalid control field(s)",
        8 => "VM entry with invalid host-state field(s)",
        9 => "VMPTRLD with invalid physical address",
        10 => "VMPTRLD with VMXON pointer",
        11 => "VMPTRLD with incorrect VMCS revision identifier",
        12 => "VMREAD/VMWRITE from/to unsupported VMCS component",
        13 => "VMWRITE to read-only VMCS component",
        15 => "VMXON executed in VMX root operation",
        16 => "VM entry with invalid executive-VMCS pointer",
        17 => "VM entry with non-launched executive VMCS",
        18 => "VM entry with executive-VMCS pointer not VMXON pointer",
        19 => "VMCALL with non-clear VMCS",
        20 => "VMCALL with invalid VM-exit control fields",
        22 => "VMCALL with incorrect MSEG revision identifier",
        23 => "VMXOFF under dual-monitor treatment of SMIs and SMM",
        24 => "VMCALL with invalid SMM-monitor features",
        25 => "VM entry with invalid VM-execution control fields in executive VMCS",
        26 => "VM entry with events blocked by MOV SS",
        28 => "Invalid operand to INVEPT/INVVPID",
        _ => "unknown VM-instruction error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_succeed_clears_only_the_status_flags() {
        // IF, the reserved bit 1, CF, ZF and OF set: only IF and bit 1 stay.
        assert_eq!(vm_succeed(0x200 | 0x2 | 0x1 | 0x40 | 0x800), 0x202);
        assert_eq!(vm_succeed(!0), !0x8d5);
    }

    #[test]
    fn known_and_unknown_numbers() {
        assert_eq!(describe(7), "VM entry with invalid control field(s)");
        assert_eq!(describe(8), "VM entry with invalid host-state field(s)");
        assert_eq!(describe(0), "unknown VM-instruction error");
        assert_eq!(describe(14), "unknown VM-instruction error");
    }
}
