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
# The same operations in a KVM guest (bench/kvm_bench.c), before rvmm: only one of them can own VMX.
KVM_DIR=/rvmm/kvm
echo "rvmm-bench: measuring kvm"
if insmod "$KVM_DIR/irqbypass.ko" && insmod "$KVM_DIR/kvm.ko" && insmod "$KVM_DIR/kvm-intel.ko"; then
	/bench/kvm_bench >/tmp/kvm || echo "rvmm-bench: kvm_bench failed"
fi
for m in kvm_intel kvm irqbypass; do grep -q "^$m " /proc/modules && rmmod $m; done
insmod "$RVMM_KO" || exit 1
# One second: under Bochs an idle guest still takes a local timer interrupt every few thousand
# emulated instructions, so one guest second costs about 40 s of the host's time.
echo "rvmm-bench: idle for 1 s"
idle_exits=$(/bench/workload idle 1 | awk '{ print $2 }')
measure rvmm
# The latency histogram and the exit trace, each on, then both, then both off again: what they cost
# an exit when on, and that switching them off gives the plain exit path back.
RVMM_DEBUGFS=/sys/kernel/debug/rvmm
observed() {
	echo "rvmm-bench: measuring with $1"
	cat "$OPS" >"/tmp/observed_$2"
}
echo on >$RVMM_DEBUGFS/latency
observed "the latency histogram on" latency_on
echo off >$RVMM_DEBUGFS/latency
echo on >$RVMM_DEBUGFS/trace
observed "the exit trace on" trace_on
echo on >$RVMM_DEBUGFS/latency
observed "both on" both_on
echo off >$RVMM_DEBUGFS/latency
echo off >$RVMM_DEBUGFS/trace
observed "both switched off again" off_again
rmmod rvmm
# rvmm's load and unload messages say how long (de)virtualizing took and what it holds per CPU;
# those times include interrupts, so take the least of five cycles.
for i in 1 2 3 4; do insmod "$RVMM_KO" && rmmod rvmm; done
unloaded=$(dmesg | grep 'rvmm: devirtualized')
loaded=$(dmesg | grep 'rvmm: virtualized')
rmmod rvmm_bench
least() { sed -n "s/$1/\1/p" | sort -n | head -n 1; }

for metric in cpuid_leaf0 cpuid_rvmm_leaf user_cpuid vmcall_ping rdmsr_feature_control ticks_per_syscall; do
	echo "rvmm-bench: $metric $(value $metric /tmp/native) $(value $metric /tmp/rvmm)"
done
for phase in latency_on trace_on both_on off_again; do
	for op in cpuid_leaf0 vmcall_ping; do
		echo "rvmm-bench: ${phase}_$op $(value $op /tmp/native) $(value $op /tmp/observed_$phase)"
	done
done
# "kvm-bench: METRIC TICKS" lines: the table's KVM column.
cat /tmp/kvm 2>/dev/null
echo "rvmm-bench: idle_exits_per_second - $idle_exits"
echo "rvmm-bench: insmod_us - $(echo "$loaded" | least '.* in \([0-9]*\) us.*')"
echo "rvmm-bench: rmmod_us - $(echo "$unloaded" | least '.* in \([0-9]*\) us.*')"
echo "rvmm-bench: kib_per_cpu - $(echo "$loaded" | least '.* \([0-9]*\) KiB per CPU.*')"
echo "rvmm-bench: cpus - $(echo "$loaded" | least '.*virtualized \([0-9]*\) CPUs.*')"
echo "rvmm-bench: rdtsc_overhead $(value rdtsc_overhead /tmp/native) $(value rdtsc_overhead /tmp/rvmm)"
# What the kernel protects itself with on this CPU model: the mitigations the exit stub follows.
for v in meltdown spectre_v2 mds retbleed; do
	echo "rvmm-bench: mitigation $v $(cat /sys/devices/system/cpu/vulnerabilities/$v 2>/dev/null | tr ' ' _)"
done
