/* The Generic Event Device's register and line (see acpi_ged.h). */
#include "devices/acpi_ged.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

#define KNOWN_EVENTS                                                                               \
	(ACPI_GED_POWER_BUTTON | ACPI_GED_PCI_HOTPLUG | ACPI_GED_VMGENID | ACPI_GED_CPU_HOTPLUG)

/* A read of the register hands the pending events to the guest and forgets them. */
static void ged_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_ged *g = opaque;
	uint32_t v = 0;

	memset(data, 0, len);
	if (offset != 0 || len == 0)
		return;
	v = __atomic_exchange_n(&g->pending, 0, __ATOMIC_ACQ_REL);
	memcpy(data, &v, len < sizeof(v) ? len : sizeof(v)); /* little-endian host (x86) */
}

static void ged_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	(void)data;
	(void)len; /* read-only: the guest acknowledges an event by reading it */
}

static const struct io_ops acpi_ged_ops = {.read = ged_read, .write = ged_write};

int acpi_ged_attach(struct acpi_ged *g, struct io_bus *mmio, uint64_t base, struct irq_line irq)
{
	int err;

	*g = (struct acpi_ged){.irq = irq, .base = base};
	err = io_bus_register(mmio, base, ACPI_GED_SIZE, &acpi_ged_ops, g, "acpi-ged");
	if (err)
		log_error("acpi-ged: cannot claim MMIO 0x%llx: %s", (unsigned long long)base,
			  strerror(-err));
	return err;
}

void acpi_ged_detach(struct acpi_ged *g, struct io_bus *mmio)
{
	io_bus_unregister(mmio, g->base);
}

/* An edge: the line goes up and down again (the _CRS says Edge, ActiveHigh). */
static void pulse(struct acpi_ged *g)
{
	irq_line_set(&g->irq, 1);
	irq_line_set(&g->irq, 0);
}

int acpi_ged_event(struct acpi_ged *g, uint32_t bits)
{
	if (!bits || (bits & ~(uint32_t)KNOWN_EVENTS))
		return -EINVAL;
	__atomic_or_fetch(&g->pending, bits, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&g->events, 1, __ATOMIC_RELAXED);
	pulse(g);
	return 0;
}

uint32_t acpi_ged_pending(struct acpi_ged *g)
{
	return __atomic_load_n(&g->pending, __ATOMIC_ACQUIRE);
}

/* A saved edge may have reached the IOAPIC before the snapshot or not: pulsing again costs the
 * guest at most one _EVT run that reads 0, while not pulsing could leave the bits unread. */
int acpi_ged_set_pending(struct acpi_ged *g, uint32_t bits)
{
	if (bits & ~(uint32_t)KNOWN_EVENTS)
		return -EINVAL;
	__atomic_store_n(&g->pending, bits, __ATOMIC_RELEASE);
	if (bits)
		pulse(g);
	return 0;
}
