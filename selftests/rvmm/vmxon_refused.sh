#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# A CPU where VMX cannot be entered makes rvmm fail cleanly with a message, whenever rvmm launches
# it: IA32_FEATURE_CONTROL is read again at every launch, since a CPU that comes online or resumes
# may have other firmware settings than at load, and a VMXON that faults (#GP where firmware left
# VMX off, #UD without CR4.VMXE) is caught instead of oopsing in IPI context. Bochs's
# IA32_FEATURE_CONTROL is locked with VMX on, so inject_step_failure=10 makes it read as forbidding
# VMX, and inject_vmxon_fault=1 runs VMXON without CR4.VMXE: a real fault.
. "$(dirname "$0")/lib.sh"
ONLINE=/sys/devices/system/cpu/cpu1/online
set -- "inject_step_failure=10:IA32_FEATURE_CONTROL does not allow VMX" "inject_vmxon_fault=1:VMXON faulted"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $((2 * $(echo $cpus | wc -w) + 3))

for case in "$@"; do
	for c in $cpus; do
		ktap_check_load_rolls_back "$c" "${case#*:}" "at load, ${case#*:} on CPU$c" "${case%%:*}" inject_cpu="$c"
	done
done
for case in "$@"; do
	if [ ! -w "$ONLINE" ]; then
		ktap_test_skip "${case#*:} on CPU1 coming online: CPU1 cannot go offline"
		continue
	fi
	dmesg -c >/dev/null
	echo 0 >"$ONLINE"
	insmod "$RVMM_KO" "${case%%:*}" inject_cpu=1
	onlined=y
	echo 1 2>/dev/null >"$ONLINE" || onlined=n
	log=$(dmesg | grep 'rvmm:')
	ok=1
	[ "$onlined" = n ] && [ "$(cat "$ONLINE")" = 0 ] || { ok=0; ktap_print_msg "CPU1 came online"; }
	contains "$log" "CPU1: ${case#*:}" || { ok=0; ktap_print_msg "log: $log"; }
	under_rvmm 0 || { ok=0; ktap_print_msg "CPU0 left rvmm"; }
	rmmod rvmm
	echo 1 >"$ONLINE"
	ktap_check "${case#*:} on CPU1 coming online: it stays offline, logged, CPU0 under rvmm" test "$ok" = 1
done
ktap_check_clean_log
ktap_finished
