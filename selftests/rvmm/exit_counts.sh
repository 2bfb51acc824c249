#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# N CPUIDs on a pinned CPU raise that CPU's CPUID counter by at least N and no other CPU's by N;
# writing 0 resets the counters.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 2 + 1))

n=5000
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	for o in $cpus; do eval before_$o=$(exits_count CPUID "$o"); done
	$PROBE "$c" cpuid-loop $n 0
	own=$(($(exits_count CPUID "$c") - $(eval echo \$before_$c)))
	ktap_print_msg "CPU$c ran $n CPUIDs: its CPUID counter rose by $own"
	ktap_check "CPU$c: its CPUID counter rose by at least $n" test "$own" -ge $n
	others_ok=true
	for o in $cpus; do
		[ "$o" = "$c" ] && continue
		d=$(($(exits_count CPUID "$o") - $(eval echo \$before_$o)))
		ktap_print_msg "CPU$o meanwhile: +$d"
		[ "$d" -lt $n ] || others_ok=false
	done
	ktap_check "CPU$c: no other CPU counted its CPUIDs" $others_ok
done
before=$(exits_total)
echo 0 >"$EXITS"
after=$(exits_total)
ktap_print_msg "total before reset: $before, after: $after"
ktap_check "writing 0 resets the counters" test "$after" -lt $((before - n))
rmmod rvmm
ktap_finished
