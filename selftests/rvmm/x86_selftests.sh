#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: x86
# The kernel's own x86 selftests (64- and 32-bit) give the same result with rvmm loaded as without:
# each program runs natively, then under rvmm, and one that passes natively must pass under rvmm too.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
# Every program the guest was given: the test bed may split them between guests.
tests=$(ls /selftests/x86)
ktap_set_plan $(($(echo $tests | wc -w) + 1))

# run_one PHASE PROGRAM: run it, keeping its output and exit status (124: killed after the time limit).
run_one() {
	start=$(cut -d. -f1 /proc/uptime)
	timeout "${X86_TEST_TIMEOUT:-300}" "/selftests/x86/$2" >"/tmp/$2.$1" 2>&1
	echo $? >"/tmp/$2.$1.rc"
	ktap_print_msg "$1 $2: exit $(cat "/tmp/$2.$1.rc") in $(($(cut -d. -f1 /proc/uptime) - start)) s"
}

run_all() {
	for t in $tests; do run_one "$1" "$t"; done
}

run_all native
# Kernel warnings are WARN_ON_ONCE mostly: what the native run triggered cannot fire again, so only
# what the run under rvmm adds is held against rvmm.
native_problems=$(dmesg_problems)
[ -z "$native_problems" ] || ktap_print_msg "kernel log after the native run: $native_problems"
dmesg -c >/dev/null
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
run_all rvmm
# Some programs fail now and then natively under Bochs too: sysret_ss_attrs_32 segfaulted in 8 of 300
# native runs, its stack addressed as 16-bit after SYSRET. One that passed natively but failed under
# rvmm runs twice more under rvmm, and only failing all three times counts against rvmm.
for t in $tests; do
	for retry in 1 2; do
		[ "$(cat "/tmp/$t.native.rc")" = 0 ] && [ "$(cat "/tmp/$t.rvmm.rc")" != 0 ] || break
		cp "/tmp/$t.rvmm" "/tmp/$t.rvmm.failed"
		ktap_print_msg "retry $retry of $t under rvmm"
		run_one rvmm "$t"
	done
done
exits=$(exits_total)
rmmod rvmm
ktap_print_msg "VM exits while the selftests ran under rvmm: $exits"
for t in $tests; do
	native=$(cat "/tmp/$t.native.rc")
	loaded=$(cat "/tmp/$t.rvmm.rc")
	# A program that fails natively gives no baseline: under Bochs some die of a signal that varies
	# from run to run (ldt_gdt_32 was seen to exit 134 and 139), so there is nothing to compare.
	if [ "$native" != 0 ]; then
		ktap_test_skip "$t: fails natively under this emulator (exit $native; rvmm $loaded), no baseline"
		continue
	fi
	retried=
	if [ -e "/tmp/$t.rvmm.failed" ]; then
		retried=" after a retry"
		grep -E '^\[(FAIL|RUN)' "/tmp/$t.rvmm.failed" | tail -n 5 | while read -r line; do ktap_print_msg "$line"; done
	fi
	ktap_check "$t: passes natively and with rvmm loaded$retried (rvmm: exit $loaded)" test "$loaded" = 0
done
problems=$(dmesg_problems)
[ -n "$problems" ] && ktap_print_msg "$problems"
ktap_check "no warning or oops in the kernel log under rvmm" test -z "$problems"
ktap_finished
