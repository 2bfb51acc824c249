# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the rvmm test bed: logging with timings, caching, and running commands in the sysroot.

set -euo pipefail

TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RVMM_SRC=$(cd "$TESTBED_DIR/../.." && pwd)
# Costly artefacts live outside the checkout so that a fresh clone reuses them.
RVMM_CACHE=${RVMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvmm}
mkdir -p "$RVMM_CACHE"

# Scratch space of this checkout (module build, initramfs, guests' consoles, step logs): separate per
# checkout so that two clones can test at once.
RVMM_WORK=$RVMM_CACHE/work/$(printf '%s' "$RVMM_SRC" | sha256sum | cut -c1-12)
mkdir -p "$RVMM_WORK"

# in_cache PATH: PATH under $RVMM_CACHE as seen from inside the sysroot.
in_cache() { printf '/cache/%s' "${1#"$RVMM_CACHE"/}"; }

_t0=$(date +%s)

log() { printf '[testbed %4ss] %s\n' "$(($(date +%s) - _t0))" "$*" >&2; }
die() {
	printf '[testbed] ERROR: %s\n' "$*" >&2
	exit 1
}

# step [--hint TEXT] NAME CMD...: run one long step, report its duration, and show the tail of its log
# and TEXT (what is the likely cause) on failure.
step() {
	local hint=
	if [ "$1" = --hint ]; then
		hint=$2
		shift 2
	fi
	local name=$1 logfile="$RVMM_WORK/logs/$1.log" start rc
	shift
	mkdir -p "$RVMM_WORK/logs"
	start=$(date +%s)
	log "$name: started (log: $logfile)"
	set +e
	"$@" >"$logfile" 2>&1
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		tail -n 40 "$logfile" >&2
		[ -z "$hint" ] || log "hint: $hint"
		die "$name failed (exit $rc) after $(($(date +%s) - start)) s; full log: $logfile"
	fi
	log "$name: done in $(($(date +%s) - start)) s"
	printf '%s %s %s\n' "$name" "$(($(date +%s) - start))" "$start" >>"$RVMM_WORK/logs/timings"
}

# key_of FILES/STRINGS...: a short stable hash of the given words and the content of those that are files.
key_of() {
	local w
	for w in "$@"; do
		if [ -f "$w" ]; then sha256sum <"$w"; else printf '%s\n' "$w"; fi
	done | sha256sum | cut -c1-16
}

SYSROOT_SUITE=trixie
SYSROOT_PACKAGES="build-essential bc bison flex libelf-dev libssl-dev cpio kmod rustc rust-src bindgen"
SYSROOT_PACKAGES+=" libclang-dev bochs bochsbios vgabios busybox-static xz-utils linux-source-7.2 isolinux"
SYSROOT_PACKAGES+=" syslinux-common xorriso qemu-system-x86 rustfmt rust-clippy python3"
# 32-bit static libc for the kernel's x86 selftests (built -m32 and -m64).
SYSROOT_PACKAGES+=" gcc-multilib rsync"
# Bump when the way the sysroot is made changes (not for comments or messages): it is part of the key.
SYSROOT_RECIPE=1
SYSROOT="$RVMM_CACHE/sysroot-$(key_of "$SYSROOT_SUITE" "$SYSROOT_PACKAGES" "recipe $SYSROOT_RECIPE")"

# in_sysroot CMD...: run CMD inside the sysroot with /proc, /sys, /dev and the checkout mounted. The mounts
# live in a private mount namespace, so nothing is left mounted when the command ends or is killed.
# With IN_SYSROOT_EXEC=exec the calling (sub)shell becomes the command, so its PID can be signalled.
in_sysroot() {
	${IN_SYSROOT_EXEC:-} unshare --mount --propagation private /bin/bash -c '
		set -e
		root=$1; src=$2; cache=$3; shift 3
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mkdir -p "$root/rvmm" "$root/cache"
		mount --bind "$src" "$root/rvmm"
		mount --bind "$cache" "$root/cache"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
	' in_sysroot "$SYSROOT" "$RVMM_SRC" "$RVMM_CACHE" "$@"
}
