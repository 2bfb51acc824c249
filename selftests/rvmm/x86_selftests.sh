#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: x86
# The kernel's own x86 selftests (64- and 32-bit) give the same result with rvmm loaded as without:
# each program runs natively, then under rvmm, and its exit status must not change.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
# Every program the guest was given: the test bed may split them between guests.
tests=$(ls /selftests/x86)
ktap_set_plan $(($(echo $tests | wc -w) + 1))

# run_all PHASE: run every program, keeping its exit status (124: killed after the time limit).
run_all() {
	for t in $tests; do
		start=$(cut -d. -f1 /proc/uptime)
		timeout "${X86_TEST_TIMEOUT:-300}" "/selftests/x86/$t" >"/tmp/$t.$1" 2>&1
		echo $? >"/tmp/$t.$1.rc"
		ktap_print_msg "$1 $t: exit $(cat "/tmp/$t.$1.rc") in $(($(cut -d. -f1 /proc/uptime) - start)) s"
	done
}

run_all native
# Kernel warnings are WARN_ON_ONCE mostly: what the native run triggered cannot fire again, so only
# what the run under rvmm adds is held against rvmm.
native_problems=$(dmesg_problems)
[ -z "$native_problems" ] || ktap_print_msg "kernel log after the native run: $native_problems"
dmesg -c >/dev/null
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
run_all rvmm
exits=$(exits_total)
rmmod rvmm
ktap_print_msg "VM exits while the selftests ran under rvmm: $exits"
for t in $tests; do
	native=$(cat "/tmp/$t.native.rc")
	loaded=$(cat "/tmp/$t.rvmm.rc")
	if [ "$native" != "$loaded" ]; then
		grep -E '^\[(FAIL|RUN)' "/tmp/$t.rvmm" | tail -n 5 | while read -r line; do ktap_print_msg "$line"; done
	fi
	ktap_check "$t: same result with rvmm loaded (native $native, rvmm $loaded)" test "$native" = "$loaded"
done
problems=$(dmesg_problems)
[ -n "$problems" ] && ktap_print_msg "$problems"
ktap_check "no warning or oops in the kernel log under rvmm" test -z "$problems"
ktap_finished
