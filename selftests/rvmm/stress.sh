#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# 100 load/unload cycles while every CPU runs an exit-heavy load (CPUID in a loop) and another
# process reads and resets the exit counters the whole time, including while rvmm unloads: the file
# open at rmmod must hold the module (EBUSY), never leave a release to run in unloaded code.
. "$(dirname "$0")/lib.sh"
CYCLES=${STRESS_CYCLES:-100}
rvmm_setup
ktap_print_header
ktap_set_plan 4

hammers=
for c in $(online_cpus); do
	$PROBE "$c" cpuid-loop 2000000000 0 &
	hammers="$hammers $!"
done
(while :; do
	cat "$EXITS" >/dev/null 2>&1
	echo 0 2>/dev/null >"$EXITS"
done) &
reader=$!

# unload: rmmod, again while the reader holds the file open (EBUSY: an open file holds the module).
unload() {
	tries=0
	until rmmod rvmm 2>/dev/null; do
		tries=$((tries + 1))
		busy=$((busy + 1))
		[ "$tries" -lt 1000 ] || return 1
	done
}

failed=0 busy=0
i=0
while [ "$i" -lt "$CYCLES" ]; do
	i=$((i + 1))
	insmod "$RVMM_KO" && unload || failed=$((failed + 1))
done
ktap_print_msg "rmmod found the exit counters open $busy times and was retried"
alive=0
for pid in $hammers $reader; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
kill $hammers $reader
wait 2>/dev/null
ktap_check "$CYCLES load/unload cycles under load all succeeded" test "$failed" = 0
ktap_check "the CPUID loops and the debugfs reader survived every cycle" \
	test "$alive" = $(($(echo $hammers | wc -w) + 1))
ktap_check "rvmm is not left loaded" sh -c "! grep -q '^rvmm ' /proc/modules"
ktap_check_clean_log
ktap_finished
