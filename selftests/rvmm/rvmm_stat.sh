#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# rvmm_stat (tools/rvmm_stat.c) shows the exits a workload causes, by reason and CPU, only the
# reasons that moved: counted while a command runs, or per second over an interval.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) + 6))
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"

# column OUTPUT REASON LABEL: the value in REASON's row under the header label LABEL.
column() {
	printf '%s\n' "$1" | awk -v reason="$2" -v label="$3" '
		$1 == "reason" { for (i = 1; i <= NF; i++) if ($i == label) c = i; next }
		$1 == reason && c { print $c }'
}

for c in $cpus; do
	out=$(rvmm_stat -- $PROBE -u "$c" cpuid-loop 500 0)
	n=$(column "$out" CPUID "cpu$c")
	ktap_print_msg "CPU$c: $(printf '%s\n' "$out" | grep '^CPUID')"
	ktap_check "500 user-mode CPUIDs on CPU$c: rvmm_stat counts at least 500 there ($n)" test "${n:-0}" -ge 500
done
out=$(rvmm_stat -1 -i 0.2)
moved=$(printf '%s\n' "$out" | awk '$1 != "reason" && NF > 2 && $3 == 0' | wc -l)
ktap_check "one interval (-1): a per-second table with a column per CPU, no reason that did not move" \
	sh -c 'contains() { printf "%s\n" "$1" | grep -qE -- "$2"; }
		contains "$1" "^VM exits per second over" && contains "$1" "total/s +cpu0" && [ "$2" = 0 ]' \
	_ "$out" "$moved"
rvmm_stat -- false
ktap_check "the command's exit status is rvmm_stat's" test $? = 1
rvmm_stat -i 0 2>/dev/null
ktap_check "a bad interval is a usage error (exit 2)" test $? = 2
rvmm_stat -x 2>/dev/null
ktap_check "an unknown option is a usage error (exit 2)" test $? = 2
rmmod rvmm
err=$(rvmm_stat -1 2>&1)
rc=$?
ktap_check "without rvmm: exit 1 and a hint ($(printf '%s' "$err" | tail -1))" \
	sh -c '[ "$1" = 1 ] && printf "%s" "$2" | grep -q "is rvmm loaded"' _ "$rc" "$err"
ktap_check_clean_log
ktap_finished
