#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# A VM entry into user mode that fails does not take the CPU out of rvmm: rvmm enters the guest
# again at the exiting instruction with #UD, so the process gets SIGILL there and the CPU stays under
# rvmm (rust/vmx/entry_failure.rs). The failure is made by inject_user_entry_failure, on a VMCALL in
# user mode: 1 RIP advanced past it and blocking by STI and MOV SS at once (a VM exit for invalid
# guest state: rvmm must also put RIP back), 2 a reserved bit in the event to inject (VMRESUME fails
# with VMfailValid).
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 2 * 2 + 2 + 1))

for kind in 1 2; do
	insmod "$RVMM_KO" inject_user_entry_failure=$kind || ktap_exit_fail_msg "insmod failed"
	for c in $cpus; do
		invalid_before=$(exits_count INVALID_GUEST_STATE "$c")
		out=$($PROBE -u "$c" exec vmcall)
		ktap_check "CPU$c, failure $kind: the process gets SIGILL at the VMCALL ($out)" \
			test "$out" = "Illegal instruction at +0"
		ktap_check "CPU$c, failure $kind: still under rvmm" \
			under_rvmm "$c"
		[ $kind = 1 ] && invalid=$((invalid + $(exits_count INVALID_GUEST_STATE "$c") - invalid_before))
	done
	rmmod rvmm || ktap_exit_fail_msg "rmmod failed"
done
ktap_check "each injected guest-state failure was a VM exit for invalid guest state (counted: $invalid)" \
	test "$invalid" = "$(echo $cpus | wc -w)"
# rmmod names every CPU that rvmm had left on its own.
left=$(dmesg | grep 'left VMX on its own' || true)
[ -z "$left" ] || ktap_print_msg "$left"
ktap_check "rvmm left no CPU on its own" test -z "$left"
ktap_check_clean_log
ktap_finished
