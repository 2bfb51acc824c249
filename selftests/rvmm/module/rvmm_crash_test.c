// SPDX-License-Identifier: GPL-2.0
/*
 * rvmm_crash_test: loading it crashes the kernel, as sysrq c would (the test kernels have no
 * MAGIC_SYSRQ): panic() runs the crash kernel loaded with kexec_file_load(KEXEC_FILE_ON_CRASH).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/panic.h>

static int __init rvmm_crash_test_init(void)
{
	panic("rvmm_crash_test: crash requested by the selftest");
	return 0;
}
module_init(rvmm_crash_test_init);

MODULE_DESCRIPTION("rvmm selftest helper: crashes the kernel when loaded");
MODULE_LICENSE("GPL");
