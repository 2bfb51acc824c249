#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# check_vmcs=1 checks each VMCS against the VM-entry rules of SDM Vol. 3C chapter 27 before
# VMLAUNCH and refuses one that breaks a rule. The VMCS rvmm writes for this kernel on this CPU
# model must break none (no false positive): the load succeeds on every CPU, as without the checker.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan 4

# load_time: how long the last load took, as rvmm logged it.
load_time() { dmesg | sed -n 's/.*rvmm: virtualized [0-9]* CPUs in \([0-9]*\) us.*/\1/p' | tail -1; }

out=$(insmod "$RVMM_KO" check_vmcs=1 2>&1)
loaded=$?
log=$(dmesg | grep 'rvmm:')
[ "$loaded" = 0 ] || ktap_print_msg "insmod: $out; log: $log"
ktap_check "the checker finds no broken rule: rvmm loads with check_vmcs=1" test "$loaded" = 0
ktap_check "the checker ran ($(printf '%s\n' "$log" | grep -o 'checked against [0-9]* VM-entry rules' || echo 'not announced'))" \
	contains "$log" 'check_vmcs=1: each VMCS is checked against [0-9]+ VM-entry rules'
all=1
for c in $cpus; do under_rvmm "$c" || all=0; done
ktap_check "every CPU runs under rvmm" test "$all" = 1
with_check=$(load_time)
rvmm_loaded && rmmod rvmm
dmesg -c >/dev/null
insmod "$RVMM_KO" && rmmod rvmm
ktap_print_msg "load time: $with_check us with the checker, $(load_time) us without"
ktap_check_clean_log
ktap_finished
