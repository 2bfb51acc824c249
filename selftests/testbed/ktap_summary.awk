# SPDX-License-Identifier: GPL-2.0
# Reads a guest's serial console and prints "PASS FAIL SKIP PROGRAMS_OK" for the rvmm selftests in it:
# subtest results counted one by one, and whether every planned test program reported ok.
{ sub(/\r$/, "") }
/^1\.\.[0-9]+$/ && !planned { plan = substr($0, 4) + 0; planned = 1; next }
/^ok [0-9]+ selftests: rvmm: /     { programs++; next }
/^not ok [0-9]+ selftests: rvmm: / { programs++; program_failed = 1; next }
/^# ok [0-9]+ .*# SKIP/ { skip++; next }
/^# ok [0-9]+ /         { pass++; next }
/^# not ok [0-9]+ /     { fail++; next }
/^# 1\.\.0 # SKIP/      { skip++; next }
END {
	ok = planned && plan > 0 && programs == plan && !program_failed
	printf "%d %d %d %d\n", pass, fail, skip, ok
}
