#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# rvmm loads on a CPU with VMX, publishes its debugfs file, and unloads without a trace.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 6

ktap_check "insmod succeeds" insmod "$RVMM_KO"
ktap_check "module is listed in /proc/modules" rvmm_loaded
ktap_check "debugfs file $EXITS exists" test -f "$EXITS"
ktap_check "rmmod succeeds" rmmod rvmm
ktap_check "debugfs directory is gone after rmmod" test ! -e /sys/kernel/debug/rvmm
ktap_check_clean_log
ktap_finished
