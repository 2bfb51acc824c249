// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_bench: the operations rvmm_bench measures, in a KVM guest, for the side-by-side table.
 *
 * A minimal VMM on the KVM API: one VM, one vCPU, 64 KiB of guest memory. The guest runs flat
 * 32-bit protected-mode code without paging (KVM runs it as an unrestricted guest) that measures each
 * operation REPEATS times between LFENCE;RDTSC pairs, as rvmm_bench's rdtsc_ordered() does, stores
 * the deltas in guest memory and halts. The VMM prints "kvm-bench: NAME TICKS" per operation: the
 * least delta less the least of the empty measurement. Not the median, as rvmm_bench takes: a KVM
 * guest cannot keep the host's interrupts off, so the host's timer interrupt exits in the middle of
 * some measurements (under Bochs a tick comes every few thousand instructions, as often as one in
 * two of the hardened kernel's CPUID exits), and the least is the exit alone. rvmm_bench measures
 * with interrupts off, where its median is its least. The guest's TSC is the host's plus an offset,
 * so under Bochs with `clock: sync=none` the ticks are emulated instructions, as for rvmm.
 *
 * Operations: CPUID leaf 0 and leaf 0x40000000 (both exit and are answered from the CPUID table the
 * VMM set, as KVM_GET_SUPPORTED_CPUID gave it), VMCALL (an unknown hypercall: KVM returns -ENOSYS in
 * the guest, without leaving the kernel) and RDMSR of IA32_FEATURE_CONTROL (intercepted and emulated
 * by kvm_intel), each a round trip into the host kernel and back, as under rvmm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define REPEATS		101
#define MEM_SIZE	0x10000
#define CODE		0x1000
#define RESULTS		0x8000

static void die(const char *what)
{
	fprintf(stderr, "kvm_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One measured operation: its name (rvmm_bench's) and its x86 bytes (32-bit code). */
static const struct op {
	const char *name;
	unsigned char bytes[8];
	unsigned int len;
} ops[] = {
	{ "empty", { 0 }, 0 },
	/* xor eax,eax; xor ecx,ecx; cpuid */
	{ "cpuid_leaf0", { 0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2 }, 6 },
	/* mov eax,0x40000000; xor ecx,ecx; cpuid */
	{ "cpuid_rvmm_leaf", { 0xb8, 0x00, 0x00, 0x00, 0x40, 0x0f, 0xa2 }, 7 },
	/* xor eax,eax; vmcall */
	{ "vmcall_ping", { 0x31, 0xc0, 0x0f, 0x01, 0xc1 }, 5 },
	/* mov ecx,0x3a; rdmsr */
	{ "rdmsr_feature_control", { 0xb9, 0x3a, 0x00, 0x00, 0x00, 0x0f, 0x32 }, 7 },
};
#define OPS (sizeof(ops) / sizeof(ops[0]))

static unsigned char *emit(unsigned char *p, const void *bytes, size_t len)
{
	memcpy(p, bytes, len);
	return p + len;
}

/*
 * For each op: mov ebp, RESULTS + op * REPEATS * 4; mov edi, REPEATS; then REPEATS times:
 * lfence; rdtsc; mov esi,eax; OP; lfence; rdtsc; sub eax,esi; mov [ebp],eax; add ebp,4; dec edi;
 * jnz back. Finally hlt, which ends KVM_RUN with KVM_EXIT_HLT (no in-kernel APIC).
 */
static void write_guest_code(unsigned char *mem)
{
	static const unsigned char lfence_rdtsc[] = { 0x0f, 0xae, 0xe8, 0x0f, 0x31 };
	static const unsigned char save_start[] = { 0x89, 0xc6 };
	static const unsigned char store_delta[] = { 0x29, 0xf0, 0x89, 0x45, 0x00, 0x83, 0xc5, 0x04, 0x4f };
	unsigned char *p = mem + CODE, *loop;
	unsigned int i;
	uint32_t imm;

	for (i = 0; i < OPS; i++) {
		imm = RESULTS + i * REPEATS * 4;
		*p++ = 0xbd;
		p = emit(p, &imm, 4);
		imm = REPEATS;
		*p++ = 0xbf;
		p = emit(p, &imm, 4);
		loop = p;
		p = emit(p, lfence_rdtsc, sizeof(lfence_rdtsc));
		p = emit(p, save_start, sizeof(save_start));
		p = emit(p, ops[i].bytes, ops[i].len);
		p = emit(p, lfence_rdtsc, sizeof(lfence_rdtsc));
		p = emit(p, store_delta, sizeof(store_delta));
		*p++ = 0x75;	/* jnz rel8 */
		*p = (unsigned char)(loop - (p + 1));
		p++;
	}
	*p = 0xf4;
}

static void flat_segment(struct kvm_segment *s, unsigned int type, unsigned int selector)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* The guest answers CPUID as KVM would for a VMM that passes on what KVM supports. */
static void set_cpuid(int kvm, int vcpu)
{
	struct kvm_cpuid2 *cpuid;
	int n = 100;

	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
	if (!cpuid)
		die("calloc");
	cpuid->nent = n;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2");
	free(cpuid);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The least delta of @op, and how many of its measurements took longer than twice that. */
static uint32_t least(unsigned char *mem, unsigned int op, unsigned int *slow)
{
	uint32_t d[REPEATS];
	unsigned int i;

	memcpy(d, mem + RESULTS + op * REPEATS * 4, sizeof(d));
	qsort(d, REPEATS, sizeof(d[0]), cmp_u32);
	for (*slow = 0, i = 0; i < REPEATS; i++)
		*slow += d[i] > 2 * d[0];
	return d[0];
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, run_size;
	unsigned char *mem;
	unsigned int i, slow;
	uint32_t empty;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm (is kvm_intel loaded?)");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest memory");
	write_guest_code(mem);
	region = (struct kvm_userspace_memory_region) {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	set_cpuid(kvm, vcpu);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

	/* Flat 32-bit protected mode, paging off, interrupts off. */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cr0 |= 1;
	flat_segment(&sregs.cs, 11, 0x8);
	flat_segment(&sregs.ds, 3, 0x10);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		die("KVM_RUN");
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvm_bench: the guest stopped with exit reason %u, not HLT\n",
			run->exit_reason);
		return 1;
	}
	empty = least(mem, 0, &slow);
	printf("kvm-bench: rdtsc_overhead %u\n", empty);
	for (i = 1; i < OPS; i++) {
		printf("kvm-bench: %s %u\n", ops[i].name, least(mem, i, &slow) - empty);
		/* What the least leaves out: measurements an interrupt made at least twice as long. */
		printf("kvm-bench: note %s %u of %u measurements took over twice the least\n",
		       ops[i].name, slow, REPEATS);
	}
	return 0;
}
