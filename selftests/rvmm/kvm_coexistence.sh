#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# requires: vmx
# rvmm and the kernel's own KVM (kvm_intel) share VMX cleanly, in either load order: whichever comes
# second refuses to load with a clear error, and nothing warns or oopses.
. "$(dirname "$0")/lib.sh"
KVM_DIR=/rvmm/kvm
rvmm_setup
ktap_print_header
[ -f "$KVM_DIR/kvm-intel.ko" ] || skip_test "the test kernel has no kvm-intel.ko"
ktap_set_plan 8

kvm_load() { insmod "$KVM_DIR/irqbypass.ko" && insmod "$KVM_DIR/kvm.ko" && insmod "$KVM_DIR/kvm-intel.ko"; }
kvm_unload() {
	for m in kvm_intel kvm irqbypass; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
}

# KVM first: it holds VMX on every CPU from load (kvm.enable_virt_at_load), so rvmm must refuse.
if ! out=$(kvm_load 2>&1); then
	kvm_unload
	ktap_print_msg "kvm_intel does not load natively here: $out"
	skip_test "kvm_intel does not load on this CPU without rvmm"
fi
ktap_check "kvm_intel loads natively" true
out=$(insmod "$RVMM_KO" 2>&1)
rc=$?
ktap_print_msg "insmod rvmm with kvm_intel loaded: $out"
ktap_check "rvmm refuses to load while kvm_intel holds VMX" test "$rc" -ne 0
ktap_check "... with EBUSY" contains "$out" 'Device or resource busy'
ktap_check "... and a message that names kvm_intel" contains "$(dmesg | grep 'rvmm:')" 'kvm_intel'
kvm_unload

# rvmm first: kvm_intel sees no VMX in CPUID and must fail to load, without a warning.
dmesg -c >/dev/null
insmod "$RVMM_KO" || ktap_exit_fail_msg "insmod rvmm failed after kvm_intel was unloaded"
out=$(kvm_load 2>&1)
rc=$?
ktap_print_msg "insmod kvm_intel with rvmm loaded: $out"
ktap_print_msg "kernel log: $(dmesg | grep -i -E 'kvm|vmx' | tr '\n' ' ')"
ktap_check "kvm_intel refuses to load while rvmm is loaded" test "$rc" -ne 0
kvm_unload
ktap_check "rvmm still answers on CPU0" contains "$($PROBE 0 cpuid 0x40000000)" 'rvmmrvmmrvmm'
rmmod rvmm
ktap_check_clean_log
# And KVM is usable again once rvmm is gone.
ktap_check "kvm_intel loads after rmmod rvmm" kvm_load
kvm_unload
ktap_finished
