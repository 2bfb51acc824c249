#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# What this CPU model offers (its VMX capability MSRs, read natively) and what the kernel turned on,
# in one "caps:" and one "kernel uses:" line that the test bed's matrix table collects; and that rvmm
# adapts to it: CR3 accesses exit only where the CPU cannot turn that off (no TRUE controls, SDM Vol.
# 3D A.3.2; no Bochs model lacks them, so a test parameter makes rvmm ignore them), and RDTSCP, INVPCID and XSAVES, which the kernel uses, work in the guest where it has them.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 13

msr() { $PROBE 0 rdmsr "$1"; }
bit() { [ $((($1 >> $2) & 1)) = 1 ] && echo yes || echo no; }
basic=$(msr 0x480)
ktap_check "IA32_VMX_BASIC reads natively" contains "$basic" "^0x"
true_ctls=$(bit "$basic" 55)
if [ "$true_ctls" = yes ]; then procbased=$(msr 0x48e); else procbased=$(msr 0x482); fi
secondary=$(bit "$procbased" 63)
cr3_exits_forced=$(bit "$procbased" 15)
ept=no vpid=no ug=no
if [ "$secondary" = yes ]; then
	procbased2=$(msr 0x48b)
	ept=$(bit "$procbased2" 33) vpid=$(bit "$procbased2" 37) ug=$(bit "$procbased2" 39)
fi
ktap_print_msg "caps: true-controls=$true_ctls secondary=$secondary ept=$ept vpid=$vpid" \
	"unrestricted-guest=$ug cr3-exiting-fixed=$cr3_exits_forced"

flag() { grep -m1 '^flags' /proc/cpuinfo | grep -qw "$1" && echo on || echo off; }
ktap_print_msg "kernel uses: pti=$(flag pti) ibt=$(flag ibt) la57=$(flag la57) lass=$(flag lass)" \
	"user-shstk=$(flag user_shstk) umip=$(flag umip) pcid=$(flag pcid)"

kernel_insns=
for insn in rdtscp invpcid xsaves; do
	grep -m1 '^flags' /proc/cpuinfo | grep -qw "$insn" || continue
	kernel_insns="$kernel_insns $insn"
	eval "native_$insn=\$($PROBE -u 0 exec $insn)"
done

insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
cr_access_exits() {
	n=0
	for c in $(online_cpus); do n=$((n + $(exits_count CR_ACCESS "$c"))); done
	echo "$n"
}
before=$(cr_access_exits)
# Fork and exec: each process switch loads CR3 (and so does every kernel entry under PTI).
for i in $(seq 20); do /bin/true; done
after=$(cr_access_exits)
ktap_print_msg "CR_ACCESS exits while 20 processes ran: $((after - before))"
if [ "$cr3_exits_forced" = yes ]; then
	ktap_check "CR3 loads exit, as this CPU requires, and are emulated" test $((after - before)) -gt 0
else
	# Each process loads CR3 at least twice. CR4 writes exit (the kernel's copy of CR4 lacks VMXE),
	# such as the PGE toggles of a global TLB flush on CPUs without INVPCID, but they are rare.
	ktap_check "fewer CR-access exits than processes: CR3 loads do not exit" test $((after - before)) -lt 20
fi

# The secondary controls that let the guest keep instructions the CPU has (SDM 25.6.2): without
# them, each raises #UD in the guest (#GP natively at CPL 3, or no fault for RDTSCP).
usable=true
for insn in $kernel_insns; do
	under=$($PROBE -u 0 exec "$insn")
	ktap_print_msg "$insn at CPL3: natively $(eval echo \$native_$insn), under rvmm $under"
	[ "$under" = "$(eval echo \$native_$insn)" ] || usable=false
done
ktap_check "the kernel's RDTSCP, INVPCID and XSAVES behave as natively (${kernel_insns:-none here})" $usable
ktap_check "rmmod succeeds" rmmod rvmm
! under_rvmm 0
ktap_check "CPU0 is native again" test $? = 0

# Every CPU must report the same capabilities, and each must read, as rvmm builds one set of controls
# for all (inject_capability_failure makes the last CPU's differ, or one of them fault, as after a
# microcode or firmware update that reached only some CPUs).
last=$(online_cpus | tail -1)
refused_naming() { contains "$1" 'Input/output error' && contains "$(dmesg)" "$2"; }
if [ "$(online_cpus | wc -l)" -ge 2 ]; then
	out=$(insmod "$RVMM_KO" inject_capability_failure=1 inject_cpu="$last" 2>&1)
	ktap_print_msg "CPU$last's IA32_VMX_MISC differs: $out"
	ktap_check "CPUs with different capabilities: insmod fails with EIO, naming the CPU and the MSR" \
		refused_naming "$out" "CPU$last reports IA32_VMX_MISC \(0x485\)"
else
	ktap_test_skip "CPUs with different capabilities: needs two CPUs"
fi
out=$(insmod "$RVMM_KO" inject_capability_failure=2 inject_cpu="$last" 2>&1)
ktap_print_msg "CPU$last's IA32_VMX_VMCS_ENUM faults: $out"
ktap_check "a capability MSR that faults: insmod fails with EIO, naming it" \
	refused_naming "$out" "CPU$last: reading IA32_VMX_VMCS_ENUM \(0x48a\) faulted"
no_cpu_under_rvmm=true
for c in $(online_cpus); do under_rvmm "$c" && no_cpu_under_rvmm=false; done
ktap_check "no CPU is left under rvmm, and rvmm is not loaded" sh -c "$no_cpu_under_rvmm && ! grep -q '^rvmm ' /proc/modules"

# As on a CPU without the TRUE MSRs: CR3-load and -store exiting stay on, and rvmm emulates each
# MOV to and from CR3 (with PCIDs, bit 63 of the source is not part of CR3: SDM Vol. 3A, 4.10.4.1).
insmod "$RVMM_KO" inject_no_true_controls=1 || ktap_exit_fail_msg "insmod inject_no_true_controls=1 failed"
before=$(cr_access_exits)
lines=$(for i in $(seq 20); do echo "$i"; done | while read -r n; do sh -c "echo $n"; done | wc -l)
after=$(cr_access_exits)
ktap_print_msg "without the TRUE controls: $((after - before)) CR_ACCESS exits while 20 processes ran"
ktap_check "without the TRUE controls, CR3 accesses exit" test $((after - before)) -gt 0
ktap_check "and the processes ran as they should" test "$lines" = 20
under_rvmm 0 && under_rvmm "$(online_cpus | tail -1)"
ktap_check "every CPU stays under rvmm" test $? = 0
ktap_check "rmmod succeeds" rmmod rvmm
ktap_check_clean_log
ktap_finished
