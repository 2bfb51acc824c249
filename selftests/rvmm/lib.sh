# SPDX-License-Identifier: GPL-2.0
# Shared by the rvmm selftests: KTAP output and loading the module under test.

. "${KSELFTEST_DIR:-$(dirname "$0")/../kselftest}/ktap_helpers.sh"

RVMM_KO=${RVMM_KO:-/rvmm/rvmm.ko}
EXITS=/sys/kernel/debug/rvmm/exits

rvmm_loaded() { grep -q '^rvmm ' /proc/modules; }

# Kernel log lines that mean something went wrong in the kernel, whoever caused it.
dmesg_problems() { dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|RIP:' || true; }

# ktap_check_clean_log: one test point, no warning or oops in the kernel log (printed if there is).
ktap_check_clean_log() {
	problems=$(dmesg_problems)
	[ -n "$problems" ] && ktap_print_msg "$problems"
	ktap_check "no warning or oops in the kernel log" test -z "$problems"
}

# ktap_check DESCRIPTION COMMAND...: one test point from a command's exit status.
ktap_check() {
	desc=$1
	shift
	if "$@"; then ktap_test_pass "$desc"; else ktap_test_fail "$desc"; fi
}

# skip_test REASON: the whole test does not apply here (ktap_skip_all only prints).
skip_test() {
	ktap_skip_all "$@"
	exit "$KSFT_SKIP"
}

# contains TEXT PATTERN: TEXT has a line matching the extended regex PATTERN.
contains() { printf '%s\n' "$1" | grep -qE -- "$2"; }

# write_once FILE DATA: one write(2) of DATA to FILE; prints the error text, if any.
write_once() { printf '%s' "$2" | dd of="$1" bs=65536 2>&1 >/dev/null | grep -v records; }

# einval_writes FILE DATA...: one write(2) of each DATA to FILE; prints how many failed with EINVAL,
# and says on stderr what each other one gave.
einval_writes() {
	file=$1 rejected=0
	shift
	for data in "$@"; do
		out=$(write_once "$file" "$data")
		if contains "$out" 'Invalid argument'; then
			rejected=$((rejected + 1))
		else
			ktap_print_msg "writing '$(printf '%.16s' "$data")' gave: '$out', not EINVAL" >&2
		fi
	done
	echo "$rejected"
}

# ktap_check_switch_refuses_garbage FILE: two test points, that garbage, blank and huge writes to an
# on/off/0 file fail with EINVAL, and that they change nothing FILE shows.
ktap_check_switch_refuses_garbage() {
	before=$(cat "$1")
	huge=$(head -c 4096 /dev/zero | tr "\0" 9)
	rejected=$(einval_writes "$1" 1 ON onn " on" off2 reset "on off" "
" "$huge")
	ktap_check "garbage, blank and huge writes fail with EINVAL" test "$rejected" -eq 9
	ktap_check "and change nothing" test "$(cat "$1")" = "$before"
}

# Start from a known state: not loaded, empty kernel log.
rvmm_setup() {
	rvmm_loaded && rmmod rvmm
	dmesg -c >/dev/null
}

PROBE=${PROBE:-/selftests/rvmm/rvmm_probe}

# under_rvmm CPU: that CPU answers the hypervisor leaf with rvmm's signature.
under_rvmm() { contains "$($PROBE "$1" cpuid 0x40000000)" ' rvmmrvmmrvmm$'; }

# no_cpu_under_rvmm: no online CPU answers the hypervisor leaf with rvmm's signature.
no_cpu_under_rvmm() {
	for _online in $(online_cpus); do
		under_rvmm "$_online" && return 1
	done
	return 0
}

# ktap_check_load_rolls_back CPU LOGGED DESCRIPTION PARAMS...: one test point, that insmod with PARAMS
# fails with EIO, leaves no CPU under rvmm, and logs "CPU<CPU>: LOGGED" and the rollback.
ktap_check_load_rolls_back() {
	cpu=$1 logged=$2 desc=$3
	shift 3
	dmesg -c >/dev/null
	ok=1
	out=$(insmod "$RVMM_KO" "$@" 2>&1) && { ok=0; rmmod rvmm; }
	contains "$out" 'Input/output error' || { ok=0; ktap_print_msg "insmod $*: $out"; }
	no_cpu_under_rvmm || { ok=0; ktap_print_msg "a CPU is still under rvmm after insmod $*"; }
	log=$(dmesg | grep 'rvmm:')
	contains "$log" "CPU$cpu: $logged" || { ok=0; ktap_print_msg "log: $log"; }
	contains "$log" 'rolled back' || { ok=0; ktap_print_msg "log: $log"; }
	ktap_check "$desc: EIO, logged, every CPU rolled back" test "$ok" = 1
}

# The online CPUs, one per line.
online_cpus() {
	awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-"); for (c = r[1]; c <= r[n]; c++) print c } }' \
		/sys/devices/system/cpu/online
}

# exits_count REASON CPU: that CPU's counter for REASON in the exits file.
exits_count() {
	awk -v reason="$1" -v col="cpu$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		$1 == reason { print $c }' "$EXITS"
}

# Leak checks with kmemleak, which the 1-CPU VMX guest boots with (kmemleak=on). rvmm's pages (VMXON
# regions, VMCSs, MSR bitmap, host page table) belong to slab objects (Vcpu, Shared), so a leaked
# owner shows; kmemleak does not track pages on their own.
KMEMLEAK=/sys/kernel/debug/kmemleak

# leak_check_start: from now on, count only new leak suspects (LEAK_CHECK=1). Where this boot has
# no kmemleak, says so; LEAK_CHECK_BROKEN says why if the boot asked for it.
leak_check_start() {
	LEAK_CHECK=0 LEAK_CHECK_BROKEN=
	if [ -w "$KMEMLEAK" ] && echo scan 2>/dev/null >"$KMEMLEAK"; then
		# Suspects found so far are the kernel's, from before the test: leak_suspects skips them.
		echo clear >"$KMEMLEAK"
		LEAK_CHECK=1
		return
	fi
	if contains "$(cat /proc/cmdline)" '(^| )kmemleak=on( |$)'; then
		LEAK_CHECK_BROKEN="booted with kmemleak=on, but $KMEMLEAK cannot scan"
	fi
	ktap_print_msg "no leak check: ${LEAK_CHECK_BROKEN:-this kernel runs without kmemleak (boot with kmemleak=on)}"
}

# leak_suspects: the objects allocated since leak_check_start that nothing references any more.
# kmemleak reports an object at least 5 s old, and only once its contents were the same in two scans.
leak_suspects() {
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	cat "$KMEMLEAK"
}

# ktap_check_leaks DESCRIPTION: one test point, no leak suspect since leak_check_start; a skip where
# there is no kmemleak, a failure where there should be.
ktap_check_leaks() {
	if [ "$LEAK_CHECK" = 1 ]; then
		suspects=$(leak_suspects)
		[ -z "$suspects" ] || ktap_print_msg "kmemleak: $(printf '%s\n' "$suspects" | head -n 40)"
		ktap_check "$1 (kmemleak)" test -z "$suspects"
	elif [ -n "$LEAK_CHECK_BROKEN" ]; then
		ktap_test_fail "$1 (kmemleak): $LEAK_CHECK_BROKEN"
	else
		ktap_test_skip "$1 (kmemleak)"
	fi
}

# leak_check_done: switch kmemleak off for the rest of this boot (it cannot be switched on again), so
# that later tests run without its cost: a stack trace for every allocation.
leak_check_done() {
	if [ "$LEAK_CHECK" = 1 ]; then echo off >"$KMEMLEAK"; fi
}

# key_value TEXT KEY: the value after KEY on TEXT's line "KEY VALUE" (the NMI test module's stats).
key_value() { printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# exits_total: the sum of every counter in the exits file.
exits_total() { awk 'NR > 1 { sum += $NF } END { print sum + 0 }' "$EXITS"; }
