/* Intel MP Specification 1.4 table writer (structures and rules in mptable.h).
 *
 * Layout at `addr`: floating pointer (16 bytes), then the configuration table header and its
 * entries sorted by type (§4.3): processors, buses, IOAPIC, I/O interrupts, local interrupts.
 *
 * ISA IRQ n is wired to IOAPIC pin n, IRQ 0 included. Real chipsets put the PIT on pin 2 and
 * QEMU installs GSI routing that matches, but our VMM keeps the routing KVM_CREATE_IRQCHIP
 * installs, in which GSI n (the in-kernel PIT raises GSI 0) drives IOAPIC pin n. Telling the
 * guest "IRQ 0 -> pin 2" would make its timer check look at a pin nothing drives. */
#include "firmware/x86/mptable.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"

/* Linux scans for the floating pointer in the last KiB of the 640 KiB base memory and in the BIOS
 * ROM area (MP spec 4): a table must end inside the area it starts in. */
#define MP_BASE_MEM_END 0xA0000ULL
#define MP_BIOS_START	0xF0000ULL
#define MP_BIOS_END	0x100000ULL

static uint64_t mp_area_end(uint64_t addr)
{
	return addr >= MP_BIOS_START && addr < MP_BIOS_END ? MP_BIOS_END : MP_BASE_MEM_END;
}
#define MP_ISA_IRQS 16
#define MP_MAX_CPUS 254 /* 8-bit APIC IDs, 0xFF is broadcast, and the IOAPIC takes ID ncpus */

struct mp_irq mptable_pci_irq(int dev, int intx, int pin)
{
	return (struct mp_irq){.bus = MP_BUS_PCI,
			       .bus_irq = (uint8_t)((dev << 2) | (intx & 3)),
			       .pin = (uint8_t)pin,
			       .flags = MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_LOW};
}

static bool pin_claimed(const struct mp_irq *extra, int nextra, int pin)
{
	for (int i = 0; i < nextra; i++)
		if (extra[i].pin == pin)
			return true;
	return false;
}

static int count_isa_entries(const struct mp_irq *extra, int nextra)
{
	int n = 0;

	for (int irq = 0; irq < MP_ISA_IRQS; irq++)
		n += !pin_claimed(extra, nextra, irq);
	return n;
}

uint64_t mptable_size(int ncpus, const struct mp_irq *extra, int nextra)
{
	uint64_t nint = (uint64_t)count_isa_entries(extra, nextra) + (uint64_t)nextra;

	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       (uint64_t)ncpus * sizeof(struct mpc_cpu) + 2 * sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (nint + 2) * sizeof(struct mpc_intsrc);
}

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (uint8_t)-sum;
}

static int check_extra(const struct mp_irq *extra, int nextra)
{
	const uint16_t valid_flags = 0xF;

	if (nextra < 0 || (nextra > 0 && !extra))
		return -EINVAL;
	for (int i = 0; i < nextra; i++) {
		const struct mp_irq *e = &extra[i];

		if (e->pin >= IOAPIC_PINS || (e->bus != MP_BUS_ISA && e->bus != MP_BUS_PCI) ||
		    (e->flags & ~valid_flags) || (e->flags & 3) == 2 || (e->flags & 0xC) == 8) {
			log_error(
			    "mptable: bad interrupt entry %d (bus %u irq %u pin %u flags %#x)", i,
			    e->bus, e->bus_irq, e->pin, e->flags);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_args(uint64_t addr, int ncpus, const struct mp_irq *extra, int nextra)
{
	uint64_t end;

	if (ncpus < 1 || ncpus > MP_MAX_CPUS) {
		log_error("mptable: %d CPUs: must be 1..%d", ncpus, MP_MAX_CPUS);
		return -EINVAL;
	}
	if (addr & 15) {
		log_error("mptable: address %#llx is not 16-byte aligned (MP spec 4.1)",
			  (unsigned long long)addr);
		return -EINVAL;
	}
	if (check_extra(extra, nextra))
		return -EINVAL;
	uint64_t size = mptable_size(ncpus, extra, nextra);
	if (__builtin_add_overflow(addr, size, &end) || end > mp_area_end(addr)) {
		log_error("mptable: %d CPUs and %d extra interrupts need %llu bytes at %#llx, past "
			  "the end of its area (%#llx): too many CPUs",
			  ncpus, nextra, (unsigned long long)size, (unsigned long long)addr,
			  (unsigned long long)mp_area_end(addr));
		return -ENOSPC;
	}
	return 0;
}

/* Appends entries to a host buffer holding the whole table. */
struct mp_writer {
	uint8_t *p;
	uint16_t count;
};

static void put(struct mp_writer *w, const void *entry, size_t len)
{
	memcpy(w->p, entry, len);
	w->p += len;
	w->count++;
}

static void put_cpus(struct mp_writer *w, int ncpus)
{
	for (int i = 0; i < ncpus; i++) {
		struct mpc_cpu c = {
		    .type = MP_PROCESSOR,
		    .apicid = (uint8_t)i,
		    .apicver = MP_LAPIC_VERSION,
		    .cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
		    .cpufeature = 0x600,  /* family 6: informational only */
		    .featureflag = 0x201, /* CPUID.1:EDX FPU (bit 0) and APIC (bit 9) */
		};
		put(w, &c, sizeof(c));
	}
}

static void put_buses_and_ioapic(struct mp_writer *w, int ncpus)
{
	struct mpc_bus pci = {.type = MP_BUS, .busid = MP_BUS_PCI};
	struct mpc_bus isa = {.type = MP_BUS, .busid = MP_BUS_ISA};
	struct mpc_ioapic io = {.type = MP_IOAPIC,
				.apicid = (uint8_t)ncpus,
				.apicver = MP_IOAPIC_VERSION,
				.flags = MP_IOAPIC_ENABLED,
				.apicaddr = (uint32_t)IOAPIC_BASE};

	memcpy(pci.bustype, "PCI   ", 6);
	memcpy(isa.bustype, "ISA   ", 6);
	put(w, &pci, sizeof(pci));
	put(w, &isa, sizeof(isa));
	put(w, &io, sizeof(io));
}

static void put_intsrc(struct mp_writer *w, uint8_t type, uint8_t irqtype, uint16_t flags,
		       uint8_t bus, uint8_t bus_irq, uint8_t dst, uint8_t pin)
{
	struct mpc_intsrc s = {.type = type,
			       .irqtype = irqtype,
			       .irqflag = flags,
			       .srcbus = bus,
			       .srcbusirq = bus_irq,
			       .dstapic = dst,
			       .dstirq = pin};
	put(w, &s, sizeof(s));
}

static void put_interrupts(struct mp_writer *w, uint8_t ioapic_id, const struct mp_irq *extra,
			   int nextra)
{
	for (int irq = 0; irq < MP_ISA_IRQS; irq++)
		if (!pin_claimed(extra, nextra, irq))
			put_intsrc(w, MP_INTSRC, MP_IRQ_INT, MP_IRQ_POL_BUS | MP_IRQ_TRIG_BUS,
				   MP_BUS_ISA, (uint8_t)irq, ioapic_id, (uint8_t)irq);
	for (int i = 0; i < nextra; i++)
		put_intsrc(w, MP_INTSRC, MP_IRQ_INT, extra[i].flags, extra[i].bus, extra[i].bus_irq,
			   ioapic_id, extra[i].pin);
	/* Virtual wire mode (§3.6.2.2): the 8259 output reaches every LAPIC's LINT0, NMI LINT1. */
	put_intsrc(w, MP_LINTSRC, MP_IRQ_EXTINT, 0, MP_BUS_ISA, 0, 0xFF, 0);
	put_intsrc(w, MP_LINTSRC, MP_IRQ_NMI, 0, MP_BUS_ISA, 0, 0xFF, 1);
}

static void fill_header(struct mpc_table *h, uint16_t length, uint16_t count)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, "PCMP", 4);
	h->length = length;
	h->spec_rev = 4;
	memcpy(h->oem, "KVMVMM  ", 8);
	memcpy(h->productid, "x86_64 VMM  ", 12);
	h->count = count;
	h->lapic = (uint32_t)LAPIC_BASE;
}

static void fill_floating(struct mpf_intel *f, uint64_t table_addr)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->signature, "_MP_", 4);
	f->physptr = (uint32_t)table_addr;
	f->length = 1;
	f->spec_rev = 4;
	f->checksum = checksum(f, sizeof(*f));
}

int mptable_write(struct guest_mem *mem, uint64_t addr, int ncpus, const struct mp_irq *extra,
		  int nextra)
{
	int err = check_args(addr, ncpus, extra, nextra);
	if (err)
		return err;

	uint64_t size = mptable_size(ncpus, extra, nextra);
	uint8_t *buf = guest_mem_ptr(mem, addr, size);
	if (!buf) {
		log_error("mptable: [%#llx, +%llu) is not guest RAM", (unsigned long long)addr,
			  (unsigned long long)size);
		return -EFAULT;
	}
	memset(buf, 0, size);

	struct mpc_table *h = (struct mpc_table *)(buf + sizeof(struct mpf_intel));
	struct mp_writer w = {.p = (uint8_t *)(h + 1)};
	put_cpus(&w, ncpus);
	put_buses_and_ioapic(&w, ncpus);
	put_interrupts(&w, (uint8_t)ncpus, extra, nextra);

	fill_header(h, (uint16_t)(w.p - (uint8_t *)h), w.count);
	h->checksum = checksum(h, h->length);
	fill_floating((struct mpf_intel *)buf, addr + sizeof(struct mpf_intel));
	return 0;
}
