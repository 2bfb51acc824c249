// SPDX-License-Identifier: GPL-2.0
/*
 * rvmm_nmi_test: sends NMIs to one CPU and counts how many arrived, and how many of those
 * interrupted rvmm's own code, i.e. found the CPU in VMX root mode handling a VM exit.
 *
 *   echo "CPU COUNT" > /sys/kernel/debug/rvmm_nmi_test/send   send COUNT NMIs to CPU, one at a time
 *   echo CPU > /sys/kernel/debug/rvmm_nmi_test/vmxoff         make CPU execute VMXOFF in an NMI handler,
 *                                                             as the kernel's crash code does
 *   cat /sys/kernel/debug/rvmm_nmi_test/stats                 "sent N", "handled N", "in_rvmm N",
 *                                                             "user_reads_in_rvmm N",
 *                                                             "user_reads_elsewhere N",
 *                                                             "vmxoff N", "nested_after_vmxoff N"
 *
 * Each handled NMI also reads 8 bytes of the interrupted task's user memory with
 * copy_from_user_nmi(), as perf's user call-chain walk does, and counts the reads that worked in
 * root mode and elsewhere: root mode runs on rvmm's own page table, whose user half is empty.
 *
 * Each NMI is sent only after the previous one was handled (or a timeout), so none can be merged
 * with another: every NMI sent must be handled once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/mm_types.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/nmi.h>
#include <asm/cpuid/api.h>

/* NMIs sent and not yet seen: the handler claims NMIs only while this is positive. */
static atomic_t outstanding;
static atomic_t sent, handled, in_rvmm, user_reads_in_rvmm, user_reads_elsewhere;
static DEFINE_MUTEX(send_lock);

/* The CPU whose next claimed NMI runs VMXOFF (-1: none), and what it then saw. */
static atomic_t vmxoff_cpu = ATOMIC_INIT(-1);
static atomic_t vmxoffs, nested_after_vmxoff;

static bool under_rvmm(void)
{
	unsigned int eax, ebx, ecx, edx;

	cpuid(0x40000000, &eax, &ebx, &ecx, &edx);
	return ebx == 0x6d6d7672 && ecx == 0x6d6d7672 && edx == 0x6d6d7672; /* "rvmm" x 3 */
}

/*
 * The "iret" frame's RIP in the x86-64 NMI entry's stack layout (arch/x86/entry/entry_64.S, above
 * asm_exc_nmi): pt_regs ends with the "outermost" frame, and the "iret" frame follows it. An NMI
 * nested in this handler points that RIP at repeat_nmi, to run the handler once more after this
 * one, instead of running it. So it shows whether another NMI came in, which only an early end of
 * blocking by NMI allows.
 */
static bool nested_nmi_latched(struct pt_regs *regs)
{
	char where[KSYM_SYMBOL_LEN];

	snprintf(where, sizeof(where), "%pS", (void *)*(unsigned long *)(regs + 1));
	return strstr(where, "repeat_nmi");
}

/*
 * VMXOFF in NMI context under rvmm, which leaves VMX operation on this CPU; then an NMI to self,
 * which must stay pending until this handler's IRET, as it would natively.
 */
static void vmxoff_in_nmi(struct pt_regs *regs)
{
	int waited;

	if (!under_rvmm())
		return;
	/* rvmm clears CR4.VMXE as it leaves, as the kernel's own VMXOFF path then does. */
	asm volatile("vmxoff" : : : "cc", "memory");
	atomic_inc(&vmxoffs);
	atomic_inc(&outstanding);
	__apic_send_IPI_mask(cpumask_of(smp_processor_id()), NMI_VECTOR);
	for (waited = 0; waited < 100 && !nested_nmi_latched(regs); waited++)
		udelay(1);
	if (nested_nmi_latched(regs))
		atomic_inc(&nested_after_vmxoff);
}

static int nmi_test_handler(unsigned int type, struct pt_regs *regs)
{
	char where[KSYM_SYMBOL_LEN];
	unsigned long word;
	bool root;

	if (atomic_dec_if_positive(&outstanding) < 0)
		return NMI_DONE;
	atomic_inc(&handled);
	if (atomic_cmpxchg(&vmxoff_cpu, smp_processor_id(), -1) == smp_processor_id())
		vmxoff_in_nmi(regs);
	/* Code the NMI interrupted: rvmm's exit stub or handler means VMX root mode. */
	snprintf(where, sizeof(where), "%pS", (void *)regs->ip);
	root = strstr(where, "[rvmm]");
	if (root)
		atomic_inc(&in_rvmm);
	if (current->mm && !copy_from_user_nmi(&word, (void __user *)current->mm->start_code,
					       sizeof(word)))
		atomic_inc(root ? &user_reads_in_rvmm : &user_reads_elsewhere);
	return NMI_HANDLED;
}

static ssize_t send_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	unsigned int cpu, count, i, waited;
	char buf[32];

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%u %u", &cpu, &count) != 2 || cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	mutex_lock(&send_lock);
	for (i = 0; i < count; i++) {
		atomic_inc(&outstanding);
		atomic_inc(&sent);
		__apic_send_IPI_mask(cpumask_of(cpu), NMI_VECTOR);
		for (waited = 0; atomic_read(&outstanding) && waited < 100000; waited++)
			udelay(1);
		/* Spread the NMIs over the target's work rather than sending them in lockstep. */
		udelay(i % 7);
	}
	mutex_unlock(&send_lock);
	return len;
}

static const struct file_operations send_fops = {
	.write = send_write,
};

static ssize_t vmxoff_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	unsigned int cpu, waited;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 0, &cpu);
	if (ret)
		return ret;
	/* The "iret" frame exists only without FRED, and DEBUG_ENTRY's NMI entry unmasks NMIs itself. */
	if (IS_ENABLED(CONFIG_DEBUG_ENTRY) || cpu_feature_enabled(X86_FEATURE_FRED))
		return -EOPNOTSUPP;
	if (cpu >= nr_cpu_ids || !cpu_online(cpu) || cpu == raw_smp_processor_id())
		return -EINVAL;
	mutex_lock(&send_lock);
	atomic_set(&vmxoff_cpu, cpu);
	atomic_inc(&outstanding);
	atomic_inc(&sent);
	__apic_send_IPI_mask(cpumask_of(cpu), NMI_VECTOR);
	/* Slow CPU models take long to deliver it; the handler takes the request when it does. */
	for (waited = 0; atomic_read(&vmxoff_cpu) != -1 && waited < 5000000; waited++)
		udelay(1);
	ret = atomic_xchg(&vmxoff_cpu, -1) == -1 ? len : -ETIMEDOUT;
	/* And the NMI it sent itself. */
	for (waited = 0; atomic_read(&outstanding) && waited < 5000000; waited++)
		udelay(1);
	mutex_unlock(&send_lock);
	return ret;
}

static const struct file_operations vmxoff_fops = {
	.write = vmxoff_write,
};

static int stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "sent %d\nhandled %d\nin_rvmm %d\nuser_reads_in_rvmm %d\nuser_reads_elsewhere %d\n"
		   "vmxoff %d\nnested_after_vmxoff %d\n",
		   atomic_read(&sent), atomic_read(&handled), atomic_read(&in_rvmm),
		   atomic_read(&user_reads_in_rvmm), atomic_read(&user_reads_elsewhere),
		   atomic_read(&vmxoffs), atomic_read(&nested_after_vmxoff));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static struct dentry *dir;

static int __init nmi_test_init(void)
{
	int ret = register_nmi_handler(NMI_LOCAL, nmi_test_handler, 0, "rvmm_nmi_test");

	if (ret)
		return ret;
	dir = debugfs_create_dir("rvmm_nmi_test", NULL);
	debugfs_create_file("send", 0200, dir, NULL, &send_fops);
	debugfs_create_file("vmxoff", 0200, dir, NULL, &vmxoff_fops);
	debugfs_create_file("stats", 0400, dir, NULL, &stats_fops);
	return 0;
}

static void __exit nmi_test_exit(void)
{
	debugfs_remove(dir);
	unregister_nmi_handler(NMI_LOCAL, "rvmm_nmi_test");
}

module_init(nmi_test_init);
module_exit(nmi_test_exit);
MODULE_DESCRIPTION("rvmm selftest helper: NMIs while a CPU handles VM exits");
MODULE_LICENSE("GPL");
