// SPDX-License-Identifier: GPL-2.0
/*
 * workload: what the benchmark runs in user space, in one process so that its own start-up (static
 * glibc runs CPUID a few dozen times) is not measured.
 *
 *   workload syscalls        TSC ticks per getppid() and per CPUID (leaf 0) in user mode: the median
 *                            of CALLS, each timed alone
 *   workload idle SECONDS    VM exits counted in /sys/kernel/debug/rvmm/exits while sleeping
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define CALLS	1001

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The median ticks of one OP, each timed alone, in a loop of the same shape for every OP (Bochs
 * counts instructions): the empty one measures the rdtsc pair's own cost.
 */
#define MEDIAN_TICKS(OP)						\
	({								\
		static uint64_t ticks[CALLS];				\
									\
		for (int i = 0; i < CALLS; i++) {			\
			_mm_lfence();					\
			uint64_t start = __rdtsc();			\
									\
			_mm_lfence();					\
			OP;						\
			_mm_lfence();					\
			ticks[i] = __rdtsc() - start;			\
		}							\
		qsort(ticks, CALLS, sizeof(ticks[0]), cmp_u64);		\
		ticks[CALLS / 2];					\
	})

static inline void cpuid_leaf0(void)
{
	unsigned int eax = 0, ebx, ecx = 0, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
}

/*
 * The median, not the mean: a call that a timer interrupt lands in is not what a call costs. A
 * user-mode CPUID exits under rvmm from CPL 3, the path that pays for clearing CPU buffers.
 */
static int syscalls(void)
{
	uint64_t empty = MEDIAN_TICKS((void)0);
	uint64_t getppid = MEDIAN_TICKS(syscall(SYS_getppid));
	uint64_t cpuid = MEDIAN_TICKS(cpuid_leaf0());

	printf("ticks_per_syscall %llu\n", (unsigned long long)(getppid - empty));
	printf("user_cpuid %llu\n", (unsigned long long)(cpuid - empty));
	return 0;
}

/* The sum of every CPU's total in the exits table: its last column, after the header line. */
static long long exits_total(void)
{
	FILE *f = fopen("/sys/kernel/debug/rvmm/exits", "r");
	char line[1024];
	long long sum = 0;

	if (!f) {
		perror("/sys/kernel/debug/rvmm/exits");
		exit(1);
	}
	if (!fgets(line, sizeof(line), f))
		exit(1);
	while (fgets(line, sizeof(line), f)) {
		char *last = strrchr(line, ' ');

		sum += atoll(last ? last : line);
	}
	fclose(f);
	return sum;
}

static int idle(unsigned int seconds)
{
	long long before = exits_total();
	struct timespec duration = { .tv_sec = seconds };

	nanosleep(&duration, NULL);
	printf("idle_exits %lld\n", exits_total() - before);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "syscalls"))
		return syscalls();
	if (argc == 3 && !strcmp(argv[1], "idle"))
		return idle(atoi(argv[2]));
	fprintf(stderr, "usage: workload syscalls | idle SECONDS\n");
	return 2;
}
