#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# The kernel's crash and emergency-reboot code runs VMXOFF inside an NMI handler on every other CPU
# (NMI shootdown). rvmm then leaves VMX operation there and returns to the handler with NMIs still
# blocked, as the CPU left them, not with an IRETQ, which would end the blocking before the
# handler's own IRET (SDM Vol. 3A, 6.7.1): an NMI the handler sends itself right after its VMXOFF
# stays pending until the handler returns (rvmm_nmi_test.ko sees whether it nested).
. "$(dirname "$0")/lib.sh"
NMI_TEST=/sys/kernel/debug/rvmm_nmi_test
ROUNDS=${NMI_VMXOFF_ROUNDS:-5}
rvmm_setup
ktap_print_header
[ "$(online_cpus | wc -l)" -ge 2 ] || skip_test "needs two CPUs"
ktap_set_plan 4
insmod /rvmm/rvmm_nmi_test.ko || ktap_exit_fail_msg "cannot load the NMI test module"
left=0
for round in $(seq "$ROUNDS"); do
	insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod $round failed"
	out=$(taskset 1 sh -c "echo 1 >$NMI_TEST/vmxoff" 2>&1)
	if contains "$out" 'not supported'; then
		rmmod rvmm rvmm_nmi_test
		skip_test "the NMI entry's stack layout cannot show nesting here (FRED or DEBUG_ENTRY)"
	fi
	under_rvmm 1 || left=$((left + 1))
	rmmod rvmm
done
stats=$(cat "$NMI_TEST/stats")
ktap_print_msg "$ROUNDS rounds: $(echo $stats)"
value() { key_value "$stats" "$1"; }
ktap_check "CPU1 left rvmm with a VMXOFF in its NMI handler, each round" \
	test "$left" = "$ROUNDS" -a "$(value vmxoff)" = "$ROUNDS"
ktap_check "an NMI sent right after never nested in the handler: NMIs stayed blocked" \
	test "$(value nested_after_vmxoff)" = 0
ktap_check "every NMI was handled, the one sent to itself too" \
	test "$(value handled)" = $(($(value sent) + ROUNDS))
rmmod rvmm_nmi_test
ktap_check_clean_log
ktap_finished
