#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pack the guest (busybox, rvmm.ko, selftests) and boot it under Bochs (emulated VT-x) or QEMU.

source "$(dirname "${BASH_SOURCE[0]}")/module.sh"

BOOT_TIMEOUT=${RVMM_BOOT_TIMEOUT:-900}
# The kexec guest takes about a minute; when rvmm leaves a CPU in VMX across kexec, the next kernel
# hangs bringing it up, and waiting the full time-out for that would add nothing.
KEXEC_BOOT_TIMEOUT=$((BOOT_TIMEOUT < 300 ? BOOT_TIMEOUT : 300))

# make_initramfs OUT SUITE: everything the guest needs, in a gzip'd newc cpio.
make_initramfs() {
	local out=$1 suite=$2 root
	root=$(mktemp -d "$RVMM_WORK/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,rvmm,selftests/kselftest}
	cp "$SYSROOT/usr/bin/busybox" "$root/bin/busybox"
	# Relative links: /usr/bin/busybox, where `busybox --install` would point, is not in the guest.
	for applet in $("$root/bin/busybox" --list); do
		case $applet in init | linuxrc) continue ;; esac # a broken /init must panic, not prompt
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	install -m 755 "$TESTBED_DIR/guest-init.sh" "$root/init"
	cp "$MODULE_KO" "$SAMPLE_KO" "$root/rvmm/"
	cp -r "$RVMM_SRC/selftests/rvmm" "$root/selftests/"
	rm -rf "$root/selftests/rvmm/"*.c "$root/selftests/rvmm/module"
	cp "$NMI_TEST_KO" "$CRASH_TEST_KO" "$STEP_TEST_KO" "$root/rvmm/"
	cp "$PROBE_BIN" "$root/selftests/rvmm/"
	cp "$STAT_BIN" "$root/bin/"
	cp "$KDIR_HOST/tools/testing/selftests/kselftest/ktap_helpers.sh" "$root/selftests/kselftest/"
	# The kernel's own KVM, for the coexistence test.
	mkdir -p "$root/rvmm/kvm"
	cp "$KDIR_HOST/virt/lib/irqbypass.ko" "$KDIR_HOST/arch/x86/kvm/kvm.ko" \
		"$KDIR_HOST/arch/x86/kvm/kvm-intel.ko" "$root/rvmm/kvm/"
	mkdir -p "$root/bench"
	cp "$BENCH_KO" "$MODULE_WORK/bench/workload" "$MODULE_WORK/bench/kvm_bench" "$RVMM_SRC/bench/bench.sh" \
		"$root/bench/"
	# The kernel's x86 selftests, whole (x86) or in three parts for guests side by side:
	# syscall_numbering_64 alone takes about a minute per run under Bochs.
	local x86=()
	case $suite in
	x86) x86=("$X86_SELFTESTS"/*_32 "$X86_SELFTESTS"/*_64) ;;
	x86-1) mapfile -t x86 < <(ls "$X86_SELFTESTS"/*_64 | grep -v '/syscall_numbering_64$') ;;
	x86-2) x86=("$X86_SELFTESTS"/*_32) ;;
	x86-3) x86=("$X86_SELFTESTS"/syscall_numbering_64) ;;
	esac
	# The kexec and kdump suites boot the same kernel again from inside the guest.
	case $suite in kexec | kdump*) cp "$KDIR_HOST/arch/x86/boot/bzImage" "$root/rvmm/" ;; esac
	if [ "${#x86[@]}" -gt 0 ]; then
		mkdir -p "$root/selftests/x86"
		cp "${x86[@]}" "$root/selftests/x86/"
	fi
	# The same bytes every time (file order, times, inode numbers): Bochs then runs the same
	# instructions, and the benchmark repeats to the tick.
	in_sysroot sh -c "cd $(in_cache "$root") && find . -exec touch -h -d @0 {} + &&
		find . | LC_ALL=C sort | cpio --quiet --reproducible -o -H newc | gzip -1 -n" >"$out"
	rm -rf "$root"
}

# make_iso DIR CMDLINE: DIR/boot.iso boots the test kernel with DIR/initrd.gz through isolinux.
make_iso() {
	local dir=$1 cmdline=$2
	mkdir -p "$dir/iso/isolinux"
	cp "$SYSROOT/usr/lib/ISOLINUX/isolinux.bin" "$SYSROOT/usr/lib/syslinux/modules/bios/ldlinux.c32" \
		"$dir/iso/isolinux/"
	cp "$KDIR_HOST/arch/x86/boot/bzImage" "$dir/iso/vmlinuz"
	cp "$dir/initrd.gz" "$dir/iso/initrd.gz"
	printf 'default rvmm\nprompt 0\ntimeout 0\nlabel rvmm\n  kernel /vmlinuz\n  append initrd=/initrd.gz %s\n' \
		"$cmdline" >"$dir/iso/isolinux/isolinux.cfg"
	in_sysroot xorriso -as mkisofs -quiet -o "$(in_cache "$dir")/boot.iso" \
		-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
		-boot-info-table "$(in_cache "$dir")/iso" 2>"$dir/xorriso.log"
}

# The Bochs CPU model of every run that names none.
DEFAULT_MODEL=corei7_skylake_x

# bochs_cpu_quirks MODEL: what Bochs needs on its "cpu:" line to boot Linux natively on MODEL, and the
# features RVMM_BOCHS_EXCLUDE names (the benchmark's) left out.
bochs_cpu_quirks() {
	local exclude=${RVMM_BOCHS_EXCLUDE:-}
	case $1 in
	# Bochs offers AMX without XFD, which no real CPU does: Linux then drops XTILEDATA from
	# XCR0 but keeps XTILECFG, and XSETBV raises #GP in fpu__init_cpu_xstate (SDM Vol. 1, 13.3).
	sapphire_rapids) exclude+=" amx amx_int8 amx_bf16 amx_fp16 amx_complex" ;;
	esac
	[ -z "$exclude" ] || echo ", exclude_features=\"${exclude# }\""
}

# kernel_cmdline_quirks MODEL: what the guest kernel needs on its command line to boot on MODEL.
kernel_cmdline_quirks() {
	case $1 in
	# Bochs's RSM rejects the CR4.LA57 its own SMM entry saved ("attempt to change CR4.LA57 when
	# EFER.LMA=1": a Bochs panic), and the BIOS enables ACPI through an SMI: no ACPI, no SMI, and
	# 5-level paging stays on. Without ACPI there is no HPET, so the local APIC timer stays too.
	sapphire_rapids) echo acpi=off ;;
	esac
}

# run_name BACKEND CPUS SUITE [MODEL]: the name of a run of KERNEL_FLAVOR's kernel, for its directory
# and report: "bochs-2-vmx", "bochs-2-vmx-tigerlake-hardened".
run_name() {
	local name=$1-$2-$3
	[ "${4:-$DEFAULT_MODEL}" = "$DEFAULT_MODEL" ] || name+=-$4
	[ "$KERNEL_FLAVOR" = default ] || name+=-$KERNEL_FLAVOR
	echo "$name"
}

# boot BACKEND CPUS SUITE [MODEL]: boot KERNEL_FLAVOR's kernel and module_paths' module, with Bochs as
# CPU MODEL; the guest runs SUITE (demo, vmx, novmx, ...). The serial console ends up in
# $RUN_DIR/serial.log. RVMM_TESTS (test names, comma-separated) runs only those of the suite.
boot() {
	local backend=$1 cpus=$2 suite=$3 model=${4:-$DEFAULT_MODEL} cmdline timeout=$BOOT_TIMEOUT
	local EXPECTED_PANICS=0
	case $suite in kexec | kdump*) timeout=$KEXEC_BOOT_TIMEOUT ;; esac
	case $suite in kdump*) EXPECTED_PANICS=1 ;; esac
	RUN_DIR=$RVMM_WORK/run-$(run_name "$@")
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR"
	case $suite in x86*) ensure_x86_selftests ;; esac
	make_initramfs "$RUN_DIR/initrd.gz" "$suite"
	cmdline="console=ttyS0,115200 loglevel=4 panic=-1 rvmm_suite=$suite ${RVMM_GUEST_CMDLINE:-}"
	[ -z "${RVMM_TESTS:-}" ] || cmdline+=" rvmm_tests=$RVMM_TESTS"
	# The 1-CPU VMX guest checks that rvmm frees what it allocates. kmemleak reports an object once it
	# is 5 s old, and only a 1-CPU Bochs skips idle time: a 2-CPU one takes minutes per idle second.
	[ "$suite" = vmx ] && [ "$cpus" = 1 ] && cmdline+=" kmemleak=on"
	# Memory for the crash kernel, its initramfs (with the kernel in it) and its boot.
	case $suite in kdump*) cmdline+=" crashkernel=192M" ;; esac
	local in_run
	in_run=$(in_cache "$RUN_DIR")
	case $backend in
	bochs)
		# With its local APIC timer, a Bochs guest takes about 165,000 timer interrupts per guest
		# second, so that idle time (RCU grace periods, sleeps) costs the host dearly. The HPET as
		# the kernel's clock event device runs the vmx suite in 134 s instead of 346 s.
		local quirks
		quirks=$(kernel_cmdline_quirks "$model")
		case $quirks in *acpi=off*) ;; *) quirks+=" nolapic_timer" ;; esac
		make_iso "$RUN_DIR" "$cmdline $quirks"
		cat >"$RUN_DIR/bochsrc" <<-EOB
			megs: 512
			cpu: model=$model, count=$cpus, reset_on_triple_fault=0$(bochs_cpu_quirks "$model")
			# Guest time follows the instruction count from a fixed date: runs repeat to the tick.
			clock: sync=none, time0=1767225600
			romimage: file=/usr/share/bochs/BIOS-bochs-latest
			vgaromimage: file=/usr/share/vgabios/vgabios.bin
			display_library: rfb, options="timeout=0"
			ata0-master: type=cdrom, path=$in_run/boot.iso, status=inserted
			boot: cdrom
			com1: enabled=1, mode=file, dev=$in_run/serial.log
			log: $in_run/bochs.log
			panic: action=fatal
			error: action=report
			info: action=report
			debug: action=ignore
		EOB
		step "boot-$(run_name "$@")" run_guest "$timeout" "$RUN_DIR/serial.log" \
			bochs -q -f "$in_run/bochsrc"
		;;
	qemu-tcg | qemu-kvm)
		local accel=(-accel tcg -cpu qemu64)
		[ "$backend" = qemu-kvm ] && accel=(-accel kvm -cpu host)
		step "boot-$(run_name "$@")" run_guest "$timeout" "$RUN_DIR/serial.log" \
			qemu-system-x86_64 "${accel[@]}" -smp "$cpus" -m 512 -no-reboot \
			-display none -serial "file:$in_run/serial.log" \
			-kernel "$(in_cache "$KDIR_HOST")/arch/x86/boot/bzImage" \
			-initrd "$in_run/initrd.gz" -append "$cmdline"
		;;
	*) die "unknown backend '$backend' (bochs, qemu-tcg, qemu-kvm)" ;;
	esac
	grep -q '^rvmm-testbed: finished' "$RUN_DIR/serial.log" 2>/dev/null || {
		tail -n 30 "$RUN_DIR/serial.log" >&2 2>/dev/null || true
		die "the $backend guest did not finish: panic, hang or time-out (serial console: $RUN_DIR/serial.log)"
	}
}

# run_guest TIMEOUT SERIAL CMD...: run an emulator in the sysroot until the guest powers off, panics
# (more often than EXPECTED_PANICS says: the kdump suites panic once on purpose), or has run for
# TIMEOUT seconds. Its exit status says little (Bochs exits non-zero on power-off): the
# guest's own "finished" line on the serial console, checked by the caller, is what counts.
run_guest() {
	local timeout=$1 serial=$2 pid waited=0 panics lock
	shift 2
	# One emulator starts at a time on this machine, whichever checkout starts it: two Bochs starting
	# in the same second race for a VNC port, and one of them can die at once (exit 139). Held until
	# this one's guest writes to its console.
	exec {lock}>"$RVMM_CACHE/emulator-start.lock"
	flock "$lock"
	# The emulator must not inherit the lock.
	(exec {lock}>&- && IN_SYSROOT_EXEC=exec in_sysroot timeout "$timeout" "$@" </dev/null) &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ ! -s "$serial" ] && [ $((waited += 1)) -le 30 ]; do sleep 1; done
	waited=0
	exec {lock}>&-
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		# A guest that finished gets a few seconds to power off; a panicked one none (Bochs would reboot).
		panics=$(grep -c 'Kernel panic - not syncing' "$serial" 2>/dev/null) || true
		if [ "${panics:-0}" -gt "${EXPECTED_PANICS:-0}" ] ||
			{ grep -q '^rvmm-testbed: finished' "$serial" 2>/dev/null && [ $((waited += 1)) -gt 5 ]; }; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	wait "$pid" || log "emulator exited with status $? (124 is a time-out after ${timeout}s)"
}

# The backend for VMX tests: QEMU with KVM where the host offers VMX to guests, Bochs otherwise.
vmx_backend() {
	if [ -n "${RVMM_VMX_BACKEND:-}" ]; then
		echo "$RVMM_VMX_BACKEND"
	elif [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo; then
		echo qemu-kvm
	else
		echo bochs
	fi
}
