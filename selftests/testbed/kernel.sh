#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once, cached by source version and config fragment) the Rust-enabled test kernel inside the sysroot.

source "$(dirname "${BASH_SOURCE[0]}")/sysroot.sh"

# Bump when the build commands below change (not for comments or messages): it is part of the key.
KERNEL_RECIPE=1

# The kernel source version, the config fragment, and the toolchain: a module's Rust code must be
# built by the rustc that built the kernel.
kernel_key() {
	key_of "$(in_sysroot sh -c "dpkg-query -W -f '\${Version}' linux-source-7.2;
		rustc --version; bindgen --version; gcc --version | head -n 1")" \
		"$RVMM_SRC/selftests/kernel.config" "recipe $KERNEL_RECIPE"
}

ensure_kernel() {
	ensure_sysroot
	KERNEL_NAME=linux-$(kernel_key)
	KDIR_HOST=$RVMM_CACHE/$KERNEL_NAME
	# The same tree as seen from inside the sysroot, where every build runs.
	KDIR=/cache/$KERNEL_NAME
	if [ -f "$KDIR_HOST/.complete" ]; then
		log "kernel: cached at $KDIR_HOST"
		return
	fi
	if [ ! -f "$KDIR_HOST/.extracted" ]; then
		rm -rf "$KDIR_HOST"
		mkdir -p "$KDIR_HOST"
		step kernel-extract tar -C "$KDIR_HOST" --strip-components=1 -xf "$SYSROOT/usr/src/linux-source-7.2.tar.xz"
		touch "$KDIR_HOST/.extracted"
	fi
	step --hint "'make rustavailable' explains a toolchain mismatch; CONFIG_RUST must survive olddefconfig" \
		kernel-config in_sysroot bash -c "cd $KDIR && make tinyconfig &&
		scripts/kconfig/merge_config.sh -m .config /rvmm/selftests/kernel.config && make olddefconfig &&
		make rustavailable && scripts/config -s RUST | grep -qx y"
	log "kernel: building bzImage and modules with $(nproc) jobs (about 10 minutes on 2 cores)"
	step --hint "the first error in the log is the cause; delete $KDIR_HOST to start over" \
		kernel-build in_sysroot bash -c "cd $KDIR && make -j$(nproc) bzImage modules"
	touch "$KDIR_HOST/.complete"
}

# The kernel's own x86 selftests (tools/testing/selftests/x86), static, 64- and 32-bit: built once per
# kernel tree into $X86_SELFTESTS.
ensure_x86_selftests() {
	ensure_kernel
	X86_SELFTESTS=$KDIR_HOST/rvmm-x86-selftests
	if [ -f "$X86_SELFTESTS/.complete" ]; then
		log "x86 selftests: cached at $X86_SELFTESTS"
		return
	fi
	rm -rf "$X86_SELFTESTS"
	step --hint "the 32-bit half needs gcc-multilib in the sysroot" x86-selftests-build \
		in_sysroot bash -c "cd $KDIR && make headers && mkdir -p rvmm-x86-selftests &&
		make -C tools/testing/selftests/x86 CC='gcc -static' OUTPUT=$KDIR/rvmm-x86-selftests"
	find "$X86_SELFTESTS" -name '*.o' -delete
	in_sysroot sh -c "strip $KDIR/rvmm-x86-selftests/*"
	touch "$X86_SELFTESTS/.complete"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then ensure_kernel; fi
