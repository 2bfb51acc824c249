#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# VMCALL and VMREAD in user mode raise SIGILL under rvmm, on every CPU, as they do natively.
. "$(dirname "$0")/lib.sh"
rvmm_setup
ktap_print_header
cpus=$(online_cpus)
ktap_set_plan $(($(echo $cpus | wc -w) * 2 + 2))

ktap_check "natively, VMCALL in user mode raises SIGILL" test "$($PROBE 0 vmcall)" = SIGILL
ktap_check "natively, VMREAD in user mode raises SIGILL" test "$($PROBE 0 vmread)" = SIGILL
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod failed"
for c in $cpus; do
	ktap_check "CPU$c: VMCALL in user mode raises SIGILL" test "$($PROBE "$c" vmcall)" = SIGILL
	ktap_check "CPU$c: VMREAD in user mode raises SIGILL" test "$($PROBE "$c" vmread)" = SIGILL
done
rmmod rvmm
ktap_finished
