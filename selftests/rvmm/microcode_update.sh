#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# A microcode update (WRMSR to IA32_BIOS_UPDT_TRIG, 0x79) must not be loaded in VMX non-root
# operation (SDM Vol. 3C, 32.4). Under rvmm the kernel's write exits on every CPU and rvmm makes it
# in root mode, which returns what the CPU returns natively. The write is the kernel's msr driver's;
# with address 0 as the update, Bochs refuses it (a real CPU would look for an update there).
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 2 + 2))
native=$($PROBE 0 wrmsr 0x79 0)
ktap_print_msg "natively, writing 0 to IA32_BIOS_UPDT_TRIG: $native"
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	before=$(exits_count MSR_WRITE "$c")
	out=$($PROBE "$c" wrmsr 0x79 0)
	after=$(exits_count MSR_WRITE "$c")
	ktap_check "CPU$c: the write exits to root mode ($before -> $after MSR_WRITE exits)" \
		test "$after" -gt "$before"
	ktap_check "CPU$c: and ends as natively ($out), the CPU still under rvmm" \
		test "$out" = "$native" -a "$(under_rvmm "$c" && echo y)" = y
done
ktap_check "rmmod succeeds" rmmod rvmm
ktap_check_clean_log
ktap_finished
