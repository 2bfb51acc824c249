// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel helpers rvmm needs that are static inline or macros in C, or whose structures the Rust
 * bindings lack, so Rust cannot call them.
 */
#include <linux/debugfs.h>
#include <linux/irq_work.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/syscore_ops.h>
#include <asm/apic.h>
#include <asm/asm.h>
#include <asm/desc.h>
#include <asm/gsseg.h>
#include <asm/msr.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>

u64 rvmm_page_to_phys(struct page *page);
struct page *rvmm_alloc_host_pgd(void);
void rvmm_free_host_pgd(struct page *page);
void rvmm_copy_kernel_pgd(struct page *dst);
void rvmm_reload_tr(void);
void rvmm_load_data_selectors(u16 ds, u16 es, u16 fs, u16 gs);
bool rvmm_kernel_uses_pti(void);
int rvmm_vmxon(u64 phys, u8 *cf, u8 *zf);

u64 rvmm_page_to_phys(struct page *page)
{
	return page_to_phys(page);
}

/*
 * The host page table, allocated as pgd_alloc() allocates every PGD under page-table isolation: two
 * pages, 8-KiB aligned. The kernel's NMI, #MC and #DB entries from kernel mode (paranoid_entry,
 * SAVE_AND_SWITCH_TO_KERNEL_CR3 in arch/x86/entry/calling.h) take bit 12 of CR3 for "user page
 * table" and clear it, so with that bit set an NMI in root mode would switch to the page below.
 * Order 1 on every kernel: the bit is then clear whatever the allocator returns.
 */
#define HOST_PGD_ORDER 1

struct page *rvmm_alloc_host_pgd(void)
{
	return alloc_pages(GFP_KERNEL | __GFP_ZERO, HOST_PGD_ORDER);
}

void rvmm_free_host_pgd(struct page *page)
{
	__free_pages(page, HOST_PGD_ORDER);
}

/*
 * The host CR3 must stay valid after the process that loaded rvmm is gone, and init_mm is not
 * exported: copy the kernel half of the current top-level table, as pgd_ctor() does for every new mm.
 * Those entries are shared by all address spaces and never change after boot.
 */
void rvmm_copy_kernel_pgd(struct page *dst)
{
	pgd_t *src = __va(read_cr3_pa());

	memcpy((pgd_t *)page_address(dst) + KERNEL_PGD_BOUNDARY,
	       src + KERNEL_PGD_BOUNDARY, KERNEL_PGD_PTRS * sizeof(pgd_t));
}

/*
 * VM exits set the TR limit to 0x67; reloading TR from the GDT restores Linux's (I/O bitmap).
 * force_reload_TR() cannot be used: it calls load_direct_gdt(), which only KVM may. LTR marks the
 * descriptor busy, a write the read-only fixmap GDT would fault on, so load through the writable
 * alias and go back to the fixmap GDT, as native_load_tr_desc() does.
 */
void rvmm_reload_tr(void)
{
	struct desc_struct *gdt = get_current_gdt_rw();
	struct desc_ptr writable = {
		.address = (unsigned long)gdt,
		.size = GDT_SIZE - 1,
	};
	tss_desc tss;

	memcpy(&tss, &gdt[GDT_ENTRY_TSS], sizeof(tss));
	tss.type = DESC_TSS;
	write_gdt_entry(gdt, GDT_ENTRY_TSS, &tss, DESC_TSS);
	native_load_gdt(&writable);
	asm volatile("ltr %w0" : : "q" (GDT_ENTRY_TSS * 8));
	load_fixmap_gdt(smp_processor_id());
	this_cpu_write(__tss_limit_invalid, false);
}

/*
 * VMXON with an exception-table entry, as the kernel's own (kvm_cpu_vmxon() in arch/x86/kvm/vmx/
 * vmx.c): it raises #GP where IA32_FEATURE_CONTROL forbids it and #UD without CR4.VMXE, which on a
 * CPU onlined or resumed with other firmware settings must fail the launch, not oops. Returns
 * -EFAULT for a fault, else 0 with VMfailInvalid in *cf and VMfailValid in *zf.
 */
int rvmm_vmxon(u64 phys, u8 *cf, u8 *zf)
{
	int err = 0;

	asm volatile("1: vmxon %[phys]\n\t"
		     "setc %[cf]\n\t"
		     "setz %[zf]\n"
		     "2:\n\t"
		     _ASM_EXTABLE_TYPE_REG(1b, 2b, EX_TYPE_EFAULT_REG, %[err])
		     : [err] "+r"(err), [cf] "=qm"(*cf), [zf] "=qm"(*zf)
		     : [phys] "m"(phys)
		     : "cc", "memory");
	return err;
}

/* Page-table isolation: user mode runs on its own CR3 (bit 12 set, and bit 11 with PCID). */
bool rvmm_kernel_uses_pti(void)
{
	return boot_cpu_has(X86_FEATURE_PTI);
}

/*
 * Loads the data-segment selectors a CPU had, each as a context switch does (loadseg() in
 * arch/x86/kernel/process_64.c): a selector whose descriptor is gone by now (an LDT entry that
 * modify_ldt() emptied while a thread's FS or GS still selected it) faults, and the exception-table
 * fixup loads the null selector instead. Loading GS also loads the inactive (user) GS base from the
 * descriptor: keep the value the interrupted task had. The caller restores the FS and GS bases.
 */
void rvmm_load_data_selectors(u16 ds, u16 es, u16 fs, u16 gs)
{
	u64 user_gs_base;

	loadsegment(ds, ds);
	loadsegment(es, es);
	loadsegment(fs, fs);
	if (gs) {
		rdmsrq(MSR_KERNEL_GS_BASE, user_gs_base);
		load_gs_index(gs);
		wrmsrq(MSR_KERNEL_GS_BASE, user_gs_base);
	}
}

/*
 * A CPU that rvmm handed to another hypervisor (rust/vcpu.rs, hand_over) says so once it takes
 * interrupts again: in root mode nothing may print, and irq_work_queue() is NMI-safe.
 */
void rvmm_report_yield(void);
void rvmm_sync_yield_reports(void);

static void report_yield(struct irq_work *work)
{
	pr_warn("rvmm: CPU%d: another hypervisor (such as kvm_intel) is taking VMX over, so rvmm left this CPU to it; unload one of them (rmmod rvmm) and load only one at a time\n",
		smp_processor_id());
}

static DEFINE_PER_CPU(struct irq_work, yield_report) = IRQ_WORK_INIT_HARD(report_yield);

void rvmm_report_yield(void)
{
	irq_work_queue(this_cpu_ptr(&yield_report));
}

/* Before unload: no report may still be queued to run in this module's text. */
void rvmm_sync_yield_reports(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		irq_work_sync(per_cpu_ptr(&yield_report, cpu));
}

/*
 * An INIT that exited (rust/vcpu.rs, reset_by_init), raised again once this CPU is out of VMX
 * operation: INIT to its own APIC ID, as Linux sends INIT to a CPU it boots (smpboot.c). Root mode,
 * interrupts off: only this CPU's APIC registers are touched. The kernel's apic_icr_write() is a
 * static call not exported to modules, so the ICR is written here, as its two drivers do.
 */
void rvmm_send_init_to_self(void);

void rvmm_send_init_to_self(void)
{
	u32 init = APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT;

	if (x2apic_mode) {
		u64 id;

		rdmsrq(APIC_BASE_MSR + (APIC_ID >> 4), id);
		wrmsrq(APIC_BASE_MSR + (APIC_ICR >> 4), id << 32 | init);
	} else {
		native_apic_mem_write(APIC_ICR2,
				      SET_XAPIC_DEST_FIELD(native_apic_mem_read(APIC_ID) >> 24));
		native_apic_mem_write(APIC_ICR, init);
	}
}

/*
 * Suspend, resume and shutdown (reboot, power-off, kexec) of the whole system, as KVM follows them:
 * struct syscore is not in the Rust bindings. The callbacks are rust/hotplug.rs's.
 */
int rvmm_syscore_suspend(void);
void rvmm_syscore_resume(void);
void rvmm_syscore_shutdown(void);
void rvmm_register_syscore(void);
void rvmm_unregister_syscore(void);

static int rvmm_suspend(void *data)
{
	return rvmm_syscore_suspend();
}

static void rvmm_resume(void *data)
{
	rvmm_syscore_resume();
}

static void rvmm_shutdown(void *data)
{
	rvmm_syscore_shutdown();
}

static const struct syscore_ops rvmm_syscore_ops = {
	.suspend = rvmm_suspend,
	.resume = rvmm_resume,
	.shutdown = rvmm_shutdown,
};

static struct syscore rvmm_syscore = {
	.ops = &rvmm_syscore_ops,
};

void rvmm_register_syscore(void)
{
	register_syscore(&rvmm_syscore);
}

void rvmm_unregister_syscore(void)
{
	unregister_syscore(&rvmm_syscore);
}

/*
 * /sys/kernel/debug/rvmm/exits, whose contents rust/exits_file.rs provides, and the latency and trace
 * files, rust/observer_files.rs's. Created here because the kernel crate's debugfs files have no
 * owner: with .owner set, an open file holds the module, so its release never runs in unloaded code.
 */
int rvmm_exits_show(struct seq_file *m, const void *counters);
ssize_t rvmm_exits_write(const void *counters, unsigned long buf, size_t len);
int rvmm_observer_show(struct seq_file *m, const void *hypervisor, int kind);
ssize_t rvmm_observer_write(const void *hypervisor, int kind, unsigned long buf, size_t len);
void rvmm_seq_print_symbol(struct seq_file *m, unsigned long address);
struct dentry *rvmm_debugfs_create(const void *counters, const void *hypervisor);
void rvmm_debugfs_remove(struct dentry *dir);

static int exits_show(struct seq_file *m, void *unused)
{
	return rvmm_exits_show(m, m->private);
}

static int exits_open(struct inode *inode, struct file *file)
{
	return single_open(file, exits_show, inode->i_private);
}

static ssize_t exits_write(struct file *file, const char __user *buf, size_t len, loff_t *ppos)
{
	struct seq_file *m = file->private_data;

	return rvmm_exits_write(m->private, (unsigned long)buf, len);
}

static const struct file_operations rvmm_exits_fops = {
	.owner = THIS_MODULE,
	.open = exits_open,
	.read = seq_read,
	.write = exits_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* Kinds as rust/observer_files.rs numbers them. */
#define RVMM_LATENCY	0
#define RVMM_TRACE	1

#define RVMM_OBSERVER_FILE(name, kind)							\
static int name##_show(struct seq_file *m, void *unused)				\
{											\
	return rvmm_observer_show(m, m->private, kind);					\
}											\
											\
static int name##_open(struct inode *inode, struct file *file)				\
{											\
	return single_open(file, name##_show, inode->i_private);			\
}											\
											\
static ssize_t name##_write(struct file *file, const char __user *buf, size_t len,	\
			    loff_t *ppos)						\
{											\
	struct seq_file *m = file->private_data;					\
											\
	return rvmm_observer_write(m->private, kind, (unsigned long)buf, len);		\
}											\
											\
static const struct file_operations rvmm_##name##_fops = {				\
	.owner = THIS_MODULE,								\
	.open = name##_open,								\
	.read = seq_read,								\
	.write = name##_write,								\
	.llseek = seq_lseek,								\
	.release = single_release,							\
}

RVMM_OBSERVER_FILE(latency, RVMM_LATENCY);
RVMM_OBSERVER_FILE(trace, RVMM_TRACE);

/* A kernel RIP of the exit trace, symbolized at read time, never in root mode. */
void rvmm_seq_print_symbol(struct seq_file *m, unsigned long address)
{
	seq_printf(m, "%pS\n", (void *)address);
}

struct dentry *rvmm_debugfs_create(const void *counters, const void *hypervisor)
{
	struct dentry *dir = debugfs_create_dir("rvmm", NULL);

	debugfs_create_file("exits", 0600, dir, (void *)counters, &rvmm_exits_fops);
	debugfs_create_file("latency", 0600, dir, (void *)hypervisor, &rvmm_latency_fops);
	debugfs_create_file("trace", 0600, dir, (void *)hypervisor, &rvmm_trace_fops);
	return dir;
}

void rvmm_debugfs_remove(struct dentry *dir)
{
	debugfs_remove(dir);
}
