// SPDX-License-Identifier: GPL-2.0
/*
 * rvmm_ping: how kernel code finds rvmm and calls it.
 *
 * On load, every online CPU looks for rvmm's signature in the hypervisor CPUID leaf and, where it is
 * there, calls the PING hypercall (VMCALL with RAX=0, CPL 0 only) and an unknown function. Loading
 * fails with ENODEV where rvmm is not running and EIO where it answers wrongly.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <asm/cpuid/api.h>

#define RVMM_CPUID_LEAF		0x40000000
#define RVMM_PING		0
#define RVMM_VERSION		0x72766d6d0001ULL
#define RVMM_UNKNOWN_FUNCTION	((unsigned long)-1000)

static atomic_t cpus_without_rvmm;
static atomic_t wrong_answers;

static unsigned long rvmm_hypercall(unsigned long function)
{
	unsigned long result;

	asm volatile("vmcall" : "=a"(result) : "a"(function) : "memory");
	return result;
}

static void ping_this_cpu(void *unused)
{
	unsigned int max_leaf, signature[3];

	cpuid(RVMM_CPUID_LEAF, &max_leaf, &signature[0], &signature[1], &signature[2]);
	if (memcmp(signature, "rvmmrvmmrvmm", sizeof(signature))) {
		/* Without rvmm, VMCALL would raise #UD: do not call. */
		atomic_inc(&cpus_without_rvmm);
		return;
	}
	if (rvmm_hypercall(RVMM_PING) != RVMM_VERSION ||
	    rvmm_hypercall(0x99) != RVMM_UNKNOWN_FUNCTION)
		atomic_inc(&wrong_answers);
}

static int __init rvmm_ping_init(void)
{
	on_each_cpu(ping_this_cpu, NULL, 1);
	if (atomic_read(&cpus_without_rvmm)) {
		pr_err("rvmm is not running on %d CPU(s): load rvmm.ko first\n",
		       atomic_read(&cpus_without_rvmm));
		return -ENODEV;
	}
	if (atomic_read(&wrong_answers)) {
		pr_err("rvmm answered wrongly on %d CPU(s)\n", atomic_read(&wrong_answers));
		return -EIO;
	}
	pr_info("rvmm answered PING with version %#llx on all %u online CPUs\n",
		RVMM_VERSION, num_online_cpus());
	return 0;
}

static void __exit rvmm_ping_exit(void)
{
}

module_init(rvmm_ping_init);
module_exit(rvmm_ping_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample: detect rvmm and call its PING hypercall on every CPU");
