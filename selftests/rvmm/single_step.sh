#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# A program single-stepping over CPUID gets its trap right after CPUID under rvmm, as natively, even
# though rvmm emulates the instruction.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) + 1))

out=$($PROBE 0 step-cpuid)
ktap_print_msg "native: $out"
ktap_check "natively, the single-step trap follows CPUID" test "$out" = "trap after CPUID"
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	out=$($PROBE "$c" step-cpuid)
	ktap_print_msg "CPU$c under rvmm: $out"
	ktap_check "CPU$c: under rvmm the single-step trap follows CPUID" test "$out" = "trap after CPUID"
done
rmmod rvmm
ktap_finished
