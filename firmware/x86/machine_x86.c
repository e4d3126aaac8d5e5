/* The machine description as x86's boot tables take it: the PVH memory map, the MP table (see
 * machine_x86.h); x86's interrupt controller, vCPU IDs, INTx polarity and reserved low memory
 * (firmware/machine.h). */
#include "firmware/x86/machine_x86.h"

#include <errno.h>

#include "base/layout.h"
#include "base/log.h"

int machine_set_arch_intc(struct machine *m)
{
	return machine_set_intc(m, IOAPIC_BASE, (uint32_t)m->ncpus, IOAPIC_PINS, LAPIC_BASE);
}

/* vmm/vm/vcpu.c gives vCPU i the APIC ID i. */
uint32_t machine_arch_cpu_id(int index)
{
	return (uint32_t)index;
}

enum machine_polarity machine_arch_intx_polarity(void)
{
	return MACHINE_IRQ_LOW;
}

bool machine_arch_virtio_mmio_cmdline(void)
{
	return true;
}

/* [EBDA_START, 0xA0000) is the EBDA a PC firmware would own; 0xA0000-0xFFFFF is the legacy VGA
 * and ROM area, where the MP table (MPTABLE_ADDR) and the ACPI tables (ACPI_ADDR) sit. Both must
 * stay out of the kernel's allocator whether or not RAM backs them. */
struct machine_range machine_arch_reserved(void)
{
	return (struct machine_range){.base = EBDA_START, .size = KERNEL_LOAD_ADDR - EBDA_START};
}

/* ---- e820 ---- */

struct e820_builder {
	struct boot_e820_entry *out;
	int max, n, err;
};

static void add_entry(struct e820_builder *b, uint64_t start, uint64_t end, uint32_t type)
{
	if (start >= end || b->err)
		return;
	if (b->n >= b->max) {
		b->err = -ENOSPC;
		return;
	}
	b->out[b->n++] = (struct boot_e820_entry){.addr = start, .size = end - start, .type = type};
}

/* [start, end) as RAM, minus the reserved window [rs, re) (x86: [EBDA_START, 1 MiB)). */
static void add_ram(struct e820_builder *b, uint64_t start, uint64_t end, uint64_t rs, uint64_t re)
{
	add_entry(b, start, end < rs ? end : rs, E820_RAM);
	add_entry(b, start > re ? start : re, end, E820_RAM);
}

/* Insertion sort by address: the table holds a handful of entries. */
static void sort_entries(struct boot_e820_entry *e, int n)
{
	for (int i = 1; i < n; i++) {
		struct boot_e820_entry cur = e[i];
		int j = i - 1;
		while (j >= 0 && e[j].addr > cur.addr) {
			e[j + 1] = e[j];
			j--;
		}
		e[j + 1] = cur;
	}
}

int machine_e820(const struct machine *m, struct boot_e820_entry *out, int max)
{
	struct e820_builder b = {.out = out, .max = max};
	if (!m || !out || max < 0 || !machine_counts_valid(m))
		return -EINVAL;
	struct machine_range r = machine_arch_reserved();
	for (int i = 0; i < m->nram; i++)
		add_ram(&b, m->ram[i].base, m->ram[i].base + m->ram[i].size, r.base,
			r.base + r.size);
	add_entry(&b, r.base, r.base + r.size, E820_RESERVED); /* none when r.size is 0 */
	if (b.err)
		return b.err;
	sort_entries(out, b.n);
	return b.n;
}

int machine_pvh_memmap(const struct machine *m, struct hvm_memmap_table_entry *out, int max)
{
	struct boot_e820_entry e820[MACHINE_MAX_RAM * 2 + 1];
	int n = machine_e820(m, e820, (int)(sizeof(e820) / sizeof(e820[0])));
	if (n < 0 || !out)
		return n < 0 ? n : -EINVAL;
	if (n > max)
		return -ENOSPC;
	for (int i = 0; i < n; i++)
		out[i] = (struct hvm_memmap_table_entry){
		    .addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type};
	return n;
}

/* ---- MP table ---- */

static uint16_t mp_flags(const struct machine_irq *irq)
{
	return (irq->trigger == MACHINE_IRQ_LEVEL ? MP_IRQ_TRIG_LEVEL : MP_IRQ_TRIG_EDGE) |
	       (irq->polarity == MACHINE_IRQ_LOW ? MP_IRQ_POL_LOW : MP_IRQ_POL_HIGH);
}

int machine_mp_irqs(const struct machine *m, struct mp_irq *out, int max)
{
	int n = 0;
	if (!machine_counts_valid(m))
		return -EINVAL;
	if (m->nvirtio_mmio + m->pci.nintx > max)
		return -ENOSPC;
	for (int i = 0; i < m->nvirtio_mmio; i++) {
		const struct machine_irq *irq = &m->virtio_mmio[i].irq;
		if (irq->pin >= IOAPIC_PINS)
			return -EINVAL;
		/* An ISA-bus source: the pin number doubles as the bus IRQ (mptable.h). */
		out[n++] = (struct mp_irq){MP_BUS_ISA, (uint8_t)irq->pin, (uint8_t)irq->pin,
					   mp_flags(irq)};
	}
	for (int i = 0; i < m->pci.nintx; i++) {
		const struct machine_pci_intx *x = &m->pci.intx[i];
		if (x->irq.pin >= IOAPIC_PINS)
			return -EINVAL;
		out[n] = mptable_pci_irq(x->dev, x->intx, (int)x->irq.pin);
		out[n++].flags = mp_flags(&x->irq);
	}
	return n;
}

int machine_write_mptable(const struct machine *m, struct guest_mem *mem, uint64_t addr)
{
	struct mp_irq irqs[MACHINE_MAX_VIRTIO_MMIO + MACHINE_MAX_PCI_INTX];
	bool ok = machine_counts_valid(m) && m->intc.present && m->intc.id == (uint32_t)m->ncpus &&
		  m->intc.base == IOAPIC_BASE && m->intc.local_base == LAPIC_BASE;
	for (int i = 0; ok && i < m->ncpus; i++)
		ok = m->cpu_ids[i] == (uint32_t)i;
	int n = ok ? machine_mp_irqs(m, irqs, (int)(sizeof(irqs) / sizeof(irqs[0]))) : -EINVAL;
	if (n < 0) {
		log_error("mptable: the machine description cannot be expressed as an MP table "
			  "(APIC IDs 0..n-1, IOAPIC ID n at %#llx, interrupts on its pins)",
			  IOAPIC_BASE);
		return n;
	}
	return mptable_write(mem, addr, m->ncpus, irqs, n);
}
