// SPDX-License-Identifier: GPL-2.0
/*
 * What the selftests ask of the CPU, one instruction at a time, pinned to one CPU:
 *
 *   rvmm_probe CPU cpuid LEAF [SUBLEAF]   print EAX EBX ECX EDX in hex and the signature as text
 *   rvmm_probe CPU cpuid-loop N LEAF      execute CPUID N times
 *   rvmm_probe CPU vmcall|vmread          execute it at CPL 3; print "SIGILL" if it raised #UD
 *   rvmm_probe CPU rdmsr MSR              read through /dev/cpu/CPU/msr; print the value or the errno
 *   rvmm_probe CPU step-cpuid             single-step over CPUID; print where the first trap hit
 *   rvmm_probe CPU kexec KERNEL INITRD CMDLINE
 *                                         boot KERNEL with kexec_file_load(2); returns only on failure
 *   rvmm_probe CPU write-partial FILE TEXT
 *                                         one write(2) of TEXT and the byte after it, which is unmapped;
 *                                         print the errno or the count written
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf fault;

static void on_sigill(int sig)
{
	siglongjmp(fault, sig);
}

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	asm volatile("cpuid"
		     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(subleaf));
}

static int try_instruction(const char *name)
{
	struct sigaction sa = { .sa_handler = on_sigill };

	sigaction(SIGILL, &sa, NULL);
	if (sigsetjmp(fault, 1)) {
		puts("SIGILL");
		return 0;
	}
	if (!strcmp(name, "vmcall")) {
		asm volatile("vmcall" : : "a"(0) : "memory");
	} else {
		uint64_t value, field = 0x4402;

		asm volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
	}
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

static int kexec(const char *kernel, const char *initrd, const char *cmdline)
{
	int kernel_fd = open(kernel, O_RDONLY), initrd_fd = open(initrd, O_RDONLY);

	if (kernel_fd < 0 || initrd_fd < 0) {
		perror("open");
		return 1;
	}
	if (syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, strlen(cmdline) + 1, cmdline, 0)) {
		perror("kexec_file_load");
		return 1;
	}
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

static int usage(void)
{
	fprintf(stderr, "usage: rvmm_probe CPU cpuid LEAF [SUBLEAF] | cpuid-loop N LEAF | vmcall | vmread | rdmsr MSR | step-cpuid | kexec KERNEL INITRD CMDLINE | write-partial FILE TEXT\n");
	return 2;
}

int main(int argc, char **argv)
{
	cpu_set_t set;
	int cpu;

	if (argc < 3)
		return usage();
	cpu = atoi(argv[1]);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
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
	if (!strcmp(argv[2], "kexec") && argc == 6)
		return kexec(argv[3], argv[4], argv[5]);
	if (!strcmp(argv[2], "write-partial") && argc == 5)
		return write_partial(argv[3], argv[4]);
	if (!strcmp(argv[2], "step-cpuid"))
		return step_cpuid();
	if (!strcmp(argv[2], "vmcall") || !strcmp(argv[2], "vmread"))
		return try_instruction(argv[2]);
	if (!strcmp(argv[2], "rdmsr") && argc == 4) {
		char path[64];
		uint64_t value;
		int fd;

		snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("open: %s\n", strerror(errno));
			return 1;
		}
		if (pread(fd, &value, 8, strtoul(argv[3], NULL, 0)) != 8)
			printf("%s\n", strerror(errno));
		else
			printf("%#llx\n", (unsigned long long)value);
		return 0;
	}
	return usage();
}
