#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once, cached by source version and config fragment) the Rust-enabled test kernel inside the sysroot.

source "$(dirname "${BASH_SOURCE[0]}")/sysroot.sh"

# Bump when the build commands below change (not for comments or messages): it is part of the key.
KERNEL_RECIPE=1

# Two test kernels: "default" (tinyconfig + kernel.config) and "hardened" (+ kernel-hardened.config:
# mitigations, PTI, IBT, shadow stacks). KERNEL_FLAVOR picks the one ensure_kernel provides.
KERNEL_FLAVOR=${KERNEL_FLAVOR:-default}

# The config fragments of KERNEL_FLAVOR, in merge order, as paths in the checkout.
kernel_fragments() {
	echo selftests/kernel.config
	case $KERNEL_FLAVOR in
	default) ;;
	hardened) echo selftests/kernel-hardened.config ;;
	*) die "unknown kernel flavor '$KERNEL_FLAVOR' (default, hardened)" ;;
	esac
}

# The kernel source version, the config fragments, and the toolchain: a module's Rust code must be
# built by the rustc that built the kernel.
kernel_key() {
	local fragments
	mapfile -t fragments < <(kernel_fragments | sed "s|^|$RVMM_SRC/|")
	key_of "$(in_sysroot sh -c "dpkg-query -W -f '\${Version}' linux-source-7.2;
		rustc --version; bindgen --version; gcc --version | head -n 1")" \
		"${fragments[@]}" "recipe $KERNEL_RECIPE"
}

# The name of a step for KERNEL_FLAVOR: "kernel-build", "kernel-build-hardened".
kernel_step() { if [ "$KERNEL_FLAVOR" = default ]; then echo "$1"; else echo "$1-$KERNEL_FLAVOR"; fi; }

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
		step "$(kernel_step kernel-extract)" tar -C "$KDIR_HOST" --strip-components=1 \
			-xf "$SYSROOT/usr/src/linux-source-7.2.tar.xz"
		touch "$KDIR_HOST/.extracted"
	fi
	step --hint "'make rustavailable' explains a toolchain mismatch; CONFIG_RUST must survive olddefconfig" \
		"$(kernel_step kernel-config)" in_sysroot bash -c "cd $KDIR && make tinyconfig &&
		scripts/kconfig/merge_config.sh -m .config $(kernel_fragments | sed 's|^|/rvmm/|' | tr '\n' ' ') &&
		make olddefconfig && make rustavailable && scripts/config -s RUST | grep -qx y &&
		$(missing_options_check)"
	log "kernel ($KERNEL_FLAVOR): building bzImage and modules with $(nproc) jobs" \
		"(about 10 minutes on 2 cores, 20 for the hardened one)"
	step --hint "the first error in the log is the cause; delete $KDIR_HOST to start over" \
		"$(kernel_step kernel-build)" in_sysroot bash -c "cd $KDIR && make -j$(nproc) bzImage modules"
	touch "$KDIR_HOST/.complete"
}

# A shell command that fails, naming them, if options the fragments set to y did not survive
# olddefconfig (a dependency missing): a hardened kernel without PTI or IBT would test nothing.
missing_options_check() {
	local fragment
	for fragment in $(kernel_fragments); do
		[ "$fragment" = selftests/kernel.config ] && continue
		sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$/\1/p' "$RVMM_SRC/$fragment"
	done | awk 'BEGIN { printf "missing=; " }
		{ printf "grep -qx %s=y .config || missing=\"$missing %s\"; ", $1, $1 }
		END { printf "[ -z \"$missing\" ] || { echo \"not set after olddefconfig:$missing\"; false; }" }'
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
