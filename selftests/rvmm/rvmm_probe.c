// SPDX-License-Identifier: GPL-2.0
/*
 * What the selftests ask of the CPU, one instruction at a time, pinned to one CPU (with -u, as the
 * unprivileged user nobody, uid and gid 65534):
 *
 *   rvmm_probe CPU cpuid LEAF [SUBLEAF]   print EAX EBX ECX EDX in hex and the signature as text
 *   rvmm_probe CPU cpuid-loop N LEAF      execute CPUID N times
 *   rvmm_probe CPU cpuid-traced N LEAF    the same with one CPUID instruction; first print
 *                                         "pid PID rip ADDRESS" of this process and that instruction
 *   rvmm_probe CPU exec INSTRUCTION       execute it at CPL 3 (see instructions[]); print the signal
 *                                         and where it hit, or "no fault"
 *   rvmm_probe CPU kernel-cpuid LEAF      CPUID LEAF executed by the kernel (/dev/cpu/CPU/cpuid);
 *                                         print EAX EBX ECX EDX in hex, or the errno
 *   rvmm_probe CPU wrmsr MSR VALUE        write through /dev/cpu/CPU/msr; print "written" or the errno
 *   rvmm_probe CPU rdmsr MSR [LAST]       read through /dev/cpu/CPU/msr; print the value or the errno
 *                                         (for each MSR up to LAST: its number, then the value)
 *   rvmm_probe CPU step-cpuid             single-step over CPUID; print where the first trap hit
 *   rvmm_probe CPU step-cpuid-loop N LEAF single-step over CPUID LEAF N times; print how many of
 *                                         the traps came right after CPUID
 *   rvmm_probe CPU stale-ldt fs|gs SECONDS
 *                                         for SECONDS, keep in FS or GS a selector of an LDT entry
 *                                         that modify_ldt(2) emptied, loading it again whenever the
 *                                         kernel reloads the register (a context switch makes it
 *                                         null), and read through it; print the counts
 *   rvmm_probe CPU kexec KERNEL INITRD CMDLINE
 *                                         boot KERNEL with kexec_file_load(2); returns only on failure
 *   rvmm_probe CPU kexec-crash KERNEL INITRD CMDLINE
 *                                         load KERNEL as the crash kernel (KEXEC_FILE_ON_CRASH)
 *   rvmm_probe CPU write-partial FILE TEXT
 *                                         one write(2) of TEXT and the byte after it, which is unmapped;
 *                                         print the errno or the count written
 *   rvmm_probe CPU load-race FIRST SECOND DELAY_US
 *                                         load module FIRST here and, DELAY_US after its load began,
 *                                         module SECOND on the next CPU; print each result and how
 *                                         long FIRST's load took, in microseconds
 *   rvmm_probe CPU cpuid-at-4gib          CPUID 0x40000000 in compatibility mode at EIP 0xfffffffe
 *   rvmm_probe CPU cpuid-at-64kib         the same at IP 0xfffe of a 16-bit code segment
 *                                         both print the signal that follows and where it hit, then
 *                                         the registers CPUID left
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/ldt.h>
#include <asm/prctl.h>
#include <linux/kexec.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <grp.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf fault;

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	asm volatile("cpuid"
		     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(subleaf));
}

/*
 * Instructions a user-mode process may try, as bytes, none of them 0 (memory operands are [rsp],
 * which none of them reaches: each faults or exits first). Under rvmm the VMX ones exit, INVD and XSETBV fault on CPL
 * before any exit (SDM Vol. 3C, 26.1.1), CPUID exits always.
 */
static const struct {
	const char *name;
	unsigned char bytes[7];
} instructions[] = {
	{ "vmcall", { 0x0f, 0x01, 0xc1 } },
	{ "vmlaunch", { 0x0f, 0x01, 0xc2 } },
	{ "vmresume", { 0x0f, 0x01, 0xc3 } },
	{ "vmxoff", { 0x0f, 0x01, 0xc4 } },
	{ "vmfunc", { 0x0f, 0x01, 0xd4 } },
	{ "vmread", { 0x0f, 0x78, 0xc0 } },		/* vmread %rax, %rax */
	{ "vmwrite", { 0x0f, 0x79, 0xc0 } },		/* vmwrite %rax, %rax */
	{ "vmxon", { 0xf3, 0x0f, 0xc7, 0x34, 0x24 } },	/* vmxon (%rsp) */
	{ "vmclear", { 0x66, 0x0f, 0xc7, 0x34, 0x24 } },
	{ "vmptrld", { 0x0f, 0xc7, 0x34, 0x24 } },
	{ "vmptrst", { 0x0f, 0xc7, 0x3c, 0x24 } },
	{ "invept", { 0x66, 0x0f, 0x38, 0x80, 0x04, 0x24 } },
	{ "invvpid", { 0x66, 0x0f, 0x38, 0x81, 0x04, 0x24 } },
	{ "getsec", { 0x0f, 0x37 } },
	{ "invd", { 0x0f, 0x08 } },
	{ "wbinvd", { 0x0f, 0x09 } },
	{ "xsetbv", { 0x0f, 0x01, 0xd1 } },
	{ "rdmsr", { 0x0f, 0x32 } },
	{ "wrmsr", { 0x0f, 0x30 } },
	{ "mov-to-cr4", { 0x0f, 0x22, 0xe0 } },
	{ "hlt", { 0xf4 } },
	{ "cpuid", { 0x0f, 0xa2 } },
	/* Exit-free where rvmm enables them (secondary controls); #UD in a guest where it does not. */
	{ "rdtscp", { 0x0f, 0x01, 0xf9 } },
	{ "invpcid", { 0x66, 0x0f, 0x38, 0x82, 0x04, 0x24 } },	/* invpcid (%rsp), %rax */
	{ "xsaves", { 0x0f, 0xc7, 0x2c, 0x24 } },		/* xsaves (%rsp) */
};

static struct {
	int sig;
	unsigned long ip;
} trapped;

static void on_trap(int sig, siginfo_t *info, void *context)
{
	trapped.sig = sig;
	trapped.ip = ((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
	siglongjmp(fault, 1);
}

/*
 * Run one instruction of the table in user mode (EAX=ECX=EDX=0), followed by RET; print the signal
 * it raised and its offset from the instruction, or "no fault".
 */
static int run_instruction(const char *name)
{
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };
	unsigned char *code;
	size_t i;

	for (i = 0; i < sizeof(instructions) / sizeof(instructions[0]); i++)
		if (!strcmp(instructions[i].name, name))
			break;
	if (i == sizeof(instructions) / sizeof(instructions[0])) {
		fprintf(stderr, "unknown instruction %s\n", name);
		return 2;
	}
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(code, instructions[i].bytes, sizeof(instructions[i].bytes));
	/* RET after the instruction's own bytes; the table pads the rest with zeros. */
	code[strlen((const char *)instructions[i].bytes)] = 0xc3;
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(fault, 1)) {
		printf("%s at +%ld\n", strsignal(trapped.sig), (long)(trapped.ip - (unsigned long)code));
		return 0;
	}
	asm volatile("call *%0" : : "r"(code), "a"(0), "c"(0), "d"(0)
		     : "rbx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	puts("no fault");
	return 0;
}

static volatile unsigned long first_trap_ip;

static void on_sigtrap(int sig, siginfo_t *info, void *context)
{
	ucontext_t *uc = context;

	if (!first_trap_ip)
		first_trap_ip = uc->uc_mcontext.gregs[REG_RIP];
	uc->uc_mcontext.gregs[REG_EFL] &= ~0x100UL;	/* stop stepping */
}

/* Set TF with POPF: the trap comes after the instruction that follows, here CPUID. */
/* One CPUID instruction at a known address, for the exit trace; noclone keeps the label unique. */
extern char rvmm_traced_cpuid[];

static __attribute__((noinline, noclone)) void traced_cpuid(uint32_t leaf)
{
	uint32_t a, b, c, d;

	asm volatile(".globl rvmm_traced_cpuid\n\trvmm_traced_cpuid: cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(leaf), "c"(0));
}

static int step_cpuid(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigtrap, .sa_flags = SA_SIGINFO };
	extern char rvmm_after_cpuid[];

	sigaction(SIGTRAP, &sa, NULL);
	asm volatile("pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"
		     "cpuid\n"
		     "rvmm_after_cpuid:\n\t"
		     "nop\n\t"
		     "nop\n\t"
		     : : "a"(0), "c"(0) : "rbx", "rdx", "memory", "cc");
	if (first_trap_ip == (unsigned long)rvmm_after_cpuid)
		puts("trap after CPUID");
	else
		printf("trap at %#lx, CPUID ends at %p\n", first_trap_ip, rvmm_after_cpuid);
	return 0;
}

/* One single-stepped CPUID at a known address; noclone keeps the label unique. */
extern char rvmm_after_stepped_cpuid[];

static __attribute__((noinline, noclone)) void stepped_cpuid(uint32_t leaf)
{
	asm volatile("pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"
		     "cpuid\n"
		     ".globl rvmm_after_stepped_cpuid\n"
		     "rvmm_after_stepped_cpuid:\n\t"
		     "nop\n\t"
		     : "+a"(leaf) : "c"(0) : "rbx", "rdx", "memory", "cc");
}

static int step_cpuid_loop(long n, uint32_t leaf)
{
	struct sigaction sa = { .sa_sigaction = on_sigtrap, .sa_flags = SA_SIGINFO };
	long after_cpuid = 0;

	sigaction(SIGTRAP, &sa, NULL);
	for (long i = 0; i < n; i++) {
		first_trap_ip = 0;
		stepped_cpuid(leaf);
		after_cpuid += first_trap_ip == (unsigned long)rvmm_after_stepped_cpuid;
	}
	printf("%ld of %ld traps after CPUID\n", after_cpuid, n);
	return 0;
}

#define STALE_MAGIC 0x5354414c454c4454ULL	/* "STALELDT" */
/* LDT entry 0, TI set, RPL 3. */
#define STALE_SELECTOR (0 << 3 | 4 | 3)

static volatile bool stale_gs, stale_stop, stale_faulted;
static volatile long stale_wrong, stale_faults_while_null;
extern char rvmm_stale_read_fs[], rvmm_stale_read_fs_end[];
extern char rvmm_stale_read_gs[], rvmm_stale_read_gs_end[];

static unsigned short stale_register(void)
{
	unsigned short sel;

	if (stale_gs)
		asm volatile("movw %%gs, %0" : "=r"(sel));
	else
		asm volatile("movw %%fs, %0" : "=r"(sel));
	return sel;
}

/* Read 8 bytes at offset 0 of FS or GS; a fault resumes at the end with 0 (on_stale_fault). */
static __attribute__((noinline, noclone)) uint64_t stale_read_fs(void)
{
	uint64_t value;

	asm volatile(".globl rvmm_stale_read_fs\nrvmm_stale_read_fs: movq %%fs:0, %0\n"
		     ".globl rvmm_stale_read_fs_end\nrvmm_stale_read_fs_end:" : "=a"(value));
	return value;
}

static __attribute__((noinline, noclone)) uint64_t stale_read_gs(void)
{
	uint64_t value;

	asm volatile(".globl rvmm_stale_read_gs\nrvmm_stale_read_gs: movq %%gs:0, %0\n"
		     ".globl rvmm_stale_read_gs_end\nrvmm_stale_read_gs_end:" : "=a"(value));
	return value;
}

/* Neither handler touches thread-local storage: FS may not point at it. */
static void on_stale_fault(int sig, siginfo_t *info, void *context)
{
	greg_t *regs = ((ucontext_t *)context)->uc_mcontext.gregs;

	if (stale_register() == STALE_SELECTOR)
		stale_wrong++;
	else
		stale_faults_while_null++;
	stale_faulted = true;
	regs[REG_RAX] = 0;
	regs[REG_RIP] = (greg_t)(stale_gs ? rvmm_stale_read_gs_end : rvmm_stale_read_fs_end);
}

static void on_stale_stop(int sig)
{
	stale_stop = true;
}

static long raw_syscall3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

/*
 * What a hostile user can do to the segment registers: load FS or GS with an LDT selector, then
 * empty the entry with modify_ldt(2). The CPU keeps the descriptor it loaded, so the register keeps
 * working through its base; the kernel makes it null at the next context switch, whose reload
 * faults (loadseg() in arch/x86/kernel/process_64.c), and then this loads it again. A read that
 * faults once the register is null is fine (a switch came between the check and the read, and took
 * the base with the selector on a CPU without FSGSBASE); one that faults or reads wrong while the
 * register still holds the selector is not. Runs until SIGTERM or SECONDS; while armed, nothing
 * here uses FS-based thread-local storage, which FS then no longer addresses.
 */
static int stale_ldt(const char *reg, long seconds)
{
	struct sigaction fault_sa = { .sa_sigaction = on_stale_fault, .sa_flags = SA_SIGINFO };
	struct sigaction stop_sa = { .sa_handler = on_stale_stop };
	uint64_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	struct user_desc valid = {
		.entry_number = 0, .limit = 0xfff, .seg_32bit = 1, .useable = 1,
	};
	struct user_desc empty = { .entry_number = 0, .read_exec_only = 1, .seg_not_present = 1 };
	long armed = 0, reads = 0, failed = 0;
	unsigned long tls_base;
	unsigned short sel = STALE_SELECTOR;

	if (page == MAP_FAILED || syscall(SYS_arch_prctl, ARCH_GET_FS, &tls_base)) {
		perror("mmap or arch_prctl");
		return 1;
	}
	*page = STALE_MAGIC;
	valid.base_addr = (unsigned long)page;
	stale_gs = !strcmp(reg, "gs");
	sigaction(SIGSEGV, &fault_sa, NULL);
	sigaction(SIGBUS, &fault_sa, NULL);
	sigaction(SIGTERM, &stop_sa, NULL);
	sigaction(SIGALRM, &stop_sa, NULL);
	alarm(seconds);
	printf("holding a stale LDT selector in %s\n", reg);
	fflush(stdout);
	while (!stale_stop) {
		if (raw_syscall3(SYS_modify_ldt, 1, (long)&valid, sizeof(valid))) {
			failed++;
			break;
		}
		if (stale_gs)
			asm volatile("movw %0, %%gs" : : "r"(sel));
		else
			asm volatile("movw %0, %%fs" : : "r"(sel));
		if (raw_syscall3(SYS_modify_ldt, 1, (long)&empty, sizeof(empty))) {
			failed++;
			break;
		}
		armed++;
		while (!stale_stop && stale_register() == STALE_SELECTOR) {
			uint64_t value;

			stale_faulted = false;
			value = stale_gs ? stale_read_gs() : stale_read_fs();
			if (stale_faulted || stale_register() != STALE_SELECTOR)
				continue;
			reads++;
			stale_wrong += value != STALE_MAGIC;
		}
	}
	/* FS back to the thread-local storage, as arch_prctl() loads it: null selector, the base. */
	if (!stale_gs)
		raw_syscall3(SYS_arch_prctl, ARCH_SET_FS, tls_base, 0);
	printf("armed %ld, reads %ld, wrong %ld, faults once null %ld, failed modify_ldt %ld\n",
	       armed, reads, stale_wrong, stale_faults_while_null, failed);
	return stale_wrong != 0 || failed != 0 || !armed;
}

/* Open /dev/cpu/CPU/NAME, the kernel's per-CPU msr or cpuid device. */
static int open_cpu_device(int cpu, const char *name, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/cpu/%d/%s", cpu, name);
	return open(path, flags);
}

/* Load KERNEL with kexec_file_load(2); FLAGS 0 boots it at once, KEXEC_FILE_ON_CRASH on a panic. */
static int kexec(const char *kernel, const char *initrd, const char *cmdline, unsigned long flags)
{
	int kernel_fd = open(kernel, O_RDONLY), initrd_fd = open(initrd, O_RDONLY);

	if (kernel_fd < 0 || initrd_fd < 0) {
		perror("open");
		return 1;
	}
	if (syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, strlen(cmdline) + 1, cmdline, flags)) {
		perror("kexec_file_load");
		return 1;
	}
	if (flags)
		return 0;
	sync();
	reboot(RB_KEXEC);
	perror("reboot(RB_KEXEC)");
	return 1;
}

static int write_partial(const char *path, const char *text)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = strlen(text);
	char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(path, O_WRONLY);
	ssize_t written;

	if (map == MAP_FAILED || fd < 0 || len > (size_t)page || munmap(map + page, page)) {
		perror("write-partial");
		return 1;
	}
	memcpy(map + page - len, text, len);
	written = write(fd, map + page - len, len + 1);
	if (written < 0)
		printf("%s\n", strerror(errno));
	else
		printf("wrote %zd\n", written);
	return 0;
}

/* What the signal after a CPUID that runs off the end of its code told the handler. */
static struct {
	int sig, code;
	unsigned long addr, ip, cs;
	uint32_t r[4];
} seen;

static void on_fault(int sig, siginfo_t *info, void *context)
{
	greg_t *g = ((ucontext_t *)context)->uc_mcontext.gregs;

	seen.sig = sig;
	seen.code = info->si_code;
	seen.addr = (unsigned long)info->si_addr;
	seen.ip = g[REG_RIP];
	seen.cs = g[REG_CSGSFS] & 0xffff;
	seen.r[0] = g[REG_RAX];
	seen.r[1] = g[REG_RBX];
	seen.r[2] = g[REG_RCX];
	seen.r[3] = g[REG_RDX];
	siglongjmp(fault, 1);
}

/*
 * Far-return to CS:IP, where CPUID 0x40000000 ends at the last byte of the code's reach: at 4 GiB in
 * compatibility mode (EIP wraps to 0, natively a page fault there), or at 64 KiB in a 16-bit code
 * segment whose limit is 0xffff. The handler runs on its own stack: RSP means little in those modes.
 */
static int cpuid_at_end(uint16_t cs, unsigned long ip)
{
	static char altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	char sig[13] = { 0 };

	sigaltstack(&ss, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (!sigsetjmp(fault, 1)) {
		asm volatile("pushq %q0\n\t"
			     "pushq %q1\n\t"
			     "lretq"
			     : : "r"((unsigned long)cs), "r"(ip), "a"(0x40000000), "c"(0)
			     : "rbx", "rdx", "memory");
	}
	memcpy(sig, &seen.r[1], 4);
	memcpy(sig + 4, &seen.r[2], 4);
	memcpy(sig + 8, &seen.r[3], 4);
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	printf("%s code=%d addr=%#lx ip=%#lx cs=%#lx\n", strsignal(seen.sig), seen.code, seen.addr,
	       seen.ip, seen.cs);
	printf("%08x %08x %08x %08x %s\n", seen.r[0], seen.r[1], seen.r[2], seen.r[3], sig);
	return 0;
}

static const unsigned char CPUID[] = { 0x0f, 0xa2 }, UD2[] = { 0x0f, 0x0b };

/* The page below 4 GiB, with CPUID in its last two bytes; run it as __USER32_CS. */
static int cpuid_at_4gib(void)
{
	char *page = mmap((void *)0xfffff000UL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (page != (void *)0xfffff000UL) {
		perror("mmap at 0xfffff000");
		return 1;
	}
	memcpy(page + 4094, CPUID, 2);
	return cpuid_at_end(0x23, 0xfffffffe);
}

/*
 * A 16-bit code segment (LDT entry 0, limit 0xffff) over 68 KiB of memory: CPUID at offset 0xfffe,
 * UD2 at offset 0 and at offset 0x10000, which is mapped but beyond the limit. Wrapping IP to 0
 * would raise SIGILL at 0; continuing at 0x10000 raises #GP for the limit.
 */
static int cpuid_at_64kib(void)
{
	size_t size = 0x11000;
	char *code = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	struct user_desc desc = {
		.entry_number = 0,
		.limit = 0xffff,
		.contents = MODIFY_LDT_CONTENTS_CODE,
		.useable = 1,
	};

	if (code == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	desc.base_addr = (unsigned long)code;
	memcpy(code, UD2, 2);
	memcpy(code + 0xfffe, CPUID, 2);
	memcpy(code + 0x10000, UD2, 2);
	if (syscall(SYS_modify_ldt, 1, &desc, sizeof(desc))) {
		perror("modify_ldt");
		return 1;
	}
	return cpuid_at_end(0 << 3 | 4 | 3, 0xfffe);
}

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return errno;
	rc = syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
	close(fd);
	return rc;
}

static long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

/* Two module loads that overlap: the second starts delay_us after the first, on another CPU. */
static int load_race(int cpu, const char *first, const char *second, long delay_us)
{
	long start = now_us(), first_us;
	int first_rc, status;
	pid_t child = fork();

	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (!child) {
		struct timespec at = { .tv_sec = (start + delay_us) / 1000000,
				       .tv_nsec = (start + delay_us) % 1000000 * 1000 };
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET((cpu + 1) % (cpus > 0 ? cpus : 1), &set);
		sched_setaffinity(0, sizeof(set), &set);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
		_exit(load_module(second));
	}
	first_rc = load_module(first);
	first_us = now_us() - start;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
		perror("waitpid");
		return 1;
	}
	printf("first=%s second=%s first_us=%ld\n", first_rc ? strerror(first_rc) : "loaded",
	       WEXITSTATUS(status) ? strerror(WEXITSTATUS(status)) : "loaded", first_us);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: rvmm_probe [-u] CPU cpuid LEAF [SUBLEAF] | cpuid-loop N LEAF | cpuid-traced N LEAF | exec INSTRUCTION | kernel-cpuid LEAF | wrmsr MSR VALUE | rdmsr MSR [LAST] | step-cpuid | step-cpuid-loop N LEAF | stale-ldt fs|gs SECONDS | kexec KERNEL INITRD CMDLINE | kexec-crash KERNEL INITRD CMDLINE | write-partial FILE TEXT | load-race FIRST SECOND DELAY_US | cpuid-at-4gib | cpuid-at-64kib\n");
	return 2;
}

int main(int argc, char **argv)
{
	cpu_set_t set;
	int cpu;

	bool unprivileged = argc > 1 && !strcmp(argv[1], "-u");

	if (unprivileged) {
		argc--;
		argv++;
	}
	if (argc < 3)
		return usage();
	cpu = atoi(argv[1]);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		return 1;
	}
	if (unprivileged && (setgroups(0, NULL) || setgid(65534) || setuid(65534))) {
		perror("dropping privileges");
		return 1;
	}

	if (!strcmp(argv[2], "cpuid") && argc >= 4) {
		uint32_t r[4];
		char sig[13] = { 0 };

		cpuid(strtoul(argv[3], NULL, 0), argc > 4 ? strtoul(argv[4], NULL, 0) : 0, r);
		memcpy(sig, &r[1], 4);
		memcpy(sig + 4, &r[2], 4);
		memcpy(sig + 8, &r[3], 4);
		for (int i = 0; i < 12; i++)
			if (sig[i] < 0x20 || sig[i] > 0x7e)
				sig[i] = '.';
		printf("%08x %08x %08x %08x %s\n", r[0], r[1], r[2], r[3], sig);
		return 0;
	}
	if (!strcmp(argv[2], "cpuid-loop") && argc == 5) {
		long n = atol(argv[3]);
		uint32_t r[4], leaf = strtoul(argv[4], NULL, 0);

		for (long i = 0; i < n; i++)
			cpuid(leaf, 0, r);
		return 0;
	}
	if (!strcmp(argv[2], "cpuid-traced") && argc == 5) {
		long n = atol(argv[3]);
		uint32_t leaf = strtoul(argv[4], NULL, 0);

		printf("pid %d rip %#lx\n", getpid(), (unsigned long)rvmm_traced_cpuid);
		fflush(stdout);
		for (long i = 0; i < n; i++)
			traced_cpuid(leaf);
		return 0;
	}
	if (!strcmp(argv[2], "kexec") && argc == 6)
		return kexec(argv[3], argv[4], argv[5], 0);
	if (!strcmp(argv[2], "kexec-crash") && argc == 6)
		return kexec(argv[3], argv[4], argv[5], KEXEC_FILE_ON_CRASH);
	if (!strcmp(argv[2], "write-partial") && argc == 5)
		return write_partial(argv[3], argv[4]);
	if (!strcmp(argv[2], "load-race") && argc == 6)
		return load_race(cpu, argv[3], argv[4], atol(argv[5]));
	if (!strcmp(argv[2], "cpuid-at-4gib"))
		return cpuid_at_4gib();
	if (!strcmp(argv[2], "cpuid-at-64kib"))
		return cpuid_at_64kib();
	if (!strcmp(argv[2], "step-cpuid"))
		return step_cpuid();
	if (!strcmp(argv[2], "step-cpuid-loop") && argc == 5)
		return step_cpuid_loop(atol(argv[3]), strtoul(argv[4], NULL, 0));
	if (!strcmp(argv[2], "stale-ldt") && argc == 5 && (!strcmp(argv[3], "fs") || !strcmp(argv[3], "gs")))
		return stale_ldt(argv[3], atol(argv[4]));
	if (!strcmp(argv[2], "exec") && argc == 4)
		return run_instruction(argv[3]);
	if (!strcmp(argv[2], "wrmsr") && argc == 5) {
		uint64_t value = strtoull(argv[4], NULL, 0);
		int fd = open_cpu_device(cpu, "msr", O_WRONLY);

		if (fd < 0 || pwrite(fd, &value, 8, strtoul(argv[3], NULL, 0)) != 8)
			printf("%s\n", strerror(errno));
		else
			puts("written");
		return 0;
	}
	if (!strcmp(argv[2], "kernel-cpuid") && argc == 4) {
		uint32_t r[4];
		int fd = open_cpu_device(cpu, "cpuid", O_RDONLY);

		if (fd < 0 || pread(fd, r, sizeof(r), strtoul(argv[3], NULL, 0)) != sizeof(r)) {
			printf("%s\n", strerror(errno));
			return 1;
		}
		printf("%08x %08x %08x %08x\n", r[0], r[1], r[2], r[3]);
		return 0;
	}
	if (!strcmp(argv[2], "rdmsr") && (argc == 4 || argc == 5)) {
		unsigned long first = strtoul(argv[3], NULL, 0);
		unsigned long last = argc == 5 ? strtoul(argv[4], NULL, 0) : first;
		uint64_t value;
		int fd = open_cpu_device(cpu, "msr", O_RDONLY);

		if (fd < 0) {
			printf("open: %s\n", strerror(errno));
			return 1;
		}
		for (unsigned long msr = first; msr <= last; msr++) {
			if (argc == 5)
				printf("%#lx ", msr);
			if (pread(fd, &value, 8, msr) != 8)
				printf("%s\n", strerror(errno));
			else
				printf("%#llx\n", (unsigned long long)value);
		}
		return 0;
	}
	return usage();
}
