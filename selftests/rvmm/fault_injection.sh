#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# Set-up fails cleanly at every step: each allocation in turn, and VMXON, VMCLEAR, VMPTRLD, VMWRITE
# and VMLAUNCH on each CPU in turn (vmxon_refused.sh adds a VMXON that firmware forbids or that faults). Every failure leaves no CPU under rvmm and the system able to
# load rvmm again (a CPU left in VMX operation would make the next load fail with EBUSY), with all
# it allocated freed (kmemleak finds no object left behind).
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $((5 * $(echo $cpus | wc -w) + 4))
leak_check_start

for step in 2:VMXON 3:VMCLEAR 4:VMPTRLD 5:VMWRITE 6:VMLAUNCH; do
	for c in $cpus; do
		ktap_check_load_rolls_back "$c" "${step#*:} failed, injected" "${step#*:} failing on CPU$c" \
			inject_step_failure="${step%%:*}" inject_cpu="$c"
	done
done

# Each allocation in turn, until a load needs no more than were failed.
n=1 failed=0 bad=
while [ "$n" -le 100 ]; do
	out=$(insmod "$RVMM_KO" inject_alloc_failure="$n" 2>&1) && break
	failed=$((failed + 1))
	contains "$out" 'Cannot allocate memory' && no_cpu_under_rvmm || bad="$bad $n"
	n=$((n + 1))
done
rvmm_loaded && rmmod rvmm
ktap_print_msg "set-up makes $failed allocations before it can succeed"
ktap_check "every allocation failing in turn gives ENOMEM and no CPU under rvmm${bad:+ (not:$bad)}" \
	test -z "$bad" -a "$failed" -ge 5
ktap_check "rvmm loads and unloads after all that" sh -c "insmod $RVMM_KO && rmmod rvmm"
ktap_check_leaks "every failed set-up, and the load and unload after them, freed all they allocated"
leak_check_done
ktap_check_clean_log
ktap_finished
