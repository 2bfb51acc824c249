#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test guest: run the suite named by rvmm_suite= on the kernel command line, then power off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/cpu

suite=$(sed -n 's/.*rvmm_suite=\([a-z0-9-]*\).*/\1/p' /proc/cmdline)
echo "rvmm-testbed: suite '$suite' on $(grep -c ^processor /proc/cpuinfo) CPU(s), kernel $(uname -r)"
case $suite in
demo)
	echo "rvmm-demo: begin"
	echo "# insmod rvmm.ko"
	if insmod /rvmm/rvmm.ko; then
		# What exits: CPUID from user mode on every CPU, and the hypercall sample (VMCALL from the
		# kernel). The full table, every reason, is in /sys/kernel/debug/rvmm/exits.
		cpus=$(grep -c ^processor /proc/cpuinfo)
		echo "# rvmm_stat -- sh -c 'user-mode CPUID x1000 on each CPU; insmod rvmm_ping.ko; rmmod rvmm_ping'"
		rvmm_stat -- sh -c "for c in \$(seq 0 $((cpus - 1))); do
			/selftests/rvmm/rvmm_probe -u \$c cpuid-loop 1000 0; done
			insmod /rvmm/rvmm_ping.ko && rmmod rvmm_ping"
		echo "# rmmod rvmm"
		rmmod rvmm
	fi
	echo "# dmesg | grep rvmm:"
	dmesg | grep rvmm:
	echo "rvmm-demo: end"
	;;
bench)
	sh /bench/bench.sh
	;;
kexec)
	# Boots the next kernel, suite kexecd, with kexec; returns only if that failed.
	sh /selftests/rvmm/kexec_boot.sh
	;;
kdump | kdump-busy | kdump-init)
	# Crashes into the crash kernel, suite kdumpd; returns only if that failed.
	sh /selftests/rvmm/kdump_crash.sh "$suite"
	;;
*)
	sh /selftests/rvmm/run_tests.sh "$suite"
	;;
esac
echo "rvmm-testbed: finished"
poweroff -f
