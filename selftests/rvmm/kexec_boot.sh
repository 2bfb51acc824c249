#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The first kernel of the kexec suite (not a test of its own): load rvmm, then kexec into the same
# kernel with rvmm still loaded. rvmm's syscore shutdown callback must take every CPU out of VMX
# first; otherwise the next kernel would start inside a guest whose hypervisor is gone. The next
# kernel runs the tests that require "kexecd". If kexec returns, this reports the failure itself.
. "$(dirname "$0")/lib.sh"
fail() {
	printf 'TAP version 13\n1..1\n# %s\nnot ok 1 selftests: rvmm: kexec_boot.sh\n' "$1"
	exit 1
}
rvmm_setup
insmod "$RVMM_KO" || fail "insmod failed"
for cpu in $(online_cpus); do
	contains "$($PROBE "$cpu" cpuid 0x40000000)" rvmmrvmmrvmm || fail "CPU$cpu is not under rvmm"
done
# The running initramfs, packed again for the next kernel: rootfs only, not /tmp.
(cd / && find . -xdev ! -path './tmp/*' | cpio -o -H newc >/tmp/initrd 2>/dev/null) ||
	fail "cannot pack the initramfs"
cmdline=$(sed 's/BOOT_IMAGE=[^ ]* //; s/initrd=[^ ]* //; s/rvmm_suite=[a-z0-9-]*/rvmm_suite=kexecd/' /proc/cmdline)
echo "rvmm-kexec: kexec with rvmm loaded on every CPU, next command line: $cmdline"
fail "kexec returned: $($PROBE 0 kexec /rvmm/bzImage /tmp/initrd "$cmdline" 2>&1)"
