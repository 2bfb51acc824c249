#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# NMIs that arrive while a CPU is in VMX root mode handling an exit are handled by the kernel, none
# lost, and cannot read user memory there (rvmm's page table has no user half): rvmm does not exit on NMIs, and its host IDT is the kernel's, so an NMI in root mode runs the
# kernel's handler there, and one in the guest runs it there. CPU1 hammers CPUID (most of its time is
# then spent in rvmm's handler) while CPU0 sends it NMIs one by one, in batches, until the loop ends
# (so however fast the guest's clock runs, the NMIs and the loop overlap).
#
# Over several loads, each with a new host page table: under page-table isolation the kernel's NMI
# entry clears CR3 bit 12 ("user page table"), so a host page table at an address with that bit set
# would crash the machine at the first NMI in root mode, on whichever load the allocator returns one.
. "$(dirname "$0")/lib.sh"
NMI_TEST=/sys/kernel/debug/rvmm_nmi_test
LOADS=${NMI_LOADS:-8}
BATCH=${NMI_BATCH:-25}
rvmm_setup
ktap_print_header
[ "$(online_cpus | wc -l)" -ge 2 ] || skip_test "needs two CPUs"
ktap_set_plan 7
contains "$(dmesg)" 'page tables isolation: enabled' && ktap_print_msg "page-table isolation is on"

insmod /rvmm/rvmm_nmi_test.ko || ktap_exit_fail_msg "cannot load the NMI test module"
all_ran=true all_counted=true all_unloaded=true
for load in $(seq "$LOADS"); do
	insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod $load failed"
	cpuid_before=$(exits_count CPUID 1)
	rm -f /tmp/hammer.rc
	($PROBE 1 cpuid-loop 25000 0; echo $? >/tmp/hammer.rc) &
	batches=0
	while [ ! -e /tmp/hammer.rc ] || [ $batches = 0 ]; do
		echo "1 $BATCH" >"$NMI_TEST/send"
		batches=$((batches + 1))
	done
	wait
	[ "$(cat /tmp/hammer.rc)" = 0 ] || all_ran=false
	[ "$(exits_count CPUID 1)" -ge $((cpuid_before + 25000)) ] || all_counted=false
	rmmod rvmm || all_unloaded=false
done
stats=$(cat "$NMI_TEST/stats")
ktap_print_msg "$LOADS loads: $(echo $stats)"
value() { key_value "$stats" "$1"; }
ktap_check "every NMI sent to CPU1 was handled, $BATCH or more per load" \
	test "$(value handled)" = "$(value sent)" -a "$(value sent)" -ge $((LOADS * BATCH))
ktap_check "some found CPU1 in rvmm's exit handler (VMX root mode)" test "$(value in_rvmm)" -gt 0
# Decided (Documentation/rvmm.rst, "Limits"): root mode keeps its own page table, whose user half is
# empty, so an NMI there that reads user memory, as perf's user call chains do, gets a fault, never
# another process's memory.
ktap_check "NMIs in root mode read no user memory ($(value user_reads_in_rvmm) reads worked)" \
	test "$(value user_reads_in_rvmm)" = 0
ktap_check "NMIs elsewhere read the CPUID loop's code ($(value user_reads_elsewhere) reads)" \
	test "$(value user_reads_elsewhere)" -gt 0
ktap_check "every CPUID loop completed and every CPUID was counted" sh -c "$all_ran && $all_counted"
ktap_check "rmmod succeeds after the NMIs, every time" $all_unloaded
rmmod rvmm_nmi_test
ktap_check_clean_log
ktap_finished
