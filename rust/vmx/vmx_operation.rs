// SPDX-License-Identifier: GPL-2.0

//! Leaving VMX operation. A VMCS a CPU has used must be cleared before the CPU executes VMXOFF
//! (SDM Vol. 3C, 25.11.1): VMCLEAR writes the data the CPU may keep of it to memory and makes it
//! inactive; after VMXOFF without it that data may be lost, or written later over the page once it
//! is freed. The same holds before a CPU loses power (suspend, 25.11.1 again), where rvmm leaves
//! VMX in the same way. Every VMXOFF rvmm executes goes through [`leave`].

/// The two instructions that end VMX operation, as the hardware module executes them.
pub trait VmxInstructions {
    /// VMCLEAR of the VMCS region at physical address `vmcs`.
    fn vmclear(&mut self, vmcs: u64);
    /// VMXOFF.
    fn vmxoff(&mut self);
}

/// Ends VMX operation on a CPU whose VMCS is at `vmcs`, current or not: VMCLEAR first (it does no
/// harm to a VMCS that is not active), then VMXOFF.
pub fn leave(cpu: &mut impl VmxInstructions, vmcs: u64) {
    cpu.vmclear(vmcs);
    cpu.vmxoff();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Op {
        Vmclear(u64),
        Vmxoff,
    }

    #[derive(Default)]
    struct Recorder(Vec<Op>);

    impl VmxInstructions for Recorder {
        fn vmclear(&mut self, vmcs: u64) {
            self.0.push(Op::Vmclear(vmcs));
        }
        fn vmxoff(&mut self) {
            self.0.push(Op::Vmxoff);
        }
    }

    #[test]
    fn the_vmcs_is_cleared_before_vmxoff() {
        let mut cpu = Recorder::default();
        leave(&mut cpu, 0x1234_5000);
        assert_eq!(cpu.0, [Op::Vmclear(0x1234_5000), Op::Vmxoff]);
    }
}
