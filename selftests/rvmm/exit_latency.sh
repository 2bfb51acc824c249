#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# /sys/kernel/debug/rvmm/latency: off and empty at load; once on, each CPU's histogram of a reason
# counts the exits the exits file counts, with min <= median <= max and buckets that add up to the
# count; off stops it, 0 empties it, anything else is EINVAL and changes nothing.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 12

LATENCY=/sys/kernel/debug/rvmm/latency
CPU=$(online_cpus | tail -n 1)
N=3000

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"

ktap_check "off and empty after load" \
	test "$(cat $LATENCY)" = "latency off
cpu reason count min median max histogram"

# latency_field CPU REASON FIELD: a field of that line (3 count, 4 min, 5 median, 6 max).
latency_field() { awk -v cpu="$1" -v reason="$2" -v f="$3" '$1 == cpu && $2 == reason { print $f }' $LATENCY; }

echo on >$LATENCY
echo 0 >$LATENCY
echo 0 >"$EXITS"
$PROBE "$CPU" cpuid-loop $N 0
echo off >$LATENCY
measured=$(latency_field "$CPU" CPUID 3)
counted=$(exits_count CPUID "$CPU")
ktap_print_msg "CPU$CPU, $N CPUIDs: latency counted ${measured:-none}, the exits file $counted"
ktap_print_msg "$(grep -E "^($CPU|all) CPUID " $LATENCY)"
ktap_check "on: CPUID's count is the exits file's (two resets apart)" \
	test -n "$measured" -a "$measured" -ge $N -a "$measured" -ge "$counted" -a "$measured" -le $((counted + 2))
# The probe's C library runs a few dozen CPUIDs at start-up, before it pins itself to the CPU.
ktap_check "the count is what the process caused (within 64)" test "$measured" -le $((N + 64))

bad=$(tail -n +3 $LATENCY | awk '
	{ split($5, m, "-"); sum = 0
	  for (i = 7; i <= NF; i++) { split($i, b, ":"); sum += b[2]
		if (b[1] < 0 || b[1] > 31 || b[2] <= 0) { print "bucket: " $0; next } }
	  if (NF < 7 || $3 <= 0 || sum != $3) { print "sum: " $0; next }
	  if (!($4 > 0 && $4 <= $6 && m[1] <= $6 && (m[2] == "inf" || m[2] >= $4))) print "order: " $0 }')
[ -n "$bad" ] && ktap_print_msg "$bad"
ktap_check "every line: buckets add up to the count, 0 < min <= median <= max" test -z "$bad"

unsummed=$(awk '$1 != "all" && NR > 2 { n[$2] += $3 } $1 == "all" { a[$2] = $3 }
	END { for (r in n) if (n[r] != a[r]) print r; for (r in a) if (n[r] != a[r]) print r }' $LATENCY)
ktap_check "each 'all' line sums the CPUs' counts" test -z "$unsummed"

$PROBE "$CPU" cpuid-loop 500 0
ktap_check "off: nothing more is counted" test "$(latency_field "$CPU" CPUID 3)" = "$measured"

ktap_check_switch_refuses_garbage $LATENCY

echo 0 >$LATENCY
ktap_check "0 empties it" test "$(wc -l <$LATENCY)" -eq 2

# Back on after a reset: the histogram starts again from the first exit.
echo on >$LATENCY
$PROBE "$CPU" cpuid-loop 200 0
echo off >$LATENCY
again=$(latency_field "$CPU" CPUID 3)
ktap_check "on again counts from zero (200 CPUIDs: ${again:-none})" \
	test -n "$again" -a "${again:-0}" -ge 200 -a "${again:-0}" -le 264
ktap_check_clean_log
ktap_check "rmmod succeeds" rmmod rvmm
ktap_finished
