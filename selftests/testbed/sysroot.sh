#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Create (once, cached) a Debian trixie sysroot holding the toolchain for a Rust-enabled Linux 7.2, Bochs,
# QEMU and the kernel source. The host's own packages are too old (see Documentation/rvmm.rst).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_sysroot() {
	if [ -f "$SYSROOT/.complete" ]; then
		log "sysroot: cached at $SYSROOT"
		return
	fi
	command -v debootstrap >/dev/null || step host-debootstrap \
		bash -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap'
	if [ ! -f "$SYSROOT.tmp/.debootstrapped" ]; then
		rm -rf "$SYSROOT.tmp"
		step --hint "is the Debian package archive reachable from this machine?" \
			debootstrap debootstrap --variant=minbase --include=ca-certificates "$SYSROOT_SUITE" \
			"$SYSROOT.tmp" http://deb.debian.org/debian
		touch "$SYSROOT.tmp/.debootstrapped"
	fi
	echo "deb http://deb.debian.org/debian $SYSROOT_SUITE-backports main" \
		>"$SYSROOT.tmp/etc/apt/sources.list.d/backports.list"
	local saved=$SYSROOT
	SYSROOT=$SYSROOT.tmp
	# shellcheck disable=SC2086
	step --hint "a package may be missing from $SYSROOT_SUITE: check the apt errors above" \
		sysroot-packages in_sysroot bash -c "apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends $SYSROOT_PACKAGES"
	SYSROOT=$saved
	mv "$SYSROOT.tmp" "$SYSROOT"
	touch "$SYSROOT/.complete"
	log "sysroot: ready at $SYSROOT"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then ensure_sysroot; fi
