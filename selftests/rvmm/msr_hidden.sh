#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# While rvmm is loaded, user space cannot read the VMX capability MSRs through /dev/cpu/*/msr and
# IA32_FEATURE_CONTROL shows VMX disabled; after rmmod both read as before.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 3 + 1))

basic_native=$($PROBE 0 rdmsr 0x480)
ktap_print_msg "natively IA32_VMX_BASIC = $basic_native"
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	hidden=true
	for m in 0x480 0x481 0x482 0x486 0x48b 0x48d 0x491; do
		out=$($PROBE "$c" rdmsr $m)
		[ "$out" = "Input/output error" ] || { hidden=false; ktap_print_msg "CPU$c MSR $m: $out"; }
	done
	ktap_check "CPU$c: VMX capability MSRs fail with EIO" $hidden
	fc=$($PROBE "$c" rdmsr 0x3a)
	ktap_print_msg "CPU$c IA32_FEATURE_CONTROL = $fc"
	ktap_check "CPU$c: IA32_FEATURE_CONTROL reads with the VMX enable bits clear" test $((fc & 6)) = 0
	ktap_check "CPU$c: IA32_FEATURE_CONTROL stays locked" test $((fc & 1)) = 1
done
rmmod rvmm
ktap_check "IA32_VMX_BASIC reads as before after rmmod" test "$($PROBE 0 rdmsr 0x480)" = "$basic_native"
ktap_finished
