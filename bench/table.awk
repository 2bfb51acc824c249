# SPDX-License-Identifier: GPL-2.0
# The benchmark's "rvmm-bench: METRIC NATIVE RVMM" lines as a table with ratios and goals.
# -v machine="...": what the ticks are (emulated instructions under Bochs, cycles on hardware).

function ratio(native, rvmm) {
	if (native == "-" || rvmm == "-" || native == 0)
		return "-"
	return sprintf("%.3f", rvmm / native)
}

# verdict GOAL VALUE: "met" or "MISSED" for the goals the issue sets, "" where there is none.
function verdict(metric, native, rvmm) {
	if (metric ~ /^cpuid_/)
		return rvmm < 120 ? "met" : "MISSED"
	if (metric == "ticks_per_syscall")
		return rvmm <= native * 1.01 ? "met" : "MISSED"
	if (metric == "idle_exits_per_second")
		return rvmm == 0 ? "met" : "MISSED"
	return ""
}

BEGIN {
	label["cpuid_leaf0"] = "CPUID leaf 0 (ticks)"
	label["cpuid_rvmm_leaf"] = "CPUID leaf 0x40000000 (ticks)"
	label["vmcall_ping"] = "VMCALL PING from the kernel (ticks)"
	label["rdmsr_feature_control"] = "RDMSR FEATURE_CONTROL (ticks)"
	label["ticks_per_syscall"] = "getppid() syscall (ticks)"
	label["idle_exits_per_second"] = "VM exits per second, idle"
	label["insmod_us"] = "insmod, all CPUs (us, least of 5)"
	label["rmmod_us"] = "rmmod, all CPUs (us, least of 5)"
	label["kib_per_cpu"] = "memory per CPU (KiB)"
	goal["cpuid_leaf0"] = goal["cpuid_rvmm_leaf"] = "< 120"
	goal["ticks_per_syscall"] = "within 1%"
	goal["idle_exits_per_second"] = "0"
}

/^rvmm-bench: / {
	sub(/\r$/, "")
	metric = $2
	if (metric == "cpus") { cpus = $4; next }
	if (metric == "rdtsc_overhead") { overhead = $3; next }
	if (!(metric in label))
		next
	line[++n] = sprintf("%-38s %9s %9s %7s  %-10s %s", label[metric], $3, $4, ratio($3, $4),
			    goal[metric], verdict(metric, $3, $4))
	sub(/ +$/, "", line[n])
}

END {
	if (n == 0) {
		print "no benchmark results" > "/dev/stderr"
		exit 1
	}
	printf "rvmm exit-path benchmark: %s, %d CPU(s); ticks are TSC ticks less the rdtsc pair (%s)\n",
		machine, cpus, overhead
	printf "%-38s %9s %9s %7s  %s\n", "metric", "native", "rvmm", "ratio", "goal"
	for (i = 1; i <= n; i++)
		print line[i]
}
