#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The exit-path benchmark, run in the test guest: each measurement natively, then under rvmm.
# Prints "rvmm-bench: METRIC NATIVE RVMM" lines ("-" where a value does not apply); the test bed
# turns them into the table (bench/results.txt).
KSELFTEST_DIR=/selftests/kselftest . /selftests/rvmm/lib.sh
OPS=/sys/kernel/debug/rvmm_bench/ops

value() { awk -v key="$1" '$1 == key { print $2 }' "$2"; }

# measure PHASE: the per-instruction costs and the syscall loop, in /tmp/PHASE.
measure() {
	echo "rvmm-bench: measuring $1"
	cat "$OPS" >"/tmp/$1"
	/bench/workload syscalls >>"/tmp/$1"
}

rvmm_setup
insmod /bench/rvmm_bench.ko || exit 1
measure native
insmod "$RVMM_KO" || exit 1
# The load message says how long virtualizing took and what rvmm holds per CPU.
loaded=$(dmesg | grep 'rvmm: virtualized')
# One second: under Bochs an idle guest still takes a local timer interrupt every few thousand
# emulated instructions, so one guest second costs about 40 s of the host's time.
echo "rvmm-bench: idle for 1 s"
idle_exits=$(/bench/workload idle 1 | awk '{ print $2 }')
measure rvmm
rmmod rvmm
unloaded=$(dmesg | grep 'rvmm: devirtualized')
rmmod rvmm_bench

for metric in cpuid_leaf0 cpuid_rvmm_leaf vmcall_ping rdmsr_feature_control ticks_per_syscall; do
	echo "rvmm-bench: $metric $(value $metric /tmp/native) $(value $metric /tmp/rvmm)"
done
echo "rvmm-bench: idle_exits_per_second - $idle_exits"
echo "rvmm-bench: insmod_us - $(echo "$loaded" | sed -n 's/.* in \([0-9]*\) us.*/\1/p')"
echo "rvmm-bench: rmmod_us - $(echo "$unloaded" | sed -n 's/.* in \([0-9]*\) us.*/\1/p')"
echo "rvmm-bench: kib_per_cpu - $(echo "$loaded" | sed -n 's/.* \([0-9]*\) KiB per CPU.*/\1/p')"
echo "rvmm-bench: cpus - $(echo "$loaded" | sed -n 's/.*virtualized \([0-9]*\) CPUs.*/\1/p')"
echo "rvmm-bench: rdtsc_overhead $(value rdtsc_overhead /tmp/native) $(value rdtsc_overhead /tmp/rvmm)"
