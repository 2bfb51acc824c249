#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# An unprivileged thread that keeps in FS or GS a selector of an LDT entry it emptied with
# modify_ldt(2) (the CPU keeps the descriptor it loaded) neither stops rvmm from loading nor crashes
# the kernel when rvmm gives a CPU back: insmod, hotplug, a kernel VMXOFF and rmmod meet the
# register on the CPUs where such threads run, and the threads' reads through it give what they
# give natively. Without its own CPU to load from, insmod would meet only its own registers.
. "$(dirname "$0")/lib.sh"
ONLINE=/sys/devices/system/cpu/cpu1/online
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
[ "$(echo $cpus | wc -w)" -ge 2 ] || skip_test "needs 2 CPUs: the threads run beside the one that loads rvmm"
others=$(echo "$cpus" | tail -n +2)
last=$(echo "$cpus" | tail -n 1)
ktap_set_plan $((2 * (7 + $(echo $others | wc -w)) + 1))

# start_holders REG: one holder of a stale REG on each CPU but CPU0, as the user nobody.
start_holders() {
	holders=
	for c in $others; do
		$PROBE -u "$c" stale-ldt "$1" 900 >/tmp/stale.$1.$c &
		holders="$holders $!"
	done
	sleep 1
}

# stop_holders REG: one test point per holder, that it read through REG as natively.
stop_holders() {
	kill $holders 2>/dev/null
	i=0
	for pid in $holders; do
		wait "$pid"
		rc=$?
		i=$((i + 1))
		c=$(echo $others | cut -d' ' -f$i)
		out=$(tail -n 1 /tmp/stale.$1.$c)
		ktap_print_msg "the holder started on CPU$c: $out"
		ktap_check "a thread holding a stale $1 read through it as natively ($out)" test "$rc" = 0
	done
}

for reg in fs gs; do
	start_holders $reg
	out=$(taskset 1 insmod "$RVMM_KO" 2>&1)
	ktap_check "insmod succeeds while other CPUs hold a stale $reg" test -z "$out" -a "$(rvmm_loaded && echo y)" = y
	all=y
	for c in $cpus; do under_rvmm "$c" || all=n; done
	ktap_check "$reg: every CPU is under rvmm" test "$all" = y
	if [ -w "$ONLINE" ]; then
		echo 0 >"$ONLINE" && echo 1 >"$ONLINE"
		# CPU1's holder lost its CPU: one more there, pinned again.
		$PROBE -u 1 stale-ldt "$reg" 900 >/tmp/stale.$reg.1b &
		extra=$!
		sleep 1
		ktap_check "$reg: CPU1 went offline and came back under rvmm" under_rvmm 1
	else
		extra=
		ktap_test_skip "$reg: CPU1 cannot go offline"
	fi
	taskset 1 insmod /rvmm/rvmm_step_test.ko cpu="$last" && rmmod rvmm_step_test
	left=y
	under_rvmm "$last" && left=n
	ktap_check "$reg: CPU$last left rvmm with a kernel VMXOFF" test "$left" = y
	ktap_check "$reg: rmmod succeeds" taskset 1 rmmod rvmm
	extra_rc=0
	if [ -n "$extra" ]; then
		kill "$extra"
		wait "$extra"
		extra_rc=$?
		ktap_print_msg "the holder started on CPU1 after hotplug: $(tail -n 1 /tmp/stale.$reg.1b)"
	fi
	ktap_check "$reg: the holder started after hotplug read through it as natively" test "$extra_rc" = 0
	stop_holders $reg
	problems=$(dmesg | grep -E 'rvmm: CPU[0-9]+: .*failed|VM entry|rule' || true)
	[ -z "$problems" ] || ktap_print_msg "$problems"
	ktap_check "$reg: no failed VM entry" test -z "$problems"
done
ktap_check_clean_log
ktap_finished
