/* The machine description and its generic generators (see machine.h; x86's:
 * firmware/x86/machine_x86.c). */
#include "firmware/machine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"

#define UART_PORTS	     8
#define UART_CLOCK_HZ	     1843200  /* the PC's 1.8432 MHz UART crystal */
#define PRIMECELL_SIZE	     KIB(4)   /* a PL011's or PL031's register page */
#define PL011_CLOCK	     24000000 /* UARTCLK: the APB clock of the device tree, 24 MHz */
#define ECAM_BUS_SIZE	     MIB(1)   /* PCIe 4.0 §7.2.2: 32 devices x 8 functions x 4 KiB */
#define VIRTIO_MMIO_MIN_SIZE 0x100

void machine_init(struct machine *m)
{
	memset(m, 0, sizeof(*m));
}

static int fail(struct machine *m, int err)
{
	if (!m->err)
		m->err = err;
	return err;
}

/* [base, base + size) non-empty and without wrap-around (end may be 2^64 exactly: no). */
static bool range_ok(uint64_t base, uint64_t size)
{
	uint64_t end;
	return size && !__builtin_add_overflow(base, size, &end);
}

static bool overlaps(const struct machine_range *r, uint64_t base, uint64_t size)
{
	return base < r->base + r->size && r->base < base + size;
}

int machine_add_ram(struct machine *m, uint64_t base, uint64_t size)
{
	if (!range_ok(base, size))
		return fail(m, -EINVAL);
	for (int i = 0; i < m->nram; i++)
		if (overlaps(&m->ram[i], base, size))
			return fail(m, -EINVAL);
	if (m->nram == MACHINE_MAX_RAM)
		return fail(m, -ENOSPC);
	m->ram[m->nram++] = (struct machine_range){base, size};
	return 0;
}

int machine_add_guest_ram(struct machine *m, const struct guest_mem *mem)
{
	for (int i = 0; i < mem->nregions; i++) {
		int err = machine_add_ram(m, mem->regions[i].gpa, mem->regions[i].size);
		if (err)
			return err;
	}
	return 0;
}

int machine_add_cpu(struct machine *m, uint32_t apic_id)
{
	for (int i = 0; i < m->ncpus; i++)
		if (m->cpu_ids[i] == apic_id)
			return fail(m, -EINVAL);
	if (m->ncpus == MACHINE_MAX_CPUS)
		return fail(m, -ENOSPC);
	m->cpu_ids[m->ncpus++] = apic_id;
	return 0;
}

int machine_add_cpus(struct machine *m, int n)
{
	if (n < 1)
		return fail(m, -EINVAL);
	for (int i = 0; i < n; i++) {
		int err = machine_add_cpu(m, machine_arch_cpu_id(i));
		if (err)
			return err;
	}
	return 0;
}

int machine_set_intc(struct machine *m, uint64_t base, uint32_t id, uint32_t pins,
		     uint64_t lapic_base)
{
	if (!range_ok(base, KIB(4)) || pins == 0 || pins > MACHINE_MAX_INTC_PINS)
		return fail(m, -EINVAL);
	m->intc = (struct machine_intc){.present = true,
					.kind = MACHINE_INTC_IOAPIC,
					.base = base,
					.size = KIB(4),
					.id = id,
					.pins = pins,
					.local_base = lapic_base};
	return 0;
}

static bool apart(struct machine_range a, struct machine_range b)
{
	return !a.size || !b.size || a.base + a.size <= b.base || b.base + b.size <= a.base;
}

int machine_set_gicv3(struct machine *m, struct machine_range dist, struct machine_range redist,
		      struct machine_range its, uint32_t spis)
{
	if (!range_ok(dist.base, dist.size) || !range_ok(redist.base, redist.size) ||
	    (its.size && !range_ok(its.base, its.size)) || !apart(dist, redist) ||
	    !apart(dist, its) || !apart(redist, its) || spis == 0 || spis > MACHINE_MAX_INTC_PINS)
		return fail(m, -EINVAL);
	m->intc = (struct machine_intc){.present = true,
					.kind = MACHINE_INTC_GICV3,
					.base = dist.base,
					.size = dist.size,
					.pins = spis,
					.redist = redist,
					.its = its.size ? its : (struct machine_range){0, 0}};
	return 0;
}

int machine_set_gicv2(struct machine *m, struct machine_range dist, struct machine_range cpuif,
		      uint32_t spis)
{
	if (!range_ok(dist.base, dist.size) || !range_ok(cpuif.base, cpuif.size) ||
	    !apart(dist, cpuif) || spis == 0 || spis > MACHINE_MAX_INTC_PINS ||
	    m->ncpus > MACHINE_GICV2_MAX_CPUS)
		return fail(m, -EINVAL);
	m->intc = (struct machine_intc){.present = true,
					.kind = MACHINE_INTC_GICV2,
					.base = dist.base,
					.size = dist.size,
					.pins = spis,
					.cpuif = cpuif};
	return 0;
}

int machine_set_gicv2m(struct machine *m, struct machine_range frame, uint32_t first, uint32_t spis)
{
	struct machine_intc *c = &m->intc;
	struct machine_range dist = {c->base, c->size};
	if (!c->present || c->kind != MACHINE_INTC_GICV2 || !range_ok(frame.base, frame.size) ||
	    !apart(frame, dist) || !apart(frame, c->cpuif) || spis == 0 || first >= c->pins ||
	    spis > c->pins - first)
		return fail(m, -EINVAL);
	c->v2m = frame;
	c->v2m_first = first;
	c->v2m_spis = spis;
	return 0;
}

/* An interrupt line on input `pin`: the controller must exist and have that input. */
static int make_irq(struct machine *m, uint32_t pin, uint8_t trigger, uint8_t polarity,
		    struct machine_irq *out)
{
	if (!m->intc.present || pin >= m->intc.pins)
		return fail(m, -EINVAL);
	*out = (struct machine_irq){pin, trigger, polarity};
	return 0;
}

int machine_add_uart(struct machine *m, uint16_t port, uint32_t pin)
{
	struct machine_irq irq;
	if (make_irq(m, pin, MACHINE_IRQ_EDGE, MACHINE_IRQ_HIGH, &irq))
		return m->err;
	if (m->nuarts == MACHINE_MAX_UARTS)
		return fail(m, -ENOSPC);
	m->uarts[m->nuarts++] = (struct machine_uart){.space = MACHINE_SPACE_IO,
						      .base = port,
						      .size = UART_PORTS,
						      .clock_hz = UART_CLOCK_HZ,
						      .irq = irq};
	return 0;
}

/* An MMIO UART of `kind` in the next free slot. */
static int add_mmio_uart(struct machine *m, uint8_t kind, uint64_t base, uint64_t size,
			 uint32_t clock_hz, struct machine_irq irq)
{
	if (m->nuarts == MACHINE_MAX_UARTS)
		return fail(m, -ENOSPC);
	m->uarts[m->nuarts++] = (struct machine_uart){.space = MACHINE_SPACE_MEM,
						      .kind = kind,
						      .base = base,
						      .size = size,
						      .clock_hz = clock_hz,
						      .irq = irq};
	return 0;
}

int machine_add_pl011(struct machine *m, uint64_t base, uint32_t pin)
{
	struct machine_irq irq;
	if (!range_ok(base, PRIMECELL_SIZE))
		return fail(m, -EINVAL);
	if (make_irq(m, pin, MACHINE_IRQ_LEVEL, MACHINE_IRQ_HIGH, &irq))
		return m->err;
	return add_mmio_uart(m, MACHINE_UART_PL011, base, PRIMECELL_SIZE, PL011_CLOCK, irq);
}

int machine_set_pl031(struct machine *m, uint64_t base, uint32_t pin)
{
	struct machine_irq irq;
	if (!range_ok(base, PRIMECELL_SIZE))
		return fail(m, -EINVAL);
	if (make_irq(m, pin, MACHINE_IRQ_LEVEL, MACHINE_IRQ_HIGH, &irq))
		return m->err;
	m->pl031 = (struct machine_mmio_dev){base, PRIMECELL_SIZE, irq};
	return 0;
}

int machine_add_virtio_mmio(struct machine *m, uint64_t base, uint64_t size, uint32_t pin)
{
	struct machine_irq irq;
	if (!range_ok(base, size) || size < VIRTIO_MMIO_MIN_SIZE)
		return fail(m, -EINVAL);
	if (make_irq(m, pin, MACHINE_IRQ_LEVEL, MACHINE_IRQ_HIGH, &irq))
		return m->err;
	if (m->nvirtio_mmio == MACHINE_MAX_VIRTIO_MMIO)
		return fail(m, -ENOSPC);
	m->virtio_mmio[m->nvirtio_mmio++] = (struct machine_mmio_dev){base, size, irq};
	return 0;
}

int machine_set_pci(struct machine *m, uint64_t ecam_base, uint64_t ecam_size, uint64_t mem32_base,
		    uint64_t mem32_size, uint64_t io_base, uint64_t io_size)
{
	uint64_t buses = ecam_size / ECAM_BUS_SIZE;
	if (!range_ok(ecam_base, ecam_size) || ecam_size % ECAM_BUS_SIZE || buses > 256 ||
	    !range_ok(mem32_base, mem32_size) || mem32_base + mem32_size > 0x100000000ULL ||
	    (io_size && (!range_ok(io_base, io_size) || io_base + io_size > 0x10000)))
		return fail(m, -EINVAL);
	struct machine_pci *p = &m->pci;
	p->present = true;
	p->ecam = (struct machine_range){ecam_base, ecam_size};
	p->bus_first = 0;
	p->bus_last = (uint8_t)(buses - 1);
	p->mem32 = (struct machine_range){mem32_base, mem32_size};
	p->io = (struct machine_range){io_size ? io_base : 0, io_size};
	return 0;
}

int machine_set_pci_mem64(struct machine *m, uint64_t base, uint64_t size)
{
	if (!m->pci.present || (size && (!range_ok(base, size) || base < 0x100000000ULL)))
		return fail(m, -EINVAL);
	m->pci.mem64 = (struct machine_range){size ? base : 0, size};
	return 0;
}

int machine_set_pci_hotplug(struct machine *m, uint64_t base, uint32_t slots)
{
	if (!m->pci.present || !slots || (slots & 1u) || !range_ok(base, 16) ||
	    base + 16 > 0x100000000ULL)
		return fail(m, -EINVAL);
	m->pci.hotplug_base = base;
	m->pci.hotplug_slots = slots;
	return 0;
}

int machine_set_cpu_hotplug(struct machine *m, uint64_t base, int present)
{
	if (present < 1 || present > m->ncpus || !range_ok(base, 32) || base + 32 > 0x100000000ULL)
		return fail(m, -EINVAL);
	m->cpu_hotplug_base = base;
	m->cpus_present = present;
	return 0;
}

int machine_add_pci_intx(struct machine *m, uint8_t dev, uint8_t intx, uint32_t pin)
{
	struct machine_irq irq;
	if (!m->pci.present || dev > 31 || intx > 3)
		return fail(m, -EINVAL);
	if (make_irq(m, pin, MACHINE_IRQ_LEVEL, (uint8_t)machine_arch_intx_polarity(), &irq))
		return m->err;
	if (m->pci.nintx == MACHINE_MAX_PCI_INTX)
		return fail(m, -ENOSPC);
	m->pci.intx[m->pci.nintx++] = (struct machine_pci_intx){dev, intx, irq};
	return 0;
}

int machine_set_test_exit(struct machine *m, uint16_t port, uint16_t size)
{
	if (!size || (uint32_t)port + size > 0x10000)
		return fail(m, -EINVAL);
	m->test_exit = (struct machine_simple_dev){
	    .present = true, .space = MACHINE_SPACE_IO, .base = port, .size = size};
	return 0;
}

int machine_set_boot_timer(struct machine *m, uint64_t base, uint64_t size, uint16_t port)
{
	if (!range_ok(base, size))
		return fail(m, -EINVAL);
	m->boot_timer = (struct machine_simple_dev){
	    .present = true, .space = MACHINE_SPACE_MEM, .base = base, .size = size, .port = port};
	return 0;
}

void machine_set_i8042(struct machine *m)
{
	m->i8042 = true;
}

void machine_set_rtc(struct machine *m)
{
	m->rtc = true;
}

int machine_set_acpi_pm(struct machine *m, uint16_t port)
{
	if (port > 0xFFFE)
		return fail(m, -EINVAL);
	m->acpi_pm = (struct machine_simple_dev){
	    .present = true, .space = MACHINE_SPACE_IO, .base = port, .size = 2};
	return 0;
}

#define ACPI_PM1_PORTS 12 /* PM1_STS .. PM_TMR (devices/acpi_pm1.h) */

int machine_set_acpi_pm1(struct machine *m, uint16_t port, uint32_t sci_pin)
{
	struct machine_irq sci;
	if (port == 0 || port > 0x10000 - ACPI_PM1_PORTS || sci_pin >= 16)
		return fail(m, -EINVAL);
	if (make_irq(m, sci_pin, MACHINE_IRQ_LEVEL, MACHINE_IRQ_HIGH, &sci))
		return m->err;
	m->acpi_pm1 = (struct machine_acpi_pm1){.present = true, .base = port, .sci = sci};
	return 0;
}

int machine_set_acpi_ged(struct machine *m, uint64_t base, uint64_t size, uint32_t pin)
{
	struct machine_irq irq;
	if (!range_ok(base, size))
		return fail(m, -EINVAL);
	if (make_irq(m, pin, MACHINE_IRQ_EDGE, MACHINE_IRQ_HIGH, &irq))
		return m->err;
	m->acpi_ged = (struct machine_mmio_dev){base, size, irq};
	return 0;
}

int machine_set_vmgenid(struct machine *m, uint64_t gpa)
{
	if (!gpa || gpa % 8 || !range_ok(gpa, 16))
		return fail(m, -EINVAL);
	m->vmgenid = gpa;
	return 0;
}

void machine_set_vmgenid_by_firmware(struct machine *m)
{
	m->vmgenid = 0;
	m->vmgenid_by_firmware = true;
}

int machine_set_initrd(struct machine *m, uint64_t base, uint64_t size)
{
	if (size && !range_ok(base, size))
		return fail(m, -EINVAL);
	m->initrd = (struct machine_range){size ? base : 0, size};
	return 0;
}

void machine_set_cmdline(struct machine *m, const char *cmdline)
{
	m->cmdline = cmdline;
}

bool machine_counts_valid(const struct machine *m)
{
	return m->nram >= 0 && m->nram <= MACHINE_MAX_RAM && m->ncpus >= 0 &&
	       m->ncpus <= MACHINE_MAX_CPUS && m->nuarts >= 0 && m->nuarts <= MACHINE_MAX_UARTS &&
	       m->nvirtio_mmio >= 0 && m->nvirtio_mmio <= MACHINE_MAX_VIRTIO_MMIO &&
	       m->pci.nintx >= 0 && m->pci.nintx <= MACHINE_MAX_PCI_INTX;
}

/* ---- command line ---- */

/* Linux's memparse() syntax, as the current entries use it: "4K", "1M", or bytes. */
static void format_size(char *buf, size_t cap, uint64_t size)
{
	if (size % MIB(1) == 0)
		snprintf(buf, cap, "%lluM", (unsigned long long)(size >> 20));
	else if (size % KIB(1) == 0)
		snprintf(buf, cap, "%lluK", (unsigned long long)(size >> 10));
	else
		snprintf(buf, cap, "%llu", (unsigned long long)size);
}

int machine_cmdline(const struct machine *m, char *buf, size_t cap)
{
	const char *user = m->cmdline ? m->cmdline : "";
	size_t len = strlen(user);
	if (!machine_counts_valid(m))
		return -EINVAL;
	if (!cap || len >= cap || len > INT32_MAX)
		return -E2BIG;
	memmove(buf, user, len + 1);
	for (int i = 0; machine_arch_virtio_mmio_cmdline() && i < m->nvirtio_mmio; i++) {
		const struct machine_mmio_dev *d = &m->virtio_mmio[i];
		char size[24];
		format_size(size, sizeof(size), d->size);
		int n = snprintf(buf + len, cap - len, "%svirtio_mmio.device=%s@0x%llx:%u",
				 len ? " " : "", size, (unsigned long long)d->base, d->irq.pin);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[len] = '\0';
			return -E2BIG;
		}
		len += (size_t)n;
	}
	return (int)len;
}
