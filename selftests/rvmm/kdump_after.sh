#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: kdumpd
# Runs in the crash kernel that kdump_crash.sh crashed into, rvmm loaded on every CPU: that kernel
# brought up every CPU the crashed one had (it sends each INIT and SIPI, which a CPU left in VMX
# non-root operation would not obey), can read the dump, and runs rvmm again.
. "$(dirname "$0")/lib.sh"
ktap_print_header
ktap_set_plan 5
param() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
first_cpus=$(param rvmm_first_cpus)
ktap_print_msg "crashed as '$(param rvmm_crashed)' with $first_cpus CPUs; online now: $(cat /sys/devices/system/cpu/online)"
ktap_print_msg "$(dmesg | grep -E 'smpboot|smp:|CPU[0-9]' | sed 's/^\[[ 0-9.]*\] //')"
ktap_check "this is the crash kernel, with the crashed kernel's memory in /proc/vmcore" test -s /proc/vmcore
ktap_check "every CPU of the crashed kernel is online" test "$(online_cpus | wc -l)" = "$first_cpus"
problems=$(dmesg | grep -E 'do_boot_cpu|failed to report alive|CPU[0-9]+: stuck|[Nn]ot responding' || true)
[ -n "$problems" ] && ktap_print_msg "$problems"
ktap_check "no CPU failed to come up" test -z "$problems"
loaded=false
if insmod "$RVMM_KO"; then
	loaded=true
	for cpu in $(online_cpus); do under_rvmm "$cpu" || loaded=false; done
	rmmod rvmm || loaded=false
fi
ktap_check "rvmm loads on every CPU of the crash kernel and unloads" $loaded
ktap_check_clean_log
ktap_finished
