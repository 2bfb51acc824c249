// SPDX-License-Identifier: GPL-2.0
/*
 * rvmm_step_test: single-steps a kernel-mode VMXOFF on CPU `cpu`, which must run under rvmm, and
 * reports where the single-step trap came. On hardware VMXOFF owes the trap at the instruction
 * after it; rvmm completes VMXOFF for the kernel by leaving VMX operation on that CPU, and must
 * deliver the trap there too, not one instruction later. Loading fails with EIO if it is not.
 */
#include <linux/kdebug.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <asm/cpuid/api.h>
#include <asm/processor.h>

static unsigned int cpu;
module_param(cpu, uint, 0444);
MODULE_PARM_DESC(cpu, "The CPU to single-step VMXOFF on (it must run under rvmm)");

static unsigned long after_vmxoff, trap_ip;
static bool stepping;

static int step_notify(struct notifier_block *nb, unsigned long event, void *data)
{
	struct die_args *args = data;

	if (event != DIE_DEBUG || !READ_ONCE(stepping) || !(args->regs->flags & X86_EFLAGS_TF))
		return NOTIFY_DONE;
	trap_ip = args->regs->ip;
	args->regs->flags &= ~X86_EFLAGS_TF;
	return NOTIFY_STOP;
}

static struct notifier_block step_nb = {
	.notifier_call = step_notify,
	.priority = INT_MAX,
};

static bool under_rvmm(void)
{
	unsigned int eax, ebx, ecx, edx;

	cpuid(0x40000000, &eax, &ebx, &ecx, &edx);
	return ebx == 0x6d6d7672 && ecx == 0x6d6d7672 && edx == 0x6d6d7672; /* "rvmm" x 3 */
}

static void step_vmxoff(void *failed)
{
	if (!under_rvmm()) {
		*(int *)failed = -ENODEV;
		return;
	}
	WRITE_ONCE(stepping, true);
	/* POPF sets TF: the trap follows the instruction after it, VMXOFF. */
	asm volatile("leaq 1f(%%rip), %0\n\t"
		     "pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"
		     "vmxoff\n"
		     "1:\tnop\n\t"
		     "nop\n\t"
		     : "=&r"(after_vmxoff) : : "memory", "cc");
	WRITE_ONCE(stepping, false);
}

static int __init rvmm_step_test_init(void)
{
	int failed = 0, ret;

	ret = register_die_notifier(&step_nb);
	if (ret)
		return ret;
	ret = smp_call_function_single(cpu, step_vmxoff, &failed, 1);
	unregister_die_notifier(&step_nb);
	if (ret || failed) {
		pr_err("rvmm_step_test: CPU%u does not run under rvmm; load rvmm first\n", cpu);
		return ret ?: failed;
	}
	pr_info("rvmm_step_test: CPU%u: single-step trap at %pS, VMXOFF ends at %pS\n", cpu,
		(void *)trap_ip, (void *)after_vmxoff);
	return trap_ip == after_vmxoff ? 0 : -EIO;
}
module_init(rvmm_step_test_init);

static void __exit rvmm_step_test_exit(void)
{
}
module_exit(rvmm_step_test_exit);

MODULE_DESCRIPTION("rvmm selftest helper: single-steps a kernel-mode VMXOFF under rvmm");
MODULE_LICENSE("GPL");
