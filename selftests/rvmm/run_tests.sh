#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs every test of this directory whose "# requires:" line names SUITE (vmx: the CPU has VMX;
# novmx: it has none; x86: the kernel's x86 selftests, whose SUITE may name a part, x86-1 to x86-3;
# vmx-core: the vmx tests that also say "# core: yes", run on every CPU model and kernel), as the
# kselftest runner does: one KTAP line per test, its output as comments.
suite=${1%%-*}
dir=$(dirname "$0")
# rvmm_tests=a.sh,b.sh on the kernel command line (the test bed's RVMM_TESTS) runs only those.
only=$(sed -n 's/.*rvmm_tests=\([^ ]*\).*/\1/p' /proc/cmdline 2>/dev/null | tr , ' ')
tests=
for t in "$dir"/*.sh; do
	[ -z "$only" ] || case " $only " in *" $(basename "$t") "*) ;; *) continue ;; esac
	[ "$1" != vmx-core ] || grep -qx "# core: yes" "$t" || continue
	grep -qx "# requires: $suite" "$t" && tests="$tests $t"
done
set -- $tests
echo "TAP version 13"
echo "1..$#"
# What the kernel protects itself with here (PTI, IBT, Spectre v2): what the exit path must match.
dmesg | grep -E 'page tables isolation|Indirect Branch Tracking|Spectre V2 : Mitigation|MDS:' |
	sed 's/^\[[ 0-9.]*\] /# kernel: /'
i=0
for t in "$@"; do
	i=$((i + 1))
	name=$(basename "$t")
	echo "# selftests: rvmm: $name"
	start=$(cut -d' ' -f1 /proc/uptime)
	{
		sh "$t" 2>&1
		echo $? >/tmp/rc
	} | sed 's/^/# /'
	# Guest seconds follow the emulated instruction count: a test's share of the boot's time.
	echo "# $name took $(awk -v s="$start" '{ printf "%.2f", $1 - s }' /proc/uptime) s of guest time"
	case $(cat /tmp/rc) in
	0) echo "ok $i selftests: rvmm: $name" ;;
	4) echo "ok $i selftests: rvmm: $name # SKIP" ;;
	*) echo "not ok $i selftests: rvmm: $name # exit=$(cat /tmp/rc)" ;;
	esac
done
