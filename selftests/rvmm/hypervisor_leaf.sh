#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# While rvmm is loaded every CPU answers CPUID 0x40000000 with rvmm's signature, hides VMX in
# CPUID.1:ECX and leaves the hypervisor-present bit (CPUID.1:ECX[31]) as the CPU reports it; after
# rmmod every CPU answers as it did before.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 5))

vmx_bit() { echo $(((0x$($PROBE "$1" cpuid 1 | cut -d' ' -f3) >> 5) & 1)); }
hypervisor_bit() { echo $(((0x$($PROBE "$1" cpuid 1 | cut -d' ' -f3) >> 31) & 1)); }

for c in $cpus; do
	eval native_$c=\"$($PROBE "$c" cpuid 0x40000000)\"
	eval native_hypervisor_$c=$(hypervisor_bit "$c")
done
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	leaf=$($PROBE "$c" cpuid 0x40000000)
	ktap_print_msg "CPU$c loaded: $leaf"
	ktap_check "CPU$c: CPUID 0x40000000 returns the rvmm signature" \
		test "$leaf" = "40000000 6d6d7672 6d6d7672 6d6d7672 rvmmrvmmrvmm"
	ktap_check "CPU$c: CPUID.1:ECX.VMX is clear while loaded" test "$(vmx_bit "$c")" = 0
	eval native=\$native_hypervisor_$c
	ktap_check "CPU$c: CPUID.1:ECX[31] (hypervisor present) is $native, as natively" \
		test "$(hypervisor_bit "$c")" = "$native"
done
rmmod rvmm || ktap_exit_fail_msg "rmmod failed"
for c in $cpus; do
	leaf=$($PROBE "$c" cpuid 0x40000000)
	eval native=\$native_$c
	ktap_print_msg "CPU$c unloaded: $leaf, native: $native"
	ktap_check "CPU$c: CPUID 0x40000000 is native again after rmmod" test "$leaf" = "$native"
	ktap_check "CPU$c: CPUID.1:ECX.VMX is back after rmmod" test "$(vmx_bit "$c")" = 1
done
ktap_finished
