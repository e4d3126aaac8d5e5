#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "firmware/x86/mptable.h"

#define RAM_SIZE MIB(1)

static struct guest_mem mem;
static uint8_t *ram;

static void setup(void)
{
	ram = malloc(RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0xAA, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram, RAM_SIZE), 0);
}

static void teardown(void)
{
	free(ram);
}

TestSuite(mptable, .init = setup, .fini = teardown);

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static const struct mpf_intel *floating(void)
{
	return (const struct mpf_intel *)(ram + MPTABLE_ADDR);
}

static const struct mpc_table *table(void)
{
	return (const struct mpc_table *)(ram + floating()->physptr);
}

/* Entry that follows `p` (entries are 20 bytes for processors, 8 for the rest). */
static const uint8_t *next(const uint8_t *p)
{
	return p + (p[0] == MP_PROCESSOR ? sizeof(struct mpc_cpu) : 8);
}

static void assert_checksums(void)
{
	cr_assert_eq(sum((const uint8_t *)floating(), 16), 0, "floating pointer checksum");
	cr_assert_eq(sum((const uint8_t *)table(), table()->length), 0, "config table checksum");
}

static void assert_intsrc(const uint8_t *p, uint8_t type, uint8_t irqtype, uint16_t flags,
			  uint8_t bus, uint8_t bus_irq, uint8_t dst, uint8_t pin)
{
	const struct mpc_intsrc *s = (const struct mpc_intsrc *)p;

	cr_assert_eq(s->type, type);
	cr_assert_eq(s->irqtype, irqtype);
	cr_assert_eq(s->irqflag, flags, "flags %#x want %#x", s->irqflag, flags);
	cr_assert_eq(s->srcbus, bus);
	cr_assert_eq(s->srcbusirq, bus_irq);
	cr_assert_eq(s->dstapic, dst);
	cr_assert_eq(s->dstirq, pin);
}

Test(mptable, struct_sizes_match_the_spec)
{
	cr_assert_eq(sizeof(struct mpf_intel), 16);
	cr_assert_eq(sizeof(struct mpc_table), 44);
	cr_assert_eq(sizeof(struct mpc_cpu), 20);
	cr_assert_eq(sizeof(struct mpc_bus), 8);
	cr_assert_eq(sizeof(struct mpc_ioapic), 8);
	cr_assert_eq(sizeof(struct mpc_intsrc), 8);
}

Test(mptable, one_cpu_exact_layout)
{
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, NULL, 0), 0);
	const struct mpf_intel *f = floating();
	cr_assert_eq(memcmp(f->signature, "_MP_", 4), 0);
	cr_assert_eq(f->physptr, MPTABLE_ADDR + 16);
	cr_assert_eq(f->length, 1);
	cr_assert_eq(f->spec_rev, 4);
	cr_assert_eq(f->feature1, 0);
	cr_assert_eq(f->feature2, 0);

	const struct mpc_table *t = table();
	cr_assert_eq(memcmp(t->signature, "PCMP", 4), 0);
	cr_assert_eq(t->spec_rev, 4);
	cr_assert_eq(t->count, 1 + 2 + 1 + 16 + 2);
	cr_assert_eq(t->length, 44 + 20 + 16 + 8 + 18 * 8);
	cr_assert_eq(t->length + 16, mptable_size(1, NULL, 0));
	cr_assert_eq(t->lapic, LAPIC_BASE);
	cr_assert_eq(t->ext_table_length, 0);
	assert_checksums();

	const uint8_t *p = (const uint8_t *)(t + 1);
	const struct mpc_cpu *c = (const struct mpc_cpu *)p;
	cr_assert_eq(c->type, MP_PROCESSOR);
	cr_assert_eq(c->apicid, 0);
	cr_assert_eq(c->apicver, 0x14);
	cr_assert_eq(c->cpuflag, MP_CPU_ENABLED | MP_CPU_BSP);

	p = next(p);
	const struct mpc_bus *b = (const struct mpc_bus *)p;
	cr_assert_eq(b->type, MP_BUS);
	cr_assert_eq(b->busid, 0);
	cr_assert_eq(memcmp(b->bustype, "PCI   ", 6), 0);
	p = next(p);
	b = (const struct mpc_bus *)p;
	cr_assert_eq(b->busid, 1);
	cr_assert_eq(memcmp(b->bustype, "ISA   ", 6), 0);

	p = next(p);
	const struct mpc_ioapic *io = (const struct mpc_ioapic *)p;
	cr_assert_eq(io->type, MP_IOAPIC);
	cr_assert_eq(io->apicid, 1, "IOAPIC id = ncpus");
	cr_assert_eq(io->apicver, 0x11);
	cr_assert_eq(io->flags, MP_IOAPIC_ENABLED);
	cr_assert_eq(io->apicaddr, IOAPIC_BASE);

	for (int irq = 0; irq < 16; irq++) {
		p = next(p);
		assert_intsrc(p, MP_INTSRC, MP_IRQ_INT, 0, MP_BUS_ISA, irq, 1, irq);
	}
	p = next(p);
	assert_intsrc(p, MP_LINTSRC, MP_IRQ_EXTINT, 0, MP_BUS_ISA, 0, 0xFF, 0);
	p = next(p);
	assert_intsrc(p, MP_LINTSRC, MP_IRQ_NMI, 0, MP_BUS_ISA, 0, 0xFF, 1);
	cr_assert_eq(next(p), (const uint8_t *)t + t->length);
	cr_assert_leq(MPTABLE_ADDR + 16 + t->length, MPTABLE_END);
	cr_assert_eq(ram[MPTABLE_ADDR + 16 + t->length], 0xAA, "nothing written past the end");
}

Test(mptable, four_cpus_one_bsp)
{
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 4, NULL, 0), 0);
	const struct mpc_cpu *c = (const struct mpc_cpu *)(table() + 1);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(c[i].apicid, i);
		cr_assert_eq(c[i].cpuflag, i == 0 ? 3 : 1);
	}
	const struct mpc_ioapic *io = (const struct mpc_ioapic *)((const uint8_t *)(c + 4) + 16);
	cr_assert_eq(io->type, MP_IOAPIC);
	cr_assert_eq(io->apicid, 4);
	assert_checksums();
}

/* A virtio-mmio window's entry as firmware/machine.c makes it: ISA bus, IRQ = pin, level/high
 * (virtio 1.2 4.2.2: the line stays up until the driver acknowledges it). */
static struct mp_irq virtio_mmio_irq(int window)
{
	uint8_t pin = (uint8_t)VIRTIO_MMIO_IRQ(window);
	return (struct mp_irq){.bus = MP_BUS_ISA,
			       .bus_irq = pin,
			       .pin = pin,
			       .flags = MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_HIGH};
}

Test(mptable, virtio_mmio_entries_replace_isa_defaults)
{
	struct mp_irq irqs[VIRTIO_MMIO_MAX];

	for (int i = 0; i < VIRTIO_MMIO_MAX; i++)
		irqs[i] = virtio_mmio_irq(i);
	cr_assert_eq(irqs[0].pin, 5);
	cr_assert_eq(irqs[3].pin, 9);
	cr_assert_eq(irqs[13].pin, 19);
	cr_assert_eq(irqs[13].flags, MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_HIGH);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 2, irqs, VIRTIO_MMIO_MAX), 0);
	assert_checksums();

	const struct mpc_table *t = table();
	/* Pins 5, 6, 7, 9-15 are claimed: ISA IRQs 0-4 and 8 keep their default entry. */
	cr_assert_eq(t->count, 2 + 2 + 1 + 6 + 14 + 2);
	cr_assert_eq(t->length + 16, mptable_size(2, irqs, VIRTIO_MMIO_MAX));
	const uint8_t *p = (const uint8_t *)(t + 1) + 2 * 20 + 2 * 8 + 8;
	static const uint8_t isa[] = {0, 1, 2, 3, 4, 8};
	for (int i = 0; i < 6; i++, p += 8)
		assert_intsrc(p, MP_INTSRC, MP_IRQ_INT, 0, MP_BUS_ISA, isa[i], 2, isa[i]);
	for (int i = 0; i < VIRTIO_MMIO_MAX; i++, p += 8)
		assert_intsrc(p, MP_INTSRC, MP_IRQ_INT, 0xD, MP_BUS_ISA, VIRTIO_MMIO_IRQ(i), 2,
			      VIRTIO_MMIO_IRQ(i));
	cr_assert_eq(p + 16, (const uint8_t *)t + t->length);
}

Test(mptable, pci_intx_entry)
{
	struct mp_irq irq = mptable_pci_irq(3, 1, 21);

	cr_assert_eq(irq.bus, MP_BUS_PCI);
	cr_assert_eq(irq.bus_irq, (3 << 2) | 1);
	cr_assert_eq(irq.pin, 21);
	cr_assert_eq(irq.flags, MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_LOW);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, &irq, 1), 0);
	const uint8_t *t = (const uint8_t *)table();
	/* After cpu, 2 buses, ioapic, 16 ISA entries. */
	assert_intsrc(t + 44 + 20 + 24 + 16 * 8, MP_INTSRC, MP_IRQ_INT, 0xF, MP_BUS_PCI, 13, 1, 21);
	assert_checksums();
}

/* A table in the last KiB of base memory holds 39 CPUs; one in the BIOS area every APIC ID. */
#define BASE_MEM_TABLE 0x9FC00ULL
Test(mptable, cpu_count_limits)
{
	int max =
	    (int)((0xA0000 - BASE_MEM_TABLE - mptable_size(0, NULL, 0)) / sizeof(struct mpc_cpu));

	cr_assert_eq(max, 39);
	cr_assert_eq(mptable_write(&mem, BASE_MEM_TABLE, max, NULL, 0), 0);
	cr_assert_eq(mptable_write(&mem, BASE_MEM_TABLE, max + 1, NULL, 0), -ENOSPC);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 254, NULL, 0), 0);
	assert_checksums();
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 0, NULL, 0), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, -1, NULL, 0), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 255, NULL, 0), -EINVAL);
}

Test(mptable, extra_entries_reduce_the_cpu_limit)
{
	struct mp_irq irqs[18];

	for (int i = 0; i < 18; i++)
		irqs[i] = mptable_pci_irq(i, 0, 20 + i % 4);
	cr_assert_eq(mptable_write(&mem, BASE_MEM_TABLE, 32, irqs, 18), 0);
	cr_assert_eq(mptable_write(&mem, BASE_MEM_TABLE, 33, irqs, 18), -ENOSPC);
}

Test(mptable, bad_arguments)
{
	struct mp_irq bad_pin = {.bus = MP_BUS_ISA, .pin = IOAPIC_PINS};
	struct mp_irq bad_bus = {.bus = 7, .pin = 5};
	struct mp_irq bad_flags = {.bus = MP_BUS_ISA, .pin = 5, .flags = 0x2};
	struct mp_irq bad_trig = {.bus = MP_BUS_ISA, .pin = 5, .flags = 0x8};
	struct mp_irq high_bits = {.bus = MP_BUS_ISA, .pin = 5, .flags = 0x10};

	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, &bad_pin, 1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, &bad_bus, 1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, &bad_flags, 1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, &bad_trig, 1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, &high_bits, 1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, NULL, 1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 1, NULL, -1), -EINVAL);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR + 8, 1, NULL, 0), -EINVAL, "unaligned");
	cr_assert_eq(ram[MPTABLE_ADDR], 0xAA, "nothing written on error");
}

Test(mptable, not_ram)
{
	struct guest_mem small = {0};

	cr_assert_eq(guest_mem_add_region(&small, 0, ram, KIB(64)), 0);
	cr_assert_eq(mptable_write(&small, MPTABLE_ADDR, 1, NULL, 0), -EFAULT);
}

Test(mptable, sixty_four_cpus_and_every_interrupt_fit_the_bios_area)
{
	struct mp_irq irqs[VIRTIO_MMIO_MAX + 16];
	int n = 0;
	for (int i = 0; i < VIRTIO_MMIO_MAX; i++)
		irqs[n++] = virtio_mmio_irq(i);
	for (int d = 1; d <= 16; d++)
		irqs[n++] = mptable_pci_irq(d, 0, PCI_INTX_IRQ_BASE + d % 4);
	struct guest_mem mem = {0};
	static uint8_t ram[2 << 20];
	cr_assert_eq(guest_mem_add_region(&mem, 0, ram, sizeof(ram)), 0);
	cr_assert_eq(mptable_write(&mem, MPTABLE_ADDR, 64, irqs, n), 0);
	cr_assert_leq(MPTABLE_ADDR + mptable_size(64, irqs, n), MPTABLE_END);
	cr_assert_eq(memcmp(ram + MPTABLE_ADDR, "_MP_", 4), 0);
}
