// SPDX-License-Identifier: GPL-2.0
/*
 * rvmm_bench: what one exiting instruction costs, in TSC ticks.
 *
 * Reading /sys/kernel/debug/rvmm_bench/ops measures, on the reading CPU with interrupts off, each
 * operation below REPEATS times and prints "name ticks" per line: the median of the per-operation
 * rdtsc_ordered() deltas, less the median of an empty measurement. Under Bochs with
 * `clock: sync=none` the TSC follows the emulated instruction count, so the numbers repeat to the
 * tick. Operations that need rvmm (VMCALL) print "-" where it is not running.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/irqflags.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/cpuid/api.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#define REPEATS			101
#define RVMM_CPUID_LEAF		0x40000000
#define RVMM_PING		0
#define MSR_FEATURE_CONTROL	0x3a

static u64 deltas[REPEATS];
static DEFINE_MUTEX(deltas_lock);

static void op_empty(void)
{
}

static void op_cpuid_leaf0(void)
{
	unsigned int a, b, c, d;

	cpuid(0, &a, &b, &c, &d);
}

static void op_cpuid_rvmm(void)
{
	unsigned int a, b, c, d;

	cpuid(RVMM_CPUID_LEAF, &a, &b, &c, &d);
}

static void op_vmcall_ping(void)
{
	unsigned long result;

	asm volatile("vmcall" : "=a"(result) : "a"(RVMM_PING) : "memory");
}

/* Read natively, but rvmm masks its VMX bits, so under rvmm every read exits. */
static void op_rdmsr_exiting(void)
{
	u64 value;

	rdmsrq_safe(MSR_FEATURE_CONTROL, &value);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* The median ticks of one call of @op, including the measurement itself. */
static u64 median_ticks(void (*op)(void))
{
	unsigned long flags;
	u64 start;
	int i;

	local_irq_save(flags);
	op();	/* warm up caches and TLB, as every later call finds them */
	for (i = 0; i < REPEATS; i++) {
		start = rdtsc_ordered();
		op();
		deltas[i] = rdtsc_ordered() - start;
	}
	local_irq_restore(flags);
	sort(deltas, REPEATS, sizeof(deltas[0]), cmp_u64, NULL);
	return deltas[REPEATS / 2];
}

static bool rvmm_running(void)
{
	unsigned int max_leaf, signature[3];

	cpuid(RVMM_CPUID_LEAF, &max_leaf, &signature[0], &signature[1], &signature[2]);
	return !memcmp(signature, "rvmmrvmmrvmm", sizeof(signature));
}

static const struct {
	const char *name;
	void (*op)(void);
	bool needs_rvmm;
} ops[] = {
	{ "cpuid_leaf0", op_cpuid_leaf0, false },
	{ "cpuid_rvmm_leaf", op_cpuid_rvmm, false },
	{ "vmcall_ping", op_vmcall_ping, true },
	{ "rdmsr_feature_control", op_rdmsr_exiting, false },
};

static int ops_show(struct seq_file *m, void *unused)
{
	bool rvmm;
	u64 empty;
	int i;

	mutex_lock(&deltas_lock);
	/* One CPU throughout: the TSC and rvmm's answer are per CPU. */
	migrate_disable();
	rvmm = rvmm_running();
	empty = median_ticks(op_empty);
	seq_printf(m, "cpu %d\nrvmm %s\nrdtsc_overhead %llu\n", smp_processor_id(),
		   rvmm ? "yes" : "no", empty);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (ops[i].needs_rvmm && !rvmm)
			seq_printf(m, "%s -\n", ops[i].name);
		else
			seq_printf(m, "%s %llu\n", ops[i].name, median_ticks(ops[i].op) - empty);
	}
	migrate_enable();
	mutex_unlock(&deltas_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ops);

static struct dentry *dir;

static int __init rvmm_bench_init(void)
{
	dir = debugfs_create_dir("rvmm_bench", NULL);
	debugfs_create_file("ops", 0400, dir, NULL, &ops_fops);
	return 0;
}

static void __exit rvmm_bench_exit(void)
{
	debugfs_remove(dir);
}

module_init(rvmm_bench_init);
module_exit(rvmm_bench_exit);
MODULE_DESCRIPTION("Ticks per exiting instruction, native and under rvmm");
MODULE_LICENSE("GPL");
