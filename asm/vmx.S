/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering the guest and coming back: the VMLAUNCH trampoline and the VM-exit stub.
 * Modelled on arch/x86/kvm/vmx/vmenter.S, but the guest is the running kernel itself.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/processor-flags.h>
#include <asm/unwind_hints.h>

/* VMCS field encodings (SDM Vol. 3D, Appendix B). */
#define GUEST_RSP	0x681c
#define GUEST_RIP	0x681e
#define GUEST_RFLAGS	0x6820

/* sizeof(struct GuestRegs) in rust/guest_regs.rs: 15 GPRs and the RSP slot. */
#define GUEST_REGS_SIZE	(16 * 8)

/*
 * u64 rvmm_launch(void)
 *
 * With the VMCS current and every field but the guest's RSP, RIP and RFLAGS written, make the caller
 * the guest: VMLAUNCH with GUEST_RIP the instruction after it, GUEST_RSP this stack and GUEST_RFLAGS
 * these flags with CF and ZF clear. Registers are not touched by VM entry, so on success the same code
 * simply continues, now in VMX non-root operation, and finds CF=ZF=0 (VMsucceed). On VMfail it
 * continues in root operation with CF (VMfailInvalid) or ZF (VMfailValid) set.
 *
 * Returns 0 in the guest, 1 for VMfailValid (read VM_INSTRUCTION_ERROR), 2 for VMfailInvalid.
 */
SYM_FUNC_START(rvmm_launch)
	pushfq
	popq	%rax
	andq	$~(X86_EFLAGS_CF | X86_EFLAGS_ZF), %rax
	movl	$GUEST_RFLAGS, %edx
	vmwrite	%rax, %rdx
	leaq	.Lafter_launch(%rip), %rax
	movl	$GUEST_RIP, %edx
	vmwrite	%rax, %rdx
	movl	$GUEST_RSP, %edx
	vmwrite	%rsp, %rdx
	vmlaunch
.Lafter_launch:
	movl	$0, %eax
	movl	$1, %ecx
	cmovzl	%ecx, %eax
	movl	$2, %ecx
	cmovcl	%ecx, %eax
	RET
SYM_FUNC_END(rvmm_launch)

.macro PUSH_GUEST_REGS
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%r11
	pushq	%r10
	pushq	%r9
	pushq	%r8
	pushq	%rdi
	pushq	%rsi
	pushq	%rbp
	pushq	%rbx
	pushq	%rdx
	pushq	%rcx
	pushq	%rax
.endm

.macro POP_GUEST_REGS
	popq	%rax
	popq	%rcx
	popq	%rdx
	popq	%rbx
	popq	%rbp
	popq	%rsi
	popq	%rdi
	popq	%r8
	popq	%r9
	popq	%r10
	popq	%r11
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
.endm

/*
 * HOST_RIP. A VM exit lands here with RSP = HOST_RSP, 16 bytes below the top of this CPU's host
 * stack, where the Vcpu pointer is stored. Build struct GuestRegs below it, let Rust handle the exit,
 * then either VMRESUME or, when Rust has left VMX operation, resume the guest's code natively with
 * IRETQ: Rust has built the guest's RIP, CS, RFLAGS, RSP and SS as an IRET frame in the Vcpu and put
 * its address in GuestRegs.rsp. IRETQ returns to any privilege level and restores SS:RSP.
 *
 * Interrupts are off (VM exits clear RFLAGS.IF); NMIs use their IST stack.
 */
SYM_CODE_START(rvmm_vmexit)
	UNWIND_HINT_END_OF_STACK
	ANNOTATE_NOENDBR
	pushq	$0			/* GuestRegs.rsp */
	PUSH_GUEST_REGS
	movq	%rsp, %rdi		/* struct GuestRegs * */
	movq	GUEST_REGS_SIZE(%rsp), %rsi	/* struct Vcpu * */
	call	rvmm_handle_vmexit
.Lnext:
	testq	%rax, %rax
	jz	.Lresume_natively
	POP_GUEST_REGS
	vmresume

	/*
	 * VMRESUME failed: the registers still hold the guest's values. Rust either leaves VMX
	 * operation (0) or has repaired the VMCS for another try.
	 */
	PUSH_GUEST_REGS
	movq	%rsp, %rdi
	movq	GUEST_REGS_SIZE(%rsp), %rsi
	call	rvmm_handle_vmresume_failure
	jmp	.Lnext

.Lresume_natively:
	POP_GUEST_REGS
	movq	(%rsp), %rsp		/* GuestRegs.rsp: the IRET frame */
	iretq
SYM_CODE_END(rvmm_vmexit)
