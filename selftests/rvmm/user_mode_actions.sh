#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# Nothing a user-mode process does takes a CPU out of rvmm, and every instruction it tries ends as it
# does natively: VMX instructions, VMCALL, INVD, XSETBV and other privileged instructions at CPL 3,
# CPUID with any leaf, and (as root) reads of the whole VMX MSR block through /dev/cpu/N/msr.
. "$(dirname "$0")/lib.sh"
INSTRUCTIONS="vmcall vmlaunch vmresume vmxoff vmfunc vmread vmwrite vmxon vmclear vmptrld vmptrst
	invept invvpid getsec invd wbinvd xsetbv rdmsr wrmsr mov-to-cr4 hlt cpuid"
LEAVES="0 1 7 0xd 0x14 0x40000000 0x40000001 0x400000ff 0x4fffffff 0x80000000 0x80000008 0x8fffffff
	0xffffffff"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $((1 + $(echo $cpus | wc -w) * ($(echo $INSTRUCTIONS | wc -w) + 3) + 2))

all_ran=true
for i in $INSTRUCTIONS; do
	out=$($PROBE -u 0 exec "$i")
	eval native_$(echo "$i" | tr - _)=\"\$out\"
	contains "$out" '^(no fault|.* at \+[0-9]+)$' || all_ran=false
	ktap_print_msg "natively, $i at CPL 3: $out"
done
ktap_check "every instruction ran natively at CPL 3" $all_ran
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	for i in $INSTRUCTIONS; do
		eval native=\$native_$(echo "$i" | tr - _)
		out=$($PROBE -u "$c" exec "$i")
		[ "$out" = "$native" ] || ktap_print_msg "CPU$c, $i at CPL 3: $out"
		ktap_check "CPU$c: $i at CPL 3 ends as natively ($native)" test "$out" = "$native"
	done
	ktap_check "CPU$c: still under rvmm after those instructions" under_rvmm "$c"
	for leaf in $LEAVES; do
		for sub in 0 1 0xffffffff; do $PROBE -u "$c" cpuid "$leaf" "$sub" >/dev/null; done
	done
	$PROBE "$c" step-cpuid >/dev/null
	ktap_check "CPU$c: still under rvmm after CPUID with every leaf and single-stepped" under_rvmm "$c"
	$PROBE "$c" rdmsr 0x480 0x4ff >/dev/null
	ktap_check "CPU$c: still under rvmm after root reads 0x480-0x4ff" under_rvmm "$c"
done
ktap_check "rmmod succeeds" rmmod rvmm
ktap_check_clean_log
ktap_finished
