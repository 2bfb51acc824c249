#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# A program single-stepping over CPUID gets its trap right after CPUID under rvmm, as natively, even
# though rvmm emulates the instruction. A kernel single-stepping over its VMXOFF (which takes the CPU
# out of rvmm) gets its trap right after VMXOFF too, not one instruction later: rvmm leaves VMX after
# the guest took the trap, at an MTF exit, since the IRETQ it leaves with cannot deliver it.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) + 6))
# Natively read: can the CPU set the monitor trap flag (allowed-1 bit 27 of the primary controls)?
basic=$($PROBE 0 rdmsr 0x480)
if [ $(((basic >> 55) & 1)) = 1 ]; then procbased=$($PROBE 0 rdmsr 0x48e); else procbased=$($PROBE 0 rdmsr 0x482); fi
mtf=$(((procbased >> 59) & 1))

out=$($PROBE 0 step-cpuid)
ktap_print_msg "native: $out"
ktap_check "natively, the single-step trap follows CPUID" test "$out" = "trap after CPUID"
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	out=$($PROBE "$c" step-cpuid)
	ktap_print_msg "CPU$c under rvmm: $out"
	ktap_check "CPU$c: under rvmm the single-step trap follows CPUID" test "$out" = "trap after CPUID"
done

# The last CPU leaves rvmm by its VMXOFF; the others stay under it.
step_cpu=$(echo "$cpus" | tail -n 1)
if [ "$mtf" = 1 ]; then
	dmesg -c >/dev/null
	insmod /rvmm/rvmm_step_test.ko cpu="$step_cpu"
	loaded=$?
	ktap_print_msg "$(dmesg | grep rvmm_step_test)"
	ktap_check "CPU$step_cpu: a kernel single-stepping over VMXOFF gets the trap right after VMXOFF" test "$loaded" = 0
	[ "$loaded" = 0 ] && rmmod rvmm_step_test
	left=yes
	under_rvmm "$step_cpu" && left=no
	ktap_check "CPU$step_cpu left rvmm with its VMXOFF" test "$left" = yes
else
	# Without the monitor trap flag rvmm leaves at once and the trap comes one instruction late.
	ktap_test_skip "single-stepped VMXOFF: the CPU has no monitor trap flag"
	ktap_test_skip "CPU$step_cpu left rvmm with its VMXOFF: not run"
fi
rmmod rvmm
ktap_check "rmmod rvmm afterwards" test $? = 0
under=0
insmod "$RVMM_KO" && under=$(for c in $cpus; do under_rvmm "$c" && echo "$c"; done | wc -l) && rmmod rvmm
ktap_check "rvmm loads on every CPU again afterwards" test "$under" = "$(echo "$cpus" | wc -l)"
ktap_check_clean_log
ktap_finished
