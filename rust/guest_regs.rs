// SPDX-License-Identifier: GPL-2.0

//! The guest's general-purpose registers as the VM-exit stub (asm/vmx.S) saves them.

use crate::{hw, vmx::fields};

/// Laid out as the stub pushes them; RSP and RIP live in the VMCS, except that `rsp` carries the
/// guest's stack pointer back to the stub when the guest resumes natively.
#[repr(C)]
pub(crate) struct GuestRegs {
    pub(crate) rax: u64,
    pub(crate) rcx: u64,
    pub(crate) rdx: u64,
    pub(crate) rbx: u64,
    pub(crate) rbp: u64,
    pub(crate) rsi: u64,
    pub(crate) rdi: u64,
    pub(crate) r8: u64,
    pub(crate) r9: u64,
    pub(crate) r10: u64,
    pub(crate) r11: u64,
    pub(crate) r12: u64,
    pub(crate) r13: u64,
    pub(crate) r14: u64,
    pub(crate) r15: u64,
    pub(crate) rsp: u64,
}

// GUEST_REGS_SIZE in asm/vmx.S.
const _: () = assert!(core::mem::size_of::<GuestRegs>() == 16 * 8);

impl GuestRegs {
    /// General-purpose register `n` in the SDM's numbering (0 RAX, 1 RCX, ... 4 RSP, ... 15 R15).
    pub(crate) fn get(&self, n: u8) -> u64 {
        match n {
            0 => self.rax,
            1 => self.rcx,
            2 => self.rdx,
            3 => self.rbx,
            4 => hw::vmread(fields::GUEST_RSP),
            5 => self.rbp,
            6 => self.rsi,
            7 => self.rdi,
            8 => self.r8,
            9 => self.r9,
            10 => self.r10,
            11 => self.r11,
            12 => self.r12,
            13 => self.r13,
            14 => self.r14,
            _ => self.r15,
        }
    }

    pub(crate) fn set(&mut self, n: u8, value: u64) {
        let reg = match n {
            0 => &mut self.rax,
            1 => &mut self.rcx,
            2 => &mut self.rdx,
            3 => &mut self.rbx,
            4 => {
                // The VMCS holds RSP; a failed write leaves it unchanged, like an ignored MOV.
                let _ = hw::vmwrite(fields::GUEST_RSP, value);
                return;
            }
            5 => &mut self.rbp,
            6 => &mut self.rsi,
            7 => &mut self.rdi,
            8 => &mut self.r8,
            9 => &mut self.r9,
            10 => &mut self.r10,
            11 => &mut self.r11,
            12 => &mut self.r12,
            13 => &mut self.r13,
            14 => &mut self.r14,
            _ => &mut self.r15,
        };
        *reg = value;
    }

    /// EDX:EAX as one 64-bit value (RDMSR/WRMSR/XSETBV operands).
    pub(crate) fn edx_eax(&self) -> u64 {
        (self.rdx & 0xffff_ffff) << 32 | self.rax & 0xffff_ffff
    }

    pub(crate) fn set_edx_eax(&mut self, value: u64) {
        self.rax = value & 0xffff_ffff;
        self.rdx = value >> 32;
    }
}
