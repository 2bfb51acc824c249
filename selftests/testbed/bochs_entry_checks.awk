# SPDX-License-Identifier: GPL-2.0
# Reads a guest's serial console, then Bochs's log of the same boot, and prints KTAP subtests: for each
# "bochs-expect K: CHECK" line that selftests/rvmm/vmcs_checks.sh printed, in order, the failed VM
# entry Bochs logged in the same place of its own sequence must name CHECK; and Bochs must have logged
# no other failed entry (the check_vmcs=1 pass makes none).
# A failed VMLAUNCH must leave VMX on that CPU, whatever the corrupted VMCS says of the CPL: a
# retry would be a VMRESUME of a VMCS that never launched.
FNR == NR {
	sub(/\r$/, "")
	if (match($0, /^# # bochs-expect [0-9]+: /)) {
		n++
		want[n] = substr($0, RSTART + RLENGTH)
		split(substr($0, RSTART + 17), id, ":")
		k[n] = id[1]
	}
	next
}
# bochs/cpu/vmx.cc's VMenterLoadCheck* messages; not the VMREAD/VMWRITE/VMLAUNCH instruction errors.
# busybox insmod tries finit_module, then init_module: each load runs twice, so each corruption fails
# two entries in a row with the same message, counted once.
/VMFAIL: VMRESUME with non-launched VMCS/ { sub(/\r$/, ""); resumed = substr($0, index($0, "] ") + 2) }
/(VMENTER FAIL|VMFAIL): / && !/VMFAIL: VM(READ|WRITE|LAUNCH|RESUME|PTRLD|CLEAR|XON|XOFF) / {
	sub(/\r$/, "")
	message = substr($0, index($0, "] ") + 2)
	if (message != got[m])
		got[++m] = message
}
END {
	for (i = 1; i <= n; i++) {
		if (index(got[i], want[i]) == 1)
			printf "# ok %d corruption %s: Bochs logged \"%s\"\n", i, k[i], got[i]
		else
			printf "# not ok %d corruption %s: Bochs logged \"%s\", expected \"%s\"\n", i, k[i], got[i], want[i]
	}
	if (m == n && n > 0)
		printf "# ok %d Bochs logged %d failed VM entries, one per corruption\n", n + 1, m
	else
		printf "# not ok %d Bochs logged %d failed VM entries for %d corruptions\n", n + 1, m, n
	if (resumed == "")
		printf "# ok %d no failed VMLAUNCH was retried with VMRESUME\n", n + 2
	else
		printf "# not ok %d a failed VMLAUNCH was retried: Bochs logged \"%s\"\n", n + 2, resumed
	printf "# 1..%d\n", n + 2
}
