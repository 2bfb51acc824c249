#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# /sys/kernel/debug/rvmm/trace: off and empty at load; once on, it shows each CPUID of a process with
# that process's pid, CPL 3 and the RIP of its CPUID instruction, and a kernel exit with its RIP
# symbolized; off stops it, 0 empties it, anything else is EINVAL and changes nothing.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 13

TRACE=/sys/kernel/debug/rvmm/trace
HEADER="cpu tsc ticks reason cpl pid qualification rip"
CPU=$(online_cpus | tail -n 1)
PING_KO=$(dirname "$RVMM_KO")/rvmm_ping.ko

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
ktap_check "off and empty after load" test "$(cat $TRACE)" = "trace off
$HEADER"

echo on >$TRACE
ktap_check "on: the header says so" test "$(head -n 1 $TRACE)" = "trace on"
echo 0 >$TRACE
where=$($PROBE "$CPU" cpuid-traced 100 0)
pid=$(echo "$where" | awk '{ print $2 }')
rip=$(echo "$where" | awk '{ print $4 }')
ktap_print_msg "process $pid ran CPUID at $rip 100 times on CPU$CPU"
mine=$(awk -v cpu="$CPU" -v pid="$pid" -v rip="$rip" \
	'$1 == cpu && $4 == "CPUID" && $5 == 3 && $6 == pid && $8 == rip' $TRACE | wc -l)
ktap_print_msg "$(grep -m 2 " CPUID 3 $pid " $TRACE)"
ktap_check "each of its CPUIDs is there with its pid, CPL 3 and RIP ($mine of 100)" test "$mine" -eq 100

bad=$(tail -n +3 $TRACE | awk -v header="$HEADER" '
	NF < 8 || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ || $3 == 0 || $5 !~ /^[0-3]$/ || $7 !~ /^0x/ { print; next }
	$2 < last[$1] { print "tsc went back: " $0 } { last[$1] = $2 }')
[ -n "$bad" ] && ktap_print_msg "$bad"
ktap_check "every record is whole, with ticks > 0 and TSCs in order per CPU" test -z "$bad"

# Symbolized when read: while the module that made the exit is still loaded.
insmod "$PING_KO" || ktap_print_msg "insmod rvmm_ping failed"
kernel=$(awk '$4 == "VMCALL" && $5 == 0 && / \[rvmm_ping\]$/' $TRACE)
rmmod rvmm_ping
ktap_print_msg "$(echo "$kernel" | head -n 2)"
ktap_check "a kernel VMCALL shows its RIP as symbol+offset [module]" \
	contains "$kernel" ' ping_this_cpu\+0x[0-9a-f]+/0x[0-9a-f]+ \[rvmm_ping\]$'
ktap_check "no user-mode RIP is symbolized" \
	test -z "$(awk 'NR > 2 && $5 != 0 && ($8 !~ /^0x[0-9a-f]+$/ || NF != 8)' $TRACE)"

echo off >$TRACE
records=$(tail -n +3 $TRACE | wc -l)
$PROBE "$CPU" cpuid-loop 100 0
ktap_check "off: nothing more is recorded ($records records)" test "$(tail -n +3 $TRACE | wc -l)" -eq "$records"

ktap_check_switch_refuses_garbage $TRACE

echo 0 >$TRACE
ktap_check "0 empties it" test "$(cat $TRACE)" = "trace off
$HEADER"

# The ring keeps the last 256 exits of each CPU, oldest first.
echo on >$TRACE
$PROBE "$CPU" cpuid-traced 400 0 >/dev/null
echo off >$TRACE
kept=$(awk -v cpu="$CPU" '$1 == cpu' $TRACE | wc -l)
ktap_check "after 400 CPUIDs CPU$CPU shows the last 256 exits ($kept)" test "$kept" -eq 256
ktap_check_clean_log
ktap_check "rmmod succeeds" rmmod rvmm
ktap_finished
