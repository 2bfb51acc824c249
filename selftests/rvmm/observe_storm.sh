#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# The latency and trace files switched on, off and reset over and over while every CPU runs CPUID in
# a loop and two processes read both files all the while: every command succeeds, every line a
# reader sees is whole, every CPU stays under rvmm, and afterwards both still count exactly.
. "$(dirname "$0")/lib.sh"
ROUNDS=${STORM_ROUNDS:-100}
rvmm_setup
ktap_print_header
ktap_set_plan 7

LATENCY=/sys/kernel/debug/rvmm/latency
TRACE=/sys/kernel/debug/rvmm/trace
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"

hammers=
for c in $(online_cpus); do
	$PROBE "$c" cpuid-loop 2000000000 0 &
	hammers="$hammers $!"
done
# Each reader counts the malformed lines it sees in /tmp/storm.bad.N: a latency line is a CPU or
# "all", a reason, four numbers and B:N buckets; a trace line has 8 fields or more.
readers=
for n in 1 2; do
	(bad=0
	while [ ! -e /tmp/storm.stop ]; do
		bad=$((bad + $(cat $LATENCY | awk 'NR > 2 && !($1 ~ /^([0-9]+|all)$/ && $3 ~ /^[0-9]+$/ &&
			$7 ~ /^[0-9]+:[0-9]+$/)' | wc -l)))
		bad=$((bad + $(cat $TRACE | awk 'NR > 2 && (NF < 8 || $2 !~ /^[0-9]+$/)' | wc -l)))
	done
	echo $bad >/tmp/storm.bad.$n) &
	readers="$readers $!"
done

failed=0
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	for command in "on $LATENCY" "on $TRACE" "0 $TRACE" "off $LATENCY" "0 $LATENCY" "on $LATENCY" \
		"off $TRACE" "off $LATENCY"; do
		echo "${command%% *}" >"${command#* }" || failed=$((failed + 1))
	done
done
touch /tmp/storm.stop
wait $readers
kill $hammers
wait 2>/dev/null
rm -f /tmp/storm.stop
ktap_check "$((ROUNDS * 8)) on/off/0 commands under the storm all succeeded" test "$failed" -eq 0
bad=$(cat /tmp/storm.bad.1 /tmp/storm.bad.2 | awk '{ s += $1 } END { print s + 0 }')
ktap_check "the readers saw only whole lines ($bad malformed)" test "$bad" -eq 0

lost=0
for c in $(online_cpus); do under_rvmm "$c" || lost=$((lost + 1)); done
ktap_check "every CPU is still under rvmm" test "$lost" -eq 0

# Afterwards, exact again: both on, 300 CPUIDs on the last CPU, both off.
CPU=$(online_cpus | tail -n 1)
echo 0 >$LATENCY
echo 0 >$TRACE
echo on >$LATENCY
echo on >$TRACE
where=$($PROBE "$CPU" cpuid-traced 300 0)
echo off >$TRACE
echo off >$LATENCY
pid=$(echo "$where" | awk '{ print $2 }')
traced=$(awk -v cpu="$CPU" -v pid="$pid" '$1 == cpu && $4 == "CPUID" && $6 == pid' $TRACE | wc -l)
measured=$(awk -v cpu="$CPU" '$1 == cpu && $2 == "CPUID" { print $3 }' $LATENCY)
ktap_print_msg "after the storm: 300 CPUIDs, $traced traced, ${measured:-no} latencies"
ktap_check "the trace has the last 256 of them" test "$traced" -eq 256
ktap_check "the histogram counts all 300 (within 64: the C library's own at start-up)" \
	test -n "$measured" -a "${measured:-0}" -ge 300 -a "${measured:-0}" -le 364
ktap_check_clean_log
ktap_check "rmmod succeeds" rmmod rvmm
ktap_finished
