#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build rvmm.ko (and check its style) against the cached test kernel, from a copy of the checkout so the
# work tree stays clean.

source "$(dirname "${BASH_SOURCE[0]}")/kernel.sh"

# make_quietly STEP HINT ARGS...: `make ARGS` in the sysroot as step STEP; any warning or error fails it.
make_quietly() {
	local name=$1 hint=$2
	shift 2
	step --hint "$hint" "$name" in_sysroot bash -o pipefail -c "make $* 2>&1 |
		tee /dev/stderr | { ! grep -iE 'warning|error'; }"
}

# module_paths: where ensure_module put rvmm.ko and the test helpers for KERNEL_FLAVOR's kernel.
module_paths() {
	ensure_kernel
	MODULE_WORK=$RVMM_WORK/$(kernel_step module)
	MODULE_KO=$MODULE_WORK/rvmm.ko
	SAMPLE_KO=$MODULE_WORK/samples/rvmm_ping.ko
	BENCH_KO=$MODULE_WORK/bench/rvmm_bench.ko
	NMI_TEST_KO=$MODULE_WORK/selftests-module/rvmm_nmi_test.ko
	CRASH_TEST_KO=$MODULE_WORK/selftests-module/rvmm_crash_test.ko
	STEP_TEST_KO=$MODULE_WORK/selftests-module/rvmm_step_test.ko
	PROBE_BIN=$MODULE_WORK/rvmm_probe
	STAT_BIN=$MODULE_WORK/rvmm_stat
}

ensure_module() {
	module_paths
	rm -rf "$MODULE_WORK"
	mkdir -p "$MODULE_WORK"
	cp -r "$RVMM_SRC/Makefile" "$RVMM_SRC/Kbuild" "$RVMM_SRC/rust" "$RVMM_SRC/asm" "$MODULE_WORK/"
	# Through the top-level Makefile, as a user would. CLIPPY=1 runs clippy with the kernel's lint set
	# while compiling; any warning fails the build.
	make_quietly "$(kernel_step module-build)" "compiler, clippy or objtool warnings count as errors" \
		-C "$(in_cache "$MODULE_WORK")" KDIR="$KDIR" CLIPPY=1
	check_mitigation_sites
	cp -r "$RVMM_SRC/samples" "$MODULE_WORK/"
	make_quietly "$(kernel_step samples-build)" "the samples build like any out-of-tree C module" \
		-C "$KDIR" M="$(in_cache "$MODULE_WORK")/samples" modules
	cp -r "$RVMM_SRC/bench" "$MODULE_WORK/"
	make_quietly "$(kernel_step bench-build)" "bench/rvmm_bench.c builds like the samples" \
		-C "$KDIR" M="$(in_cache "$MODULE_WORK")/bench" modules
	step "$(kernel_step workload-build)" in_sysroot gcc -static -O2 -Wall -Werror \
		-o "$(in_cache "$MODULE_WORK")/bench/workload" /rvmm/bench/workload.c
	step "$(kernel_step kvm-bench-build)" in_sysroot gcc -static -O2 -Wall -Werror \
		-o "$(in_cache "$MODULE_WORK")/bench/kvm_bench" /rvmm/bench/kvm_bench.c
	cp -r "$RVMM_SRC/selftests/rvmm/module" "$MODULE_WORK/selftests-module"
	make_quietly "$(kernel_step selftests-module-build)" "the selftests' helper module builds like the samples" \
		-C "$KDIR" M="$(in_cache "$MODULE_WORK")/selftests-module" modules
	step "$(kernel_step selftests-build)" in_sysroot gcc -static -O2 -Wall -Werror -o "$(in_cache "$MODULE_WORK")/rvmm_probe" \
		/rvmm/selftests/rvmm/rvmm_probe.c
	step "$(kernel_step rvmm-stat-build)" in_sysroot gcc -static -O2 -Wall -Werror -o "$(in_cache "$STAT_BIN")" \
		/rvmm/tools/rvmm_stat.c
}

# check_mitigation_sites: rvmm.ko's exit stubs carry an alternative for each mitigation of the kernel's
# own entry code that asm/vmx.S copies, where the kernel is built with it: a missing site would give a
# CPL 3 exit less than a system call gets, unseen where Bochs cannot show a mitigation's effect. Counts
# the .altinstructions records (struct alt_instr: 14 bytes, the feature in bytes 8-9) per feature.
check_mitigation_sites() {
	local config=$KDIR_HOST/.config features=$KDIR_HOST/arch/x86/include/asm/cpufeatures.h
	local alt=$MODULE_WORK/altinstructions.bin option name number sites missing=
	in_sysroot objcopy -O binary --only-section=.altinstructions "$(in_cache "$MODULE_KO")" "$(in_cache "$alt")"
	for option in MITIGATION_IBPB_ENTRY:ENTRY_IBPB MITIGATION_IBRS_ENTRY:KERNEL_IBRS \
		MITIGATION_SPECTRE_BHI:CLEAR_BHB_LOOP MITIGATION_RETPOLINE:RSB_VMEXIT CPU_MITIGATIONS:CLEAR_CPU_BUF; do
		name=${option#*:}
		grep -qx "CONFIG_${option%%:*}=y" "$config" || continue
		number=$(sed -n "s/^#define X86_FEATURE_$name[[:space:]]*( *\([0-9]*\)\*32 *+ *\([0-9]*\)).*/\1 \2/p" "$features" |
			awk '{ print $1 * 32 + $2 }')
		[ -n "$number" ] || die "X86_FEATURE_$name is not in $features"
		sites=$(od -An -v -tu1 "$alt" | tr -s ' ' '\n' | grep . |
			awk -v f="$number" '{ b[NR % 14] = $1 } NR % 14 == 10 && b[9] + 256 * b[10] == f { n++ } END { print n + 0 }')
		log "exit stubs: $sites alternative(s) for X86_FEATURE_$name"
		[ "$sites" -ge 2 ] || missing+=" $name"
	done
	[ -z "$missing" ] || die "rvmm.ko lacks the exit stubs' alternatives for:$missing (asm/vmx.S)"
}

# rustfmt_sources [--check]: rustfmt over rust/ with the kernel's own configuration.
rustfmt_sources() {
	ensure_kernel
	in_sysroot bash -c "find /rvmm/rust -name '*.rs' -print0 |
		xargs -0 rustfmt $* --edition 2021 --config-path $KDIR/.rustfmt.toml"
}

check_format() {
	step --hint "run: selftests/testbed/run fmt" rustfmt rustfmt_sources --check
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then ensure_module; fi
