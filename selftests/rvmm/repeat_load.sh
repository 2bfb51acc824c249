#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# core: yes
# 20 insmod/rmmod cycles in a row all succeed and leave nothing behind.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
ktap_set_plan 3

cycles=20
ok=0
i=0
while [ $i -lt $cycles ]; do
	i=$((i + 1))
	insmod "$RVMM_KO" && rmmod rvmm && ok=$((ok + 1))
done
ktap_check "$cycles of $cycles load/unload cycles succeed" test "$ok" -eq "$cycles"
ktap_check "module is not left loaded" sh -c "! grep -q '^rvmm ' /proc/modules"
ktap_check_clean_log
ktap_finished
