#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: kexecd
# The kernel kexec started from a kernel running under rvmm (kexec_boot.sh): it came up on every
# CPU, outside VMX, and can load rvmm itself, so rvmm left VMX on every CPU before the kexec.
. "$(dirname "$0")/lib.sh"
problems=$(dmesg_problems)
rvmm_setup
ktap_print_header
ktap_set_plan 4
ktap_check "this kernel was started by kexec from the rvmm suite" contains "$(cat /proc/cmdline)" 'rvmm_suite=kexecd'
ktap_check "every possible CPU came up" test "$(online_cpus | wc -l)" = "$(grep -c ^processor /proc/cpuinfo)" -a \
	"$(cat /sys/devices/system/cpu/online)" = "$(cat /sys/devices/system/cpu/possible)"
[ -n "$problems" ] && ktap_print_msg "$problems"
ktap_check "no warning or oops in the kernel log since boot" test -z "$problems"
loaded=1
insmod "$RVMM_KO" || loaded=0
for cpu in $(online_cpus); do
	contains "$($PROBE "$cpu" cpuid 0x40000000)" rvmmrvmmrvmm || loaded=0
done
rvmm_loaded && rmmod rvmm
ktap_check "rvmm loads on every CPU again" test "$loaded" = 1
ktap_finished
