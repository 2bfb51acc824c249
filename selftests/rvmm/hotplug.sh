#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# CPU hotplug while rvmm is loaded: a CPU going offline leaves rvmm first, one coming online is
# virtualized, whether it was online at load or not; rmmod afterwards gives every CPU back.
. "$(dirname "$0")/lib.sh"
CYCLES=${HOTPLUG_CYCLES:-5}
ONLINE=/sys/devices/system/cpu/cpu1/online
rvmm_setup
ktap_print_header
[ -w "$ONLINE" ] && [ "$(online_cpus | wc -l)" -ge 2 ] || skip_test "needs CPU1 online and able to go offline"
ktap_set_plan 7

under_rvmm() { contains "$($PROBE "$1" cpuid 0x40000000)" rvmmrvmmrvmm; }

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
bad=0
i=0
while [ "$i" -lt "$CYCLES" ]; do
	i=$((i + 1))
	echo 0 >"$ONLINE" || bad=$((bad + 1))
	[ "$(cat "$ONLINE")" = 0 ] || bad=$((bad + 1))
	echo 1 >"$ONLINE" || bad=$((bad + 1))
	under_rvmm 1 || { bad=$((bad + 1)); ktap_print_msg "cycle $i: CPU1 is not under rvmm after coming online"; }
done
ktap_check "CPU1 went offline and online $CYCLES times, under rvmm after each" test "$bad" = 0
ktap_check "CPU0 is still under rvmm" under_rvmm 0
before=$(exits_count CPUID 1)
$PROBE 1 cpuid-loop 100 0
ktap_check "CPU1's exits are counted after hotplug" test "$(exits_count CPUID 1)" -ge $((before + 100))

# Offline at load, online later: virtualized when it comes.
rmmod rvmm
echo 0 >"$ONLINE"
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod with CPU1 offline failed"
echo 1 >"$ONLINE"
ktap_check "a CPU offline at load is virtualized when it comes online" under_rvmm 1

# Offline at unload: it stays native when it comes back.
echo 0 >"$ONLINE"
rmmod rvmm
echo 1 >"$ONLINE"
cpu1_native=1
under_rvmm 1 && cpu1_native=0
ktap_check "a CPU offline at unload comes back without rvmm" test "$cpu1_native" = 1
native=1
for c in $(online_cpus); do under_rvmm "$c" && native=0; done
ktap_check "every CPU is native after rmmod" test "$native" = 1
ktap_check_clean_log
ktap_finished
