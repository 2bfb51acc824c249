# SPDX-License-Identifier: GPL-2.0
# Shared by the rvmm selftests: KTAP output and loading the module under test.

. "${KSELFTEST_DIR:-$(dirname "$0")/../kselftest}/ktap_helpers.sh"

RVMM_KO=${RVMM_KO:-/rvmm/rvmm.ko}
EXITS=/sys/kernel/debug/rvmm/exits

rvmm_loaded() { grep -q '^rvmm ' /proc/modules; }

# Kernel log lines that mean something went wrong in the kernel, whoever caused it.
dmesg_problems() { dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|RIP:' || true; }

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

# Start from a known state: not loaded, empty kernel log.
rvmm_setup() {
	rvmm_loaded && rmmod rvmm
	dmesg -c >/dev/null
}

PROBE=${PROBE:-/selftests/rvmm/rvmm_probe}

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

# exits_total: the sum of every counter in the exits file.
exits_total() { awk 'NR > 1 { sum += $NF } END { print sum + 0 }' "$EXITS"; }
