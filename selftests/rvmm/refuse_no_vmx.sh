#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: novmx
# On a CPU without VMX (QEMU TCG, or an old Bochs model), insmod fails with ENODEV and a message
# that says what to do.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 6

ktap_check "the CPU does not advertise VMX" sh -c "! grep -qw vmx /proc/cpuinfo"
out=$(insmod "$RVMM_KO" 2>&1)
rc=$?
ktap_print_msg "insmod: $out"
ktap_check "insmod fails" test "$rc" -ne 0
ktap_check "with ENODEV (No such device)" contains "$out" 'No such device'
ktap_check "the log names the CPU and says what to do" \
	contains "$(dmesg)" 'rvmm: cannot use VMX on CPU0 .*CPUID reports no VMX: use an Intel CPU with VT-x'
ktap_check "nothing is left behind" sh -c "! grep -q '^rvmm ' /proc/modules && test ! -e /sys/kernel/debug/rvmm"
ktap_check_clean_log
ktap_finished
