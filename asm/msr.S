/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RDMSR/WRMSR that return an error instead of oopsing when the CPU raises #GP (an MSR it does not
 * implement, a reserved bit set). The exception-table fixup also works in VMX root mode, where the host
 * IDT is Linux's own, so exit handlers can emulate guest MSR accesses with them.
 */
#include <linux/linkage.h>
#include <linux/errno.h>
#include <asm/asm.h>

/* int rvmm_rdmsr_safe(u32 msr, u64 *value) */
SYM_FUNC_START(rvmm_rdmsr_safe)
	movl	%edi, %ecx
1:	rdmsr
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, (%rsi)
	xorl	%eax, %eax
	RET
2:	movl	$-EIO, %eax
	RET
	_ASM_EXTABLE(1b, 2b)
SYM_FUNC_END(rvmm_rdmsr_safe)

/* int rvmm_wrmsr_safe(u32 msr, u64 value) */
SYM_FUNC_START(rvmm_wrmsr_safe)
	movl	%edi, %ecx
	movl	%esi, %eax
	movq	%rsi, %rdx
	shrq	$32, %rdx
1:	wrmsr
	xorl	%eax, %eax
	RET
2:	movl	$-EIO, %eax
	RET
	_ASM_EXTABLE(1b, 2b)
SYM_FUNC_END(rvmm_wrmsr_safe)
