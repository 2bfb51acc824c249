#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# The VMCALL interface from kernel code (samples/rvmm_ping.c): every CPU answers PING with rvmm's
# version and an unknown function with an error; without rvmm the sample refuses to load.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 4

PING_KO=$(dirname "$RVMM_KO")/rvmm_ping.ko
out=$(insmod "$PING_KO" 2>&1)
ktap_print_msg "without rvmm: $out"
ktap_check "without rvmm the sample refuses with ENODEV" contains "$out" 'No such device'
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod rvmm failed"
dmesg -c >/dev/null
ktap_check "with rvmm every CPU answers PING and rejects an unknown function" insmod "$PING_KO"
ktap_check "the sample reports the version" \
	contains "$(dmesg)" "rvmm_ping: rvmm answered PING with version 0x72766d6d0001 on all $(online_cpus | wc -l) online CPUs"
rmmod rvmm_ping
rmmod rvmm
ktap_check "rvmm unloads after the hypercalls" sh -c "! grep -q '^rvmm ' /proc/modules"
ktap_finished
