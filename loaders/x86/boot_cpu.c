/* Initial CPU state for the Linux 64-bit and PVH 32-bit entries (see boot_cpu.h). */
#include "loaders/x86/boot_cpu.h"

#include <errno.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"

#define PAGE_SIZE  4096ULL
#define PDPT_ADDR  (BOOT_PML4_ADDR + PAGE_SIZE)
#define PD_ADDR	   (BOOT_PML4_ADDR + 2 * PAGE_SIZE)
#define NUM_PDS	   4 /* 4 x 1 GiB */
#define PT_ENTRIES 512

/* Descriptor access bytes (SDM vol. 3 §3.4.5): present, DPL 0, S=1, type. */
#define SEG_TYPE_CODE_RX_ACCESSED 0xB
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define SEG_TYPE_TSS_BUSY	  0xB

/* Flat 4 GiB segment: limit 0xFFFFF in 4 KiB units, base 0. */
static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, int long_mode)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xFFFFFFFF,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = long_mode ? 0 : 1, /* D must be 0 when L is 1 */
	    .s = 1,
	    .l = long_mode ? 1 : 0,
	    .g = 1,
	};
}

/* Packs a kvm_segment into an 8-byte GDT descriptor (SDM vol. 3 Figure 3-8). */
static uint64_t gdt_entry(const struct kvm_segment *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;

	return (limit & 0xFFFF) | ((s->base & 0xFFFFFF) << 16) | ((uint64_t)s->type << 40) |
	       ((uint64_t)s->s << 44) | ((uint64_t)s->dpl << 45) | ((uint64_t)s->present << 47) |
	       (((limit >> 16) & 0xF) << 48) | ((uint64_t)s->avl << 52) | ((uint64_t)s->l << 53) |
	       ((uint64_t)s->db << 54) | ((uint64_t)s->g << 55) | (((s->base >> 24) & 0xFF) << 56);
}

static int write_gdt(struct guest_mem *mem, const struct kvm_segment *cs,
		     const struct kvm_segment *ds, struct kvm_sregs *sregs)
{
	uint64_t gdt[BOOT_GDT_ENTRIES] = {0, 0, gdt_entry(cs), gdt_entry(ds)};
	uint64_t idt = 0;

	/* An empty IDT right after the GDT: any exception before the kernel loads its own
	 * ends in a triple fault, which the VMM reports, rather than in a random vector. */
	if (guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)) ||
	    guest_mem_write(mem, BOOT_IDT_ADDR, &idt, sizeof(idt)))
		return -EFAULT;
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = BOOT_IDT_ADDR;
	sregs->idt.limit = sizeof(idt) - 1;
	return 0;
}

static void set_segments(struct kvm_sregs *sregs, const struct kvm_segment *cs,
			 const struct kvm_segment *ds)
{
	sregs->cs = *cs;
	sregs->ds = *ds;
	sregs->es = *ds;
	sregs->fs = *ds;
	sregs->gs = *ds;
	sregs->ss = *ds;
}

/* Identity map of [0, 4 GiB) with 2 MiB pages: PML4[0] -> PDPT, PDPT[i] -> PD i. */
static int write_page_tables(struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4_ADDR, PAGE_SIZE);
	uint64_t *pdpt = guest_mem_ptr(mem, PDPT_ADDR, PAGE_SIZE);
	uint64_t *pd = guest_mem_ptr(mem, PD_ADDR, NUM_PDS * PAGE_SIZE);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < NUM_PDS; i++)
		pdpt[i] = (PD_ADDR + i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < NUM_PDS * PT_ENTRIES; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_PS;
	return 0;
}

static int setup_linux64(struct guest_mem *mem, const struct boot_entry *e, struct kvm_sregs *sregs,
			 struct kvm_regs *regs)
{
	struct kvm_segment cs = flat_segment(BOOT_GDT_CS, SEG_TYPE_CODE_RX_ACCESSED, 1);
	struct kvm_segment ds = flat_segment(BOOT_GDT_DS, SEG_TYPE_DATA_RW_ACCESSED, 0);

	if (write_gdt(mem, &cs, &ds, sregs) || write_page_tables(mem))
		return -EFAULT;
	set_segments(sregs, &cs, &ds);
	sregs->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
	regs->rsi = e->boot_info; /* boot.rst: "%rsi must hold the base address of boot_params" */
	return 0;
}

static int setup_pvh32(struct guest_mem *mem, const struct boot_entry *e, struct kvm_sregs *sregs,
		       struct kvm_regs *regs)
{
	struct kvm_segment cs = flat_segment(BOOT_GDT_CS, SEG_TYPE_CODE_RX_ACCESSED, 0);
	struct kvm_segment ds = flat_segment(BOOT_GDT_DS, SEG_TYPE_DATA_RW_ACCESSED, 0);

	if (write_gdt(mem, &cs, &ds, sregs))
		return -EFAULT;
	set_segments(sregs, &cs, &ds);
	/* pvh.pandoc: "tr: must be a 32-bit TSS (active) with a base of '0' and a limit of
	 * '0x67'". */
	sregs->tr = (struct kvm_segment){.limit = 0x67, .type = SEG_TYPE_TSS_BUSY, .present = 1};
	sregs->cr0 = CR0_PE | CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
	regs->rbx = e->boot_info; /* pvh.pandoc: "ebx: contains the physical memory address
				     where the loader has placed the boot start info" */
	return 0;
}

int boot_cpu_setup(struct guest_mem *mem, const struct boot_entry *e, struct kvm_sregs *sregs,
		   struct kvm_regs *regs)
{
	int err;

	memset(regs, 0, sizeof(*regs));
	switch (e->mode) {
	case BOOT_MODE_LINUX64:
		err = setup_linux64(mem, e, sregs, regs);
		break;
	case BOOT_MODE_PVH32:
		err = setup_pvh32(mem, e, sregs, regs);
		break;
	default:
		log_error("boot: unknown boot mode %d", (int)e->mode);
		return -EINVAL;
	}
	if (err) {
		log_error("boot: low memory for the GDT/page tables is not RAM");
		return err;
	}
	regs->rip = e->entry;
	regs->rflags = 2; /* bit 1 is reserved and reads as 1; IF clear */
	return 0;
}
