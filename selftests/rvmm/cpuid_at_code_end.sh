#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# An unprivileged CPUID that ends where the code's reach ends: at 4 GiB in compatibility mode (EIP
# wraps to 0) and at 64 KiB in a 16-bit code segment (the next fetch is beyond CS.limit). Under rvmm
# the process gets the same signal for the same address as natively, at the IP the SDM defines,
# CPUID answers as rvmm, and the CPU stays under rvmm: a RIP that VM entry refuses would take rvmm
# off the CPU.
#
# The IP is checked against the SDM rather than the native run: Bochs itself does not wrap EIP at
# 4 GiB in compatibility mode (natively it reports the page fault at address 0 with IP 0x100000000),
# where Intel CPUs since the Pentium 4 continue at 0 (SDM Vol. 3A, chapter 22, "Segment
# Wraparound"). At 64 KiB, nothing wraps: IP 0x10000 is beyond the limit, natively and under rvmm.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 6 + 4))

# The IP after CPUID at each end, per the SDM.
sdm_ip_4gib=0
sdm_ip_64kib=0x10000
signal_of() { echo "$1" | head -n 1 | sed 's/ ip=[^ ]*//'; }
ip_of() { echo "$1" | head -n 1 | sed -n 's/.* ip=\([^ ]*\).*/\1/p'; }

for end in 4gib 64kib; do
	native=$($PROBE -u 0 cpuid-at-$end)
	signal=$(signal_of "$native")
	eval native_$end=\$signal
	ktap_print_msg "natively, CPUID at the $end end: $(echo "$native" | head -n 1)"
	ktap_check "natively, CPUID at the $end end raises a signal" contains "$native" ' code=.* ip='
done
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	for end in 4gib 64kib; do
		out=$($PROBE -u "$c" cpuid-at-$end 2>&1)
		eval native=\$native_$end
		ktap_print_msg "CPU$c, CPUID at the $end end: $(echo $out)"
		eval sdm_ip=\$sdm_ip_$end
		ktap_check "CPU$c: CPUID at the $end end raises the native signal at IP $sdm_ip" \
			test "$(signal_of "$out")" = "$native" -a "$(ip_of "$out")" = "$sdm_ip"
		ktap_check "CPU$c: that CPUID was answered by rvmm" contains "$out" ' rvmmrvmmrvmm$'
		ktap_check "CPU$c: still under rvmm after CPUID at the $end end" \
			under_rvmm "$c"
	done
done
ktap_check "rmmod succeeds" rmmod rvmm
ktap_check_clean_log
ktap_finished
