#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# Once another hypervisor took a CPU (kvm_intel's VMXON exited to rvmm), every other CPU under rvmm
# goes to it at the kernel's next CPUID leaf 1, with which kvm_intel checks each CPU for VMX before
# its VMXON there. Only the kernel's: an unprivileged CPUID leaf 1 loop, single-stepped or not (ld.so
# runs one at every exec), never takes a CPU out of rvmm, with a hand-over on or not. The hand-over
# is over once no CPU is left under rvmm: a CPU that rvmm launches afterwards (it comes online)
# stays under it at the kernel's CPUID. inject_hand_over=1 starts a hand-over without kvm_intel,
# so that no kernel CPUID of its own comes first (kvm_race.sh races the real one).
. "$(dirname "$0")/lib.sh"
ONLINE=/sys/devices/system/cpu/cpu1/online
LOOPS=${HAND_OVER_LOOPS:-2000}
STEPS=${HAND_OVER_STEPS:-50}
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
n=$(echo $cpus | wc -w)
ktap_set_plan $((5 * n + 5))

# user_cpuid_keeps_rvmm WHEN: two test points per CPU, that its unprivileged CPUID leaf 1 loop and
# single-stepped CPUID leaf 1 left it under rvmm, each trap coming right after CPUID.
user_cpuid_keeps_rvmm() {
	for c in $cpus; do
		$PROBE -u "$c" cpuid-loop "$LOOPS" 1
		ktap_check "$1: CPU$c is under rvmm after $LOOPS CPUID leaf 1 in user mode" under_rvmm "$c"
		out=$($PROBE -u "$c" step-cpuid-loop "$STEPS" 1)
		stayed=n
		under_rvmm "$c" && stayed=y
		ktap_check "$1: CPU$c, single-stepped CPUID leaf 1 in user mode: $out, still under rvmm" \
			test "$out" = "$STEPS of $STEPS traps after CPUID" -a "$stayed" = y
	done
}

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
user_cpuid_keeps_rvmm "no hand-over"
for c in $cpus; do $PROBE "$c" kernel-cpuid 1 >/dev/null; done
all=y
for c in $cpus; do under_rvmm "$c" || all=n; done
ktap_check "no hand-over: the kernel's CPUID leaf 1 leaves every CPU under rvmm" test "$all" = y
rmmod rvmm

insmod "$RVMM_KO" inject_hand_over=1 || ktap_exit_fail_msg "insmod inject_hand_over=1 failed"
user_cpuid_keeps_rvmm "hand-over"
for c in $cpus; do
	$PROBE "$c" kernel-cpuid 1 >/dev/null
	left=y
	under_rvmm "$c" && left=n
	ktap_check "hand-over: CPU$c leaves rvmm at the kernel's CPUID leaf 1" test "$left" = y
done
ktap_check "every CPU handed over is reported" \
	test "$(dmesg | grep -c 'rvmm: CPU[0-9]*: another hypervisor')" -ge "$n"
if [ -w "$ONLINE" ]; then
	echo 0 >"$ONLINE" && echo 1 >"$ONLINE"
	$PROBE 1 kernel-cpuid 1 >/dev/null
	ktap_check "the hand-over is over: CPU1, online again, stays under rvmm at the kernel's CPUID" \
		under_rvmm 1
else
	ktap_test_skip "the hand-over is over: CPU1 cannot go offline"
fi
ktap_check "rmmod succeeds" rmmod rvmm
ktap_check_clean_log
ktap_finished
