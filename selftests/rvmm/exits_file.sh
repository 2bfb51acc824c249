#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# /sys/kernel/debug/rvmm/exits is a well-formed table (one column per possible CPU, a total that adds
# up, every SDM exit reason once), accepts "0" to reset, and rejects anything else with EINVAL; a
# write whose buffer is only partly readable fails with EFAULT and applies nothing.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 10

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"

# Possible CPUs, e.g. "0-1" or "0": the table's columns.
cpus=$(awk -F- '{ last = NF > 1 ? $2 : $1; for (c = $1; c <= last; c++) printf "cpu%d ", c }' \
	/sys/devices/system/cpu/possible)
header=$(head -n 1 "$EXITS" | tr -s ' ')
ktap_check "header is 'reason nr ${cpus}total'" test "$header" = "reason nr ${cpus}total"

ncols=$(($(echo $cpus | wc -w) + 3))
bad_rows=$(tail -n +2 "$EXITS" | awk -v n="$ncols" '
	NF != n || $2 !~ /^[0-9]+$/ { print; next }
	{ sum = 0; for (i = 3; i < NF; i++) { if ($i !~ /^[0-9]+$/) { print; next } sum += $i }
	  if (sum != $NF) print }')
[ -n "$bad_rows" ] && ktap_print_msg "malformed rows: $bad_rows"
ktap_check "every row has name, number, one count per CPU and their total" test -z "$bad_rows"

ktap_check "78 exit reasons listed" test "$(tail -n +2 "$EXITS" | wc -l)" -eq 78
ktap_check "each reason listed once" test "$(tail -n +2 "$EXITS" | awk '{ print $1 }' | sort -u | wc -l)" -eq 78
ktap_check "CPUID is exit reason 10" test "$(awk '$1 == "CPUID" { print $2 }' "$EXITS")" = 10

ktap_check "writing 0 (reset) is accepted" sh -c "echo 0 > $EXITS"
$PROBE 0 cpuid-loop 1000 0
before=$(exits_total)
huge=$(head -c 4096 /dev/zero | tr "\0" 9)
rejected=$(einval_writes "$EXITS" 1 00 reset "0 0" "
" "$huge")
ktap_check "garbage, blank and huge writes fail with EINVAL" test "$rejected" -eq 6
ktap_check "rejected writes do not reset the counters" test "$(exits_total)" -ge "$before"
# "0" is a valid reset: applying the readable part of this write would zero the counters.
out=$($PROBE 0 write-partial "$EXITS" 0)
[ "$out" = "Bad address" ] || ktap_print_msg "a write of '0' and an unmapped byte gave: '$out'"
ktap_check "a partly unreadable write fails with EFAULT and resets nothing" \
	test "$out" = "Bad address" -a "$(exits_total)" -ge "$before"
ktap_check "rmmod succeeds" rmmod rvmm
ktap_finished
