#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: entrychecks
# rvmm names the SDM rule a failed VM entry broke. Each corruption of rust/vmx/vmcs_corruption.rs
# changes one VMCS field on one CPU just before VMLAUNCH: insmod fails with EIO, every CPU is rolled
# back (the next load would fail with EBUSY on a CPU left in VMX), and the kernel log names, first,
# the rule the table below expects. Each entry also prints the check the emulator must report for
# the same entry: the test bed compares it with Bochs's own log after the boot
# (selftests/testbed/bochs_entry_checks.awk), in this order. Then one entry that fails at run time
# (rvmm names the rule at unload), and each corruption again with check_vmcs=1: refused before
# VMLAUNCH, naming the same rule, with no VM entry at all.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header

# K|rule rvmm names first|what Bochs 3.0 logs for the same entry (bochs/cpu/vmx.cc). Neighbours log
# different checks: the test bed counts a message repeated in a row once (each insmod loads twice).
table='1|guest CR0 fixed bits|VMENTER FAIL: VMCS guest invalid CR0
2|guest CR4 fixed bits|VMENTER FAIL: VMCS guest invalid CR4
3|host CR0 fixed bits|VMFAIL: VMCS host state invalid CR0
4|host CR4 fixed bits|VMFAIL: VMCS host state invalid CR4
5|guest CS type|VMENTER FAIL: VMCS guest CS.TYPE
6|guest non-conforming CS.DPL equals SS.DPL|VMENTER FAIL: VMCS guest non-conforming CS.DPL <> SS.DPL
7|guest TR type|VMENTER FAIL: VMCS guest incorrect TR type
8|guest TR selector TI|VMENTER FAIL: VMCS guest TR.TI set
9|guest segment limit and granularity|VMENTER FAIL: VMCS guest CS.AR/LIMIT malformed
10|guest segment limit and granularity|VMENTER FAIL: VMCS guest TR.AR/LIMIT malformed
11|guest GDTR and IDTR bases canonical|VMENTER FAIL: VMCS guest IDTR/IDTR.BASE non canonical
12|guest GDTR and IDTR limits bits 31:16|VMENTER FAIL: VMCS guest GDTR/IDTR limit > 0xFFFF
13|guest RIP bits 63:32 outside 64-bit mode|VMENTER FAIL: VMCS guest RIP > 32 bit
14|guest RFLAGS reserved bits|VMENTER FAIL: RFLAGS reserved bits are set
15|guest RFLAGS.VM in IA-32e mode|VMENTER FAIL: Enter to x86-64 guest with RFLAGS.VM
16|guest activity state supported|VMENTER FAIL: VMCS guest activity state 4
17|VMCS link pointer|VMFAIL: VMCS link pointer malformed
18|host selector RPL and TI|VMFAIL: VMCS host segreg 1 TI/RPL != 0
19|host selector RPL and TI|VMFAIL: VMCS invalid host TR selector
20|host address-space size in IA-32e mode|VMFAIL: VMCS x86-64 host control invalid on VMENTRY
21|VM-entry controls: allowed settings|VMFAIL: VMCS EXEC CTRL: VMX vmentry controls allowed 1-settings
22|virtual NMIs require NMI exiting|VMFAIL: VMCS EXEC CTRL: misconfigured virtual NMI control
23|unrestricted guest requires EPT|VMFAIL: VMCS EXEC CTRL: unrestricted guest without EPT
24|primary processor-based controls: allowed settings|VMFAIL: VMCS EXEC CTRL: VMX proc-based controls allowed 0-settings
25|guest blocking by STI requires RFLAGS.IF|VMENTER FAIL: VMCS guest interrupts can'"'"'t be blocked by STI when EFLAGS.IF = 0
26|guest pending debug exceptions reserved bits|VMENTER FAIL: VMCS guest tmpDR6 reserved bits
27|64-bit host RIP canonical|VMFAIL: VMCS host RIP non-canonical
28|host FS, GS, TR, GDTR and IDTR bases canonical|VMFAIL: VMCS host FS BASE non canonical
29|guest TR, FS, GS and LDTR bases canonical|VMENTER FAIL: VMCS guest FS.BASE non canonical
30|guest SYSENTER_ESP and SYSENTER_EIP canonical|VMENTER FAIL: VMCS guest SYSENTER_EIP_MSR non canonical
31|event injection: vector|VMFAIL: VMENTRY bad injected event vector 32
32|MSR-bitmap address|VMFAIL: VMCS EXEC CTRL: MSR bitmap phy addr malformed
33|CR3-target count|VMFAIL: VMCS EXEC CTRL: too may CR3 targets 5
34|guest TR usable|VMENTER FAIL: VMCS guest TR invalid
35|guest DR7 bits 63:32|VMENTER FAIL: VMCS guest invalid DR7
36|guest CR3 reserved bits|VMENTER FAIL: VMCS guest invalid CR3'
count=$(printf '%s\n' "$table" | wc -l)
cpus=$(online_cpus)
# The last CPU, which insmod runs on: there set-up runs in insmod's own context, where SS is the
# kernel's data segment, as corruption 6 needs; the other CPUs launch in IPIs and are rolled back.
cpu=$(echo $cpus | awk '{ print $NF }')
ktap_set_plan $((2 * count + 3))

# corrupted K RULE [PARAMS]: insmod with corruption K fails with EIO, the first rule logged is RULE,
# and no CPU is left under rvmm. Prints the log line that names the rule.
corrupted() {
	k=$1 rule=$2
	shift 2
	dmesg -c >/dev/null
	out=$(taskset -c "$cpu" insmod "$RVMM_KO" inject_vmcs_corruption="$k" inject_cpu="$cpu" "$@" 2>&1) && {
		rmmod rvmm
		ktap_print_msg "corruption $k: insmod succeeded"
		return 1
	}
	log=$(dmesg | grep 'rvmm:')
	named=$(printf '%s\n' "$log" | grep -m1 "CPU$cpu: VM entry check failed: " || true)
	ktap_print_msg "${named:-corruption $k: no rule named}"
	ok=0
	contains "$out" 'Input/output error' &&
		contains "$log" "injected VMCS corruption $k on CPU$cpu: " &&
		case $named in *"VM entry check failed: SDM 27."*" $rule: "*) true ;; *) false ;; esac &&
		contains "$log" 'rolled back' &&
		no_cpu_under_rvmm && ok=1
	[ "$ok" = 1 ] || ktap_print_msg "insmod: $out; log: $log"
	[ "$ok" = 1 ]
}

# refused K RULE: with check_vmcs=1, corruption K is refused before VMLAUNCH, naming RULE.
refused() {
	corrupted "$1" "$2" check_vmcs=1 && dmesg | grep -q 'did not launch it (check_vmcs=1'
}

while IFS='|' read -r k rule bochs; do
	# For the test bed's comparison with the emulator's log, which must hold one failed entry per
	# line printed here, in order.
	ktap_print_msg "bochs-expect $k: $bochs"
	ktap_check "corruption $k: VM entry fails, \"$rule\" named, every CPU rolled back" corrupted "$k" "$rule"
done <<EOF
$table
EOF
# runtime_failure: a VM entry that fails at run time, in kernel mode (inject_kernel_entry_failure:
# the sample's VMCALL of an unknown function, its last on each CPU, breaks the entry after it): the
# CPU leaves VMX and carries on natively, and rmmod names the rule the VMCS broke.
runtime_failure() {
	dmesg -c >/dev/null
	insmod "$RVMM_KO" inject_kernel_entry_failure=1 inject_cpu="$cpu" || return 1
	ping=$(insmod /rvmm/rvmm_ping.ko 2>&1 && rmmod rvmm_ping && echo answered)
	left=1
	under_rvmm "$cpu" && left=0
	rmmod rvmm
	log=$(dmesg | grep 'rvmm:')
	named=$(printf '%s\n' "$log" | grep -m1 "CPU$cpu: VM entry check failed: " || true)
	ktap_print_msg "rvmm_ping: $ping; ${named:-no rule named}"
	[ "$ping" = answered ] && [ "$left" = 1 ] &&
		contains "$log" "CPU$cpu had left VMX on its own after exit reason 0x80000021" &&
		case $named in *"SDM 27.3.1.5 guest blocking by STI and by MOV SS together: "*) true ;; *) false ;; esac
}
ktap_print_msg "bochs-expect $((count + 1)): VMENTER FAIL: VMCS guest interruptibility state broken"
ktap_check "a VM entry failing at run time: CPU$cpu leaves VMX and continues, rmmod names the rule" runtime_failure

while IFS='|' read -r k rule bochs; do
	ktap_check "corruption $k with check_vmcs=1: refused before VMLAUNCH, \"$rule\" named" refused "$k" "$rule"
done <<EOF
$table
EOF
ktap_check "rvmm loads and unloads after all that" sh -c "insmod $RVMM_KO && rmmod rvmm"
ktap_check_clean_log
ktap_finished
