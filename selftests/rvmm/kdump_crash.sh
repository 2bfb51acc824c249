#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The first kernel of the kdump suites (not a test of its own): load rvmm, load a crash kernel (the
# same kernel, with kexec_file_load's KEXEC_FILE_ON_CRASH), and crash. The kernel's emergency code
# must take every CPU out of VMX on its way to the crash kernel, or the crash kernel cannot bring
# up the CPUs still in VMX non-root operation, where INIT exits. "kdump" crashes with CPU1 idle (in
# the guest, halted), "kdump-busy" with CPU1 running CPUID in a loop (mostly in VMX root mode), and
# "kdump-init" with rvmm's crash hook off on CPU1 (inject_ignore_vmxoff), which so stays under rvmm,
# halted, when the crash kernel sends it INIT and SIPI: rvmm must then reset it as hardware would.
# The crash kernel runs the tests that require "kdumpd". If the crash returns, this reports the
# failure.
. "$(dirname "$0")/lib.sh"
suite=$1
fail() {
	printf 'TAP version 13\n1..1\n# %s\nnot ok 1 selftests: rvmm: kdump_crash.sh\n' "$1"
	exit 1
}
rvmm_setup
params=
[ "$suite" = kdump-init ] && params="inject_ignore_vmxoff=1 inject_cpu=1"
insmod "$RVMM_KO" $params || fail "insmod failed"
cpus=$(online_cpus | wc -l)
for cpu in $(online_cpus); do
	under_rvmm "$cpu" || fail "CPU$cpu is not under rvmm"
done
(cd / && find . -xdev ! -path './tmp/*' | cpio -o -H newc >/tmp/initrd 2>/dev/null) ||
	fail "cannot pack the initramfs"
cmdline=$(sed 's/BOOT_IMAGE=[^ ]* //; s/initrd=[^ ]* //; s/crashkernel=[^ ]* *//;
	s/rvmm_suite=[a-z0-9-]*/rvmm_suite=kdumpd/' /proc/cmdline)
cmdline="$cmdline rvmm_crashed=$suite rvmm_first_cpus=$cpus"
$PROBE 0 kexec-crash /rvmm/bzImage /tmp/initrd "$cmdline" || fail "cannot load the crash kernel"
if [ "$suite" = kdump-busy ]; then
	before=$(exits_count CPUID 1)
	$PROBE 1 cpuid-loop 1000000000 0 &
	while [ "$(exits_count CPUID 1)" -lt $((before + 10000)) ]; do :; done
	echo "rvmm-kdump: CPU1 runs CPUID in a loop: $(($(exits_count CPUID 1) - before)) so far"
fi
echo "rvmm-kdump: crashing with rvmm loaded on $cpus CPUs ($suite), crash kernel command line: $cmdline"
# Crash on CPU0, the boot CPU, as sysrq c from a console usually does.
taskset 1 insmod /rvmm/rvmm_crash_test.ko
fail "the kernel did not crash"
