#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# NMIs that arrive while a CPU is in VMX root mode handling an exit are handled by the kernel, none
# lost: rvmm does not exit on NMIs, and its host IDT is the kernel's, so an NMI in root mode runs the
# kernel's handler there, and one in the guest runs it there. CPU1 hammers CPUID (most of its time is
# then spent in rvmm's handler) while CPU0 sends it NMIs one by one.
. "$(dirname "$0")/lib.sh"
NMI_TEST=/sys/kernel/debug/rvmm_nmi_test
COUNT=${NMI_COUNT:-2000}
rvmm_setup
ktap_print_header
[ "$(online_cpus | wc -l)" -ge 2 ] || skip_test "needs two CPUs"
ktap_set_plan 5

insmod /rvmm/rvmm_nmi_test.ko || ktap_exit_fail_msg "cannot load the NMI test module"
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
cpuid_before=$(exits_count CPUID 1)
$PROBE 1 cpuid-loop 200000 0 &
hammer=$!
echo "1 $COUNT" >"$NMI_TEST/send"
wait $hammer
hammer_rc=$?
stats=$(cat "$NMI_TEST/stats")
ktap_print_msg "$(echo $stats)"
value() { echo "$stats" | awk -v k="$1" '$1 == k { print $2 }'; }
ktap_check "all $COUNT NMIs sent to CPU1 were handled" test "$(value handled)" = "$COUNT" -a "$(value sent)" = "$COUNT"
ktap_check "some found CPU1 in rvmm's exit handler (VMX root mode)" test "$(value in_rvmm)" -gt 0
ktap_check "the CPUID loop completed and every CPUID was counted" \
	test "$hammer_rc" = 0 -a "$(exits_count CPUID 1)" -ge $((cpuid_before + 200000))
ktap_check "rmmod succeeds after the NMIs" rmmod rvmm
rmmod rvmm_nmi_test
problems=$(dmesg_problems)
[ -n "$problems" ] && ktap_print_msg "$problems"
ktap_check "no warning or oops in the kernel log" test -z "$problems"
ktap_finished
