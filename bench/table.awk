# SPDX-License-Identifier: GPL-2.0
# The benchmark's "rvmm-bench: METRIC NATIVE RVMM" and "kvm-bench: METRIC TICKS" lines as a table with
# ratios and goals: native, rvmm, KVM (the same operation in a KVM guest, bench/kvm_bench.c) and the
# ratios rvmm/native and rvmm/KVM, per serial log given: the default kernel's first, then the hardened
# kernel's (mitigations on).
# -v machine="...": what the ticks are (emulated instructions under Bochs, cycles on hardware).

function ratio(native, rvmm) {
	if (native == "" || rvmm == "" || native == "-" || rvmm == "-" || native == 0)
		return "-"
	return sprintf("%.3f", rvmm / native)
}

# verdict METRIC NATIVE RVMM KVM: "met" or "MISSED" for the goals set for the default kernel, "" where
# there is none. A CPUID exit costs rvmm at most a fifth of what it costs KVM.
function verdict(metric, native, rvmm, kvm) {
	if (metric ~ /^cpuid_/ && goal[metric] != "")
		return kvm != "" && kvm != "-" && rvmm * 5 <= kvm ? "met" : "MISSED"
	if (metric == "ticks_per_syscall")
		return rvmm <= native * 1.01 ? "met" : "MISSED"
	if (metric == "idle_exits_per_second")
		return rvmm == 0 ? "met" : "MISSED"
	return ""
}

function or_dash(v) { return v == "" ? "-" : v }

BEGIN {
	order = "cpuid_leaf0 cpuid_rvmm_leaf user_cpuid vmcall_ping rdmsr_feature_control ticks_per_syscall " \
		"latency_on_cpuid_leaf0 latency_on_vmcall_ping trace_on_cpuid_leaf0 trace_on_vmcall_ping " \
		"both_on_cpuid_leaf0 both_on_vmcall_ping off_again_cpuid_leaf0 off_again_vmcall_ping " \
		"idle_exits_per_second insmod_us rmmod_us kib_per_cpu"
	label["cpuid_leaf0"] = "CPUID leaf 0 (ticks)"
	label["cpuid_rvmm_leaf"] = "CPUID leaf 0x40000000 (ticks)"
	label["user_cpuid"] = "CPUID leaf 0 from user mode (ticks)"
	label["vmcall_ping"] = "VMCALL PING from the kernel (ticks)"
	label["rdmsr_feature_control"] = "RDMSR FEATURE_CONTROL (ticks)"
	label["ticks_per_syscall"] = "getppid() syscall (ticks)"
	label["latency_on_cpuid_leaf0"] = "CPUID leaf 0, latency histogram on"
	label["latency_on_vmcall_ping"] = "VMCALL PING, latency histogram on"
	label["trace_on_cpuid_leaf0"] = "CPUID leaf 0, exit trace on"
	label["trace_on_vmcall_ping"] = "VMCALL PING, exit trace on"
	label["both_on_cpuid_leaf0"] = "CPUID leaf 0, both on"
	label["both_on_vmcall_ping"] = "VMCALL PING, both on"
	label["off_again_cpuid_leaf0"] = "CPUID leaf 0, both off again"
	label["off_again_vmcall_ping"] = "VMCALL PING, both off again"
	label["idle_exits_per_second"] = "VM exits per second, idle"
	label["insmod_us"] = "insmod, all CPUs (us, least of 5)"
	label["rmmod_us"] = "rmmod, all CPUs (us, least of 5)"
	label["kib_per_cpu"] = "memory per CPU (KiB)"
	goal["cpuid_leaf0"] = goal["cpuid_rvmm_leaf"] = "<= KVM/5"
	goal["ticks_per_syscall"] = "within 1%"
	goal["idle_exits_per_second"] = "0"
}

FNR == 1 { runs++ }

/^kvm-bench: / {
	sub(/\r$/, "")
	if ($2 == "note") {
		slowed[runs] = slowed[runs] sprintf(" %s %d/%d", $3, $4, $6)
		next
	}
	if ($2 == "rdtsc_overhead")
		kvm_overhead[runs] = $3
	else
		kvm[runs, $2] = $3
	next
}

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
	printf "rvmm exit-path benchmark: %s, %d CPU(s); ticks are TSC ticks less the rdtsc pair (%s; in the " \
	       "KVM guest %s)\n", machine, cpus, overhead[1] (runs > 1 ? ", " overhead[2] " hardened" : ""),
	       or_dash(kvm_overhead[1])
	head = sprintf("%-38s %7s %7s %7s %7s %8s  %-9s %-6s", "metric", "native", "rvmm", "ratio", "KVM",
		       "rvmm/KVM", "goal", "")
	if (runs > 1)
		head = head sprintf(" | %7s %7s %7s %7s %8s", "native", "rvmm", "ratio", "KVM", "rvmm/KVM")
	if (runs > 1)
		printf "%-38s %-58s | %s\n", "", "default kernel", "hardened kernel (mitigations on)"
	print head
	n = split(order, metrics, " ")
	for (i = 1; i <= n; i++) {
		m = metrics[i]
		if (!((1, m) in native))
			continue
		line = sprintf("%-38s %7s %7s %7s %7s %8s  %-9s %-6s", label[m], native[1, m], rvmm[1, m],
			       ratio(native[1, m], rvmm[1, m]), or_dash(kvm[1, m]), ratio(kvm[1, m], rvmm[1, m]),
			       goal[m], verdict(m, native[1, m], rvmm[1, m], kvm[1, m]))
		if (runs > 1)
			line = line sprintf(" | %7s %7s %7s %7s %8s", or_dash(native[2, m]), or_dash(rvmm[2, m]),
					    ratio(native[2, m], rvmm[2, m]), or_dash(kvm[2, m]),
					    ratio(kvm[2, m], rvmm[2, m]))
		sub(/ +$/, "", line)
		print line
	}
	printf "KVM: the least of 101, as a host timer interrupt lands in some (more than twice the least:%s%s)\n",
	       slowed[1], (runs > 1 ? ";" slowed[2] " hardened" : "")
	if (runs > 1)
		printf "hardened kernel's mitigations (/sys/devices/system/cpu/vulnerabilities):%s\n", mitigation[2]
}
