#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# While rvmm is loaded, reads of the VMX capability MSR block (0x480-0x4c0: IA32_VMX_BASIC to
# IA32_VMX_EXIT_CTLS2 and the unassigned rest) fail through /dev/cpu/*/msr as on a CPU without VMX,
# IA32_FEATURE_CONTROL shows VMX disabled, the MSRs after the block (IA32_A_PMC0, IA32_MCG_EXT_CTL)
# read as natively, and every CPU stays under rvmm; after rmmod all read as before.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 5 + 2))

basic_native=$($PROBE 0 rdmsr 0x480)
ktap_print_msg "natively IA32_VMX_BASIC = $basic_native"
ktap_check "natively IA32_VMX_BASIC reads" contains "$basic_native" '^0x'
# Not VMX, so not hidden: whether they exist depends on the CPU model, but not on rvmm. A counter's
# value moves, so only whether each reads is compared.
beyond_block() { $PROBE "$1" rdmsr 0x4c1 0x4d0 | grep -E '^0x4c1 |^0x4d0 ' | sed 's/ 0x[0-9a-f]*$/ reads/'; }
beyond_native=$(beyond_block 0)
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	shown=$($PROBE "$c" rdmsr 0x480 0x4c0 | grep -v ' Input/output error$')
	[ -z "$shown" ] || ktap_print_msg "CPU$c, VMX MSRs that read: $(echo $shown)"
	ktap_check "CPU$c: every MSR of 0x480-0x4c0 (IA32_VMX_EXIT_CTLS2 included) fails with EIO" \
		test -z "$shown"
	fc=$($PROBE "$c" rdmsr 0x3a)
	ktap_print_msg "CPU$c IA32_FEATURE_CONTROL = $fc"
	ktap_check "CPU$c: IA32_FEATURE_CONTROL reads with the VMX enable bits clear" test $((fc & 6)) = 0
	ktap_check "CPU$c: IA32_FEATURE_CONTROL stays locked" test $((fc & 1)) = 1
	[ "$c" = 0 ] && ktap_print_msg "CPU0, 0x4c1 and 0x4d0 natively: $(echo $beyond_native)"
	ktap_check "CPU$c: IA32_A_PMC0 and IA32_MCG_EXT_CTL read as natively" \
		test "$(beyond_block "$c")" = "$beyond_native"
	ktap_check "CPU$c: still under rvmm after the reads" \
		under_rvmm "$c"
done
rmmod rvmm
ktap_check "IA32_VMX_BASIC reads as before after rmmod" test "$($PROBE 0 rdmsr 0x480)" = "$basic_native"
ktap_finished
