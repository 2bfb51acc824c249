/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering the guest and coming back: the VMLAUNCH trampoline and the VM-exit stub.
 * Modelled on arch/x86/kvm/vmx/vmenter.S, but the guest is the running kernel itself: a VM exit from
 * CPL 3 is a user->kernel entry and a VMRESUME to CPL 3 a return to user mode. So the stub does what
 * entry_SYSCALL_64 does on the way in and out (arch/x86/entry/entry_64.S), and what KVM does after a
 * VM exit, each step patched in only where the kernel enabled that mitigation on this CPU.
 *
 * Only kernel macros that reference no symbol exported for KVM alone are used: CLEAR_CPU_BUFFERS,
 * CLEAR_BRANCH_HISTORY{,_VMEXIT} and UNTRAIN_RET{,_VM} would link against x86_verw_sel,
 * clear_bhb_loop or write_ibpb, which are EXPORT_SYMBOL_FOR_KVM (namespace module:kvm,kvm-intel).
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <linux/stringify.h>
#include <asm/alternative.h>
#include <asm/asm.h>
#include <asm/cpufeatures.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

/* VMCS field encodings (SDM Vol. 3D, Appendix B). */
#define GUEST_SS_AR_BYTES	0x4818
#define GUEST_RSP		0x681c

/* sizeof(struct GuestRegs) in rust/guest_regs.rs: 15 GPRs and the RSP slot. */
#define GUEST_REGS_SIZE		(16 * 8)
/* Offset of GuestRegs.rsp, the last slot. */
#define GUEST_REGS_RSP		(15 * 8)
/*
 * HOST_RSP is 16 bytes below the top of the host stack (Vcpu::host_rsp in rust/vcpu.rs): the Vcpu
 * pointer is at HOST_RSP and the 8 bytes above it are otherwise unused. The stub keeps the guest's
 * IA32_SPEC_CTRL there while it runs with the kernel's (legacy IBRS only).
 */
#define GUEST_SPEC_CTRL		(GUEST_REGS_SIZE + 8)

/*
 * u64 rvmm_launch(void)
 *
 * With the VMCS current and every field but the guest's RSP written (GUEST_RIP is
 * rvmm_launch_return, GUEST_RFLAGS the caller's flags with CF and ZF clear), make the caller the
 * guest: VMLAUNCH with GUEST_RSP this stack. Registers are not touched by VM entry, so on success the
 * same code simply continues at rvmm_launch_return, now in VMX non-root operation, and finds
 * CF=ZF=0 (VMsucceed). On VMfail it continues there in root operation with CF (VMfailInvalid) or ZF
 * (VMfailValid) set. RIP and RFLAGS are written by the caller so that rvmm's VM-entry checker sees
 * them (rust/entry_checker.rs).
 *
 * Returns 0 in the guest, 1 for VMfailValid (read VM_INSTRUCTION_ERROR), 2 for VMfailInvalid.
 */
SYM_FUNC_START(rvmm_launch)
	movl	$GUEST_RSP, %edx
	vmwrite	%rsp, %rdx
	vmlaunch
SYM_INNER_LABEL(rvmm_launch_return, SYM_L_GLOBAL)
	/* Its address is taken (GUEST_RIP), as KVM's vmx_vmexit's (HOST_RIP). */
	ENDBR
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
 * No guest value stays live in a register once saved, not even in a callee-saved one that Rust
 * would only spill and reload (CLEAR_REGS in arch/x86/entry/calling.h, KVM's after VM exit).
 */
.macro CLEAR_GUEST_REGS
	xorl	%eax, %eax
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	xorl	%r10d, %r10d
	xorl	%r11d, %r11d
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d
	xorl	%r15d, %r15d
.endm

/*
 * Legacy IBRS (X86_FEATURE_KERNEL_IBRS): the kernel runs with x86_spec_ctrl_current, IBRS set, and
 * user code with the same minus IBRS (IBRS_ENTER/IBRS_EXIT, arch/x86/entry/calling.h). VM exits do
 * not switch IA32_SPEC_CTRL and writing it does not exit, so root mode starts with the guest's value,
 * and legacy IBRS must be written after every move from a less privileged predictor mode, guest
 * supervisor included, whatever the old value (arch/x86/kvm/vmenter.h). Keep the guest's value to
 * give back: it may differ from x86_spec_ctrl_current even at CPL 0 (update_spec_ctrl_cond() defers
 * the write under KERNEL_IBRS). Clobbers RAX, RCX, RDX; RSP must point at GuestRegs. Before any RET.
 */
.macro SPEC_CTRL_ENTER_ROOT
#ifdef CONFIG_MITIGATION_IBRS_ENTRY
	ALTERNATIVE "jmp .Lend_\@", "", X86_FEATURE_KERNEL_IBRS
	movl	$MSR_IA32_SPEC_CTRL, %ecx
	rdmsr
	movl	%eax, GUEST_SPEC_CTRL(%rsp)
	movl	%edx, GUEST_SPEC_CTRL + 4(%rsp)
	movq	PER_CPU_VAR(x86_spec_ctrl_current), %rdx
	movl	%edx, %eax
	shrq	$32, %rdx
	wrmsr
.Lend_\@:
#endif
.endm

/*
 * Give the guest its IA32_SPEC_CTRL back (IBRS_EXIT for a CPL 3 guest). After the last RET; what
 * follows is serialized by VMRESUME or IRETQ. Clobbers RAX, RCX, RDX; RSP must point at GuestRegs.
 * Before VMRESUME the write is skipped where the values are equal; after rvmm left VMX operation
 * (natively=1) GS may already hold the guest's user base, so no per-CPU variable is read then.
 */
.macro SPEC_CTRL_LEAVE_ROOT natively=0
#ifdef CONFIG_MITIGATION_IBRS_ENTRY
	ALTERNATIVE "jmp .Lend_\@", "", X86_FEATURE_KERNEL_IBRS
	movq	GUEST_SPEC_CTRL(%rsp), %rdx
.if !\natively
	cmpq	PER_CPU_VAR(x86_spec_ctrl_current), %rdx
	je	.Lend_\@
.endif
	movl	$MSR_IA32_SPEC_CTRL, %ecx
	movl	%edx, %eax
	shrq	$32, %rdx
	wrmsr
.Lend_\@:
#endif
.endm

/*
 * IBPB where the kernel issues one on every entry from user mode (X86_FEATURE_ENTRY_IBPB, set for
 * retbleed=ibpb and the other IBPB-on-entry modes of arch/x86/kernel/cpu/bugs.c: UNTRAIN_RET in
 * arch/x86/include/asm/nospec-branch.h). Its write_ibpb() is exported to KVM only: the same WRMSR
 * here, with PRED_CMD_IBPB (x86_pred_cmd differs only on AMD, whose RSB fill after IBPB,
 * X86_BUG_IBPB_NO_RET, rvmm's FILL_RETURN_BUFFER already did). On every exit, the CPL being known
 * only after a VMREAD. Clobbers RAX, RCX, RDX. Before any RET.
 */
.macro IBPB_ON_ENTRY
#ifdef CONFIG_MITIGATION_IBPB_ENTRY
	ALTERNATIVE "", __stringify(movl $MSR_IA32_PRED_CMD, %ecx; movl $PRED_CMD_IBPB, %eax; \
		xorl %edx, %edx; wrmsr), X86_FEATURE_ENTRY_IBPB
#endif
.endm

/*
 * VERW with a memory operand clears the CPU buffers (MDS, TAA, RFDS, ...) with any selector
 * (x86_clear_cpu_buffers() in asm/nospec-branch.h); a writable data segment is the fastest. The
 * kernel's operand, x86_verw_sel, is exported to KVM only. Clobbers ZF.
 */
#define RVMM_VERW	verw rvmm_verw_sel(%rip)

/*
 * HOST_RIP. A VM exit lands here with RSP = HOST_RSP, 16 bytes below the top of this CPU's host
 * stack, where the Vcpu pointer is stored. Build struct GuestRegs below it, let Rust handle the exit,
 * then, as it returns, VMRESUME (1) or, when Rust has left VMX operation, resume the guest's code
 * natively with IRETQ (0): Rust has built the guest's RIP, CS, RFLAGS, RSP and SS as an IRET frame in
 * the Vcpu and put its address in GuestRegs.rsp. IRETQ returns to any privilege level and restores
 * SS:RSP. Inside an NMI handler (2) the same without IRET (below).
 *
 * Interrupts are off (VM exits clear RFLAGS.IF); NMIs use their IST stack, and their entry code
 * saves and restores IA32_SPEC_CTRL itself (IBRS_ENTER/IBRS_EXIT save_reg=), so they may arrive
 * anywhere below.
 *
 * Order, as after KVM's vmx_vmexit and on syscall entry: registers cleared, RSB filled, IBRS written,
 * IBPB, branch history cleared, all before the first RET (the handler's) and the first indirect
 * branch (its table).
 *
 * Two stubs are built from this: rvmm_vmexit, and rvmm_vmexit_observed, which also reads the TSC
 * first and passes it to its handler for the latency histogram and the exit trace
 * (rust/exit_observer.rs). Rust switches HOST_RIP between them, so that with both off the exit path
 * is rvmm_vmexit, without a single added instruction.
 */
.macro VMEXIT_STUB name:req, handler:req, observed:req
SYM_CODE_START(\name)
	UNWIND_HINT_END_OF_STACK
	/* As KVM's vmx_vmexit: a VM exit may inherit the guest's IBT tracker (S_CET is not switched). */
	ENDBR
	pushq	$0			/* GuestRegs.rsp */
	PUSH_GUEST_REGS
	CLEAR_GUEST_REGS
.if \observed
	/* The exit's TSC, in R12: the mitigations below clobber RAX, RCX and RDX. */
	rdtsc
	shlq	$32, %rdx
	orq	%rax, %rdx
	movq	%rdx, %r12
.endif

	/*
	 * Guest RSB entries must not feed root-mode RETs: full refill with retpoline or legacy IBRS,
	 * one retired CALL on eIBRS parts with PBRSB (Documentation/admin-guide/hw-vuln/rsb.rst).
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, X86_FEATURE_RSB_VMEXIT_LITE

	SPEC_CTRL_ENTER_ROOT
	IBPB_ON_ENTRY

	/* Branch history from user mode, as on syscall entry (CLEAR_BRANCH_HISTORY). */
	ALTERNATIVE "", "call rvmm_clear_bhb_loop", X86_FEATURE_CLEAR_BHB_LOOP

	movq	%rsp, %rdi		/* struct GuestRegs * */
	movq	GUEST_REGS_SIZE(%rsp), %rsi	/* struct Vcpu * */
.if \observed
	movq	%r12, %rdx		/* u64 exit_tsc */
.endif
	call	\handler
.Lnext_\@:
	cmpq	$1, %rax
	jne	.Lresume_natively_\@

	SPEC_CTRL_LEAVE_ROOT
	/*
	 * Where the kernel clears CPU buffers on return to user mode, do so before resuming a guest at
	 * CPL 3 (SS.DPL, SDM Vol. 3C 25.4.1). GuestRegs.rsp is unused on this path: keep SS's access
	 * rights there, to test once the registers hold the guest's values.
	 */
	ALTERNATIVE "", __stringify(movl $GUEST_SS_AR_BYTES, %ecx; vmread %rcx, GUEST_REGS_RSP(%rsp)), \
		X86_FEATURE_CLEAR_CPU_BUF
	POP_GUEST_REGS
	ALTERNATIVE "", __stringify(testb $0x60, (%rsp); jz .Lresume_cpl0_\@; RVMM_VERW; .Lresume_cpl0_\@:), \
		X86_FEATURE_CLEAR_CPU_BUF
	vmresume

	/*
	 * VMRESUME failed: the registers still hold the guest's values. Rust either leaves VMX
	 * operation (0) or has repaired the VMCS for another try. No guest code ran, so the RSB and
	 * branch history are root mode's own; only registers and IA32_SPEC_CTRL are the guest's again.
	 */
	PUSH_GUEST_REGS
	CLEAR_GUEST_REGS
	SPEC_CTRL_ENTER_ROOT
	movq	%rsp, %rdi
	movq	GUEST_REGS_SIZE(%rsp), %rsi
	call	rvmm_handle_vmresume_failure
	jmp	.Lnext_\@

.Lresume_natively_\@:
	testq	%rax, %rax
	jnz	.Lresume_keeping_nmi_blocked_\@
	SPEC_CTRL_LEAVE_ROOT natively=1
	POP_GUEST_REGS
	movq	(%rsp), %rsp		/* GuestRegs.rsp: the IRET frame */
	UNWIND_HINT_IRET_REGS
	/* As on the kernel's own IRET to user mode (CLEAR_CPU_BUFFERS): CPL from the frame's CS. */
	ALTERNATIVE "", __stringify(testb $3, 8(%rsp); jz .Liret_cpl0_\@; RVMM_VERW; .Liret_cpl0_\@:), \
		X86_FEATURE_CLEAR_CPU_BUF
	iretq

	/*
	 * Inside an NMI handler at CPL 0 (rust/vmx/native_resume.rs): the same without IRET, which would
	 * end blocking by NMI before the handler's own IRET. Rust stored SS, RFLAGS and RIP below the
	 * guest's RSP and put their address in GuestRegs.rsp. MOV to SS holds off interrupts, NMIs and
	 * #DB for the LEA after it; RET pops RIP, leaving the guest's RSP.
	 */
.Lresume_keeping_nmi_blocked_\@:
	SPEC_CTRL_LEAVE_ROOT natively=1
	POP_GUEST_REGS
	movq	(%rsp), %rsp
	UNWIND_HINT_UNDEFINED
	movw	(%rsp), %ss
	leaq	8(%rsp), %rsp
	popfq
	UNWIND_HINT_FUNC
	/* Not RET: a return thunk (call-depth tracking) would change the flags just popped. */
	ANNOTATE_UNRET_SAFE
	ret
	int3
SYM_CODE_END(\name)
.endm

VMEXIT_STUB rvmm_vmexit, rvmm_handle_vmexit, 0
VMEXIT_STUB rvmm_vmexit_observed, rvmm_handle_vmexit_observed, 1

/*
 * A copy of clear_bhb_loop() (arch/x86/entry/entry_64.S), which is exported to KVM only. Keep in
 * sync. Overwrites the branch history with kernel branches so that user-mode history cannot steer
 * root-mode indirect branches (Spectre-BHI). Clobbers RAX, RCX.
 */
SYM_FUNC_START_LOCAL(rvmm_clear_bhb_loop)
	ANNOTATE_NOENDBR
	push	%rbp
	mov	%rsp, %rbp
	movl	$5, %ecx
	ANNOTATE_INTRA_FUNCTION_CALL
	call	1f
	jmp	5f
	.align 64, 0xcc
	/* RETs in the upper half of the cache line (ITS), as in the original. */
	.skip 32 - (.Lbhb_ret1 - 1f), 0xcc
	ANNOTATE_INTRA_FUNCTION_CALL
1:	call	2f
.Lbhb_ret1:
	RET
	.align 64, 0xcc
	.skip 32 - 18, 0xcc
2:	movl	$5, %eax
3:	jmp	4f
	nop
4:	sub	$1, %eax
	jnz	3b
	sub	$1, %ecx
	jnz	1b
	RET
5:	lfence
	pop	%rbp
	RET
SYM_FUNC_END(rvmm_clear_bhb_loop)
STACK_FRAME_NON_STANDARD(rvmm_clear_bhb_loop)

	.pushsection .rodata, "a"
	.balign 2
SYM_DATA_LOCAL(rvmm_verw_sel, .word __KERNEL_DS)
	.popsection
