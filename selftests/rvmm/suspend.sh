#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# Suspend to RAM and resume while rvmm is loaded: the kernel's suspend test mode "core" goes all the
# way down (devices suspended, CPU1 offline, syscore suspend on CPU0) and comes back without the
# firmware; rvmm must leave VMX on the way down and be back on every CPU afterwards.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
[ -w /sys/power/pm_test ] || skip_test "the test kernel has no /sys/power/pm_test (CONFIG_PM_DEBUG)"
grep -qw deep /sys/power/mem_sleep 2>/dev/null ||
	skip_test "no suspend to RAM (S3) here; mem_sleep: $(cat /sys/power/mem_sleep 2>/dev/null)"
ktap_set_plan 5
echo deep >/sys/power/mem_sleep
echo core >/sys/power/pm_test
# The test mode waits pm_test_delay seconds in the suspended state; a guest second is slow here.
[ -w /sys/module/suspend/parameters/pm_test_delay ] && echo 0 >/sys/module/suspend/parameters/pm_test_delay

under_rvmm_everywhere() {
	for cpu in $(online_cpus); do
		contains "$($PROBE "$cpu" cpuid 0x40000000)" rvmmrvmmrvmm || return 1
	done
}

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
ktap_check "suspend to RAM (test mode core) and resume" sh -c 'echo mem >/sys/power/state'
echo none >/sys/power/pm_test
ktap_print_msg "$(dmesg | grep -E 'rvmm|PM: (suspend|resume)' | tail -n 8 | tr '\n' ' ')"
ktap_check "every CPU is under rvmm after resume" under_rvmm_everywhere
before=$(exits_count CPUID 0)
$PROBE 0 cpuid-loop 100 0
ktap_check "exits are counted after resume" test "$(exits_count CPUID 0)" -ge $((before + 100))
ktap_check "rmmod succeeds after resume" rmmod rvmm
ktap_check_clean_log
ktap_finished
