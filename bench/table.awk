# SPDX-License-Identifier: GPL-2.0
# The benchmark's "rvmm-bench: METRIC NATIVE RVMM" lines as a table with ratios and goals: one pair of
# columns per serial log given, the default kernel's first, then the hardened kernel's (mitigations on).
# -v machine="...": what the ticks are (emulated instructions under Bochs, cycles on hardware).

function ratio(native, rvmm) {
	if (native == "" || rvmm == "" || native == "-" || rvmm == "-" || native == 0)
		return "-"
	return sprintf("%.3f", rvmm / native)
}

# verdict GOAL VALUE: "met" or "MISSED" for the goals set for the default kernel, "" where there is none.
function verdict(metric, native, rvmm) {
	if (metric ~ /^cpuid_/)
		return rvmm < 120 ? "met" : "MISSED"
	if (metric == "ticks_per_syscall")
		return rvmm <= native * 1.01 ? "met" : "MISSED"
	if (metric == "idle_exits_per_second")
		return rvmm == 0 ? "met" : "MISSED"
	return ""
}

function or_dash(v) { return v == "" ? "-" : v }

BEGIN {
	order = "cpuid_leaf0 cpuid_rvmm_leaf user_cpuid vmcall_ping rdmsr_feature_control ticks_per_syscall " \
		"idle_exits_per_second insmod_us rmmod_us kib_per_cpu"
	label["cpuid_leaf0"] = "CPUID leaf 0 (ticks)"
	label["cpuid_rvmm_leaf"] = "CPUID leaf 0x40000000 (ticks)"
	label["user_cpuid"] = "CPUID leaf 0 from user mode (ticks)"
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

FNR == 1 { runs++ }

/^rvmm-bench: / {
	sub(/\r$/, "")
	metric = $2
	if (metric == "cpus") { cpus = $4; next }
	if (metric == "rdtsc_overhead") { overhead[runs] = $3; next }
	if (metric == "mitigation") { mitigation[runs] = mitigation[runs] sprintf("\n  %s: %s", $3, $4); next }
	if (!(metric in label))
		next
	native[runs, metric] = $3
	rvmm[runs, metric] = $4
	seen++
}

END {
	if (!seen) {
		print "no benchmark results" > "/dev/stderr"
		exit 1
	}
	printf "rvmm exit-path benchmark: %s, %d CPU(s); ticks are TSC ticks less the rdtsc pair (%s)\n",
		machine, cpus, overhead[1] (runs > 1 ? ", " overhead[2] " hardened" : "")
	head = sprintf("%-38s %7s %7s %7s  %-10s %-6s", "metric", "native", "rvmm", "ratio", "goal", "")
	if (runs > 1)
		head = head sprintf(" | %7s %7s %7s", "native", "rvmm", "ratio")
	if (runs > 1)
		printf "%-38s %-41s | %s\n", "", "default kernel", "hardened kernel (mitigations on)"
	print head
	n = split(order, metrics, " ")
	for (i = 1; i <= n; i++) {
		m = metrics[i]
		if (!((1, m) in native))
			continue
		line = sprintf("%-38s %7s %7s %7s  %-10s %-6s", label[m], native[1, m], rvmm[1, m],
			       ratio(native[1, m], rvmm[1, m]), goal[m], verdict(m, native[1, m], rvmm[1, m]))
		if (runs > 1)
			line = line sprintf(" | %7s %7s %7s", or_dash(native[2, m]), or_dash(rvmm[2, m]),
					    ratio(native[2, m], rvmm[2, m]))
		sub(/ +$/, "", line)
		print line
	}
	if (runs > 1)
		printf "hardened kernel's mitigations (/sys/devices/system/cpu/vulnerabilities):%s\n", mitigation[2]
}
