/* The ACPI PCI hotplug registers and their per-slot state machine (see acpi_pcihp.h). */
#include "devices/pci/acpi_pcihp.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

static uint32_t slot_bit(const struct acpi_pcihp *h, int slot)
{
	if (slot <= 0 || slot >= 32)
		return 0;
	return h->slots & (1u << slot);
}

static uint32_t load(const uint32_t *v)
{
	return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

static void pcihp_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pcihp *h = opaque;
	uint32_t v = 0;

	memset(data, 0, len);
	if (len != 4)
		return;
	/* A read hands the pending notifications to PCNT, which reads each register once. */
	if (offset == ACPI_PCIHP_PCIU)
		v = __atomic_exchange_n(&h->up, 0, __ATOMIC_ACQ_REL);
	else if (offset == ACPI_PCIHP_PCID)
		v = __atomic_exchange_n(&h->down, 0, __ATOMIC_ACQ_REL);
	memcpy(data, &v, sizeof(v)); /* little-endian host (x86) */
}

static void pcihp_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pcihp *h = opaque;
	uint32_t v;

	if (len != 4 || offset != ACPI_PCIHP_B0EJ)
		return;
	memcpy(&v, data, sizeof(v));
	uint32_t asked = __atomic_fetch_and(&h->requested, ~v, __ATOMIC_ACQ_REL) & v;
	if (asked)
		__atomic_or_fetch(&h->released, asked, __ATOMIC_ACQ_REL);
	if (v & ~asked)
		log_debug("acpi-pcihp: the guest ejected slots 0x%x nobody asked for: ignored",
			  v & ~asked);
}

const struct io_ops acpi_pcihp_ops = {.read = pcihp_read, .write = pcihp_write};

void acpi_pcihp_init(struct acpi_pcihp *h, uint32_t slots)
{
	*h = (struct acpi_pcihp){.slots = slots & ~1u};
}

int acpi_pcihp_attach(struct acpi_pcihp *h, struct io_bus *mmio, uint64_t base, uint32_t slots)
{
	acpi_pcihp_init(h, slots);
	h->base = base;
	int err = io_bus_register(mmio, base, ACPI_PCIHP_SIZE, &acpi_pcihp_ops, h, "acpi-pcihp");
	if (err)
		log_error("acpi-pcihp: cannot claim MMIO 0x%llx: %s", (unsigned long long)base,
			  strerror(-err));
	return err;
}

void acpi_pcihp_detach(struct acpi_pcihp *h, struct io_bus *mmio)
{
	io_bus_unregister(mmio, h->base);
}

int acpi_pcihp_plug(struct acpi_pcihp *h, int slot)
{
	uint32_t bit = slot_bit(h, slot);
	if (!bit)
		return -EINVAL;
	if ((load(&h->requested) | load(&h->released)) & bit)
		return -EBUSY;
	__atomic_or_fetch(&h->up, bit, __ATOMIC_ACQ_REL);
	return 0;
}

int acpi_pcihp_request_unplug(struct acpi_pcihp *h, int slot)
{
	uint32_t bit = slot_bit(h, slot);
	if (!bit)
		return -EINVAL;
	if (__atomic_fetch_or(&h->requested, bit, __ATOMIC_ACQ_REL) & bit)
		return -EALREADY;
	__atomic_and_fetch(&h->up, ~bit, __ATOMIC_ACQ_REL); /* a check not read yet is moot */
	__atomic_or_fetch(&h->down, bit, __ATOMIC_ACQ_REL);
	return 0;
}

bool acpi_pcihp_released(struct acpi_pcihp *h, int slot)
{
	uint32_t bit = slot_bit(h, slot);
	return bit && (load(&h->released) & bit);
}

void acpi_pcihp_cancel(struct acpi_pcihp *h, int slot)
{
	uint32_t bit = slot_bit(h, slot);
	__atomic_and_fetch(&h->requested, ~bit, __ATOMIC_ACQ_REL);
	__atomic_and_fetch(&h->down, ~bit, __ATOMIC_ACQ_REL);
}

void acpi_pcihp_clear(struct acpi_pcihp *h, int slot)
{
	uint32_t bit = slot_bit(h, slot);
	acpi_pcihp_cancel(h, slot);
	__atomic_and_fetch(&h->released, ~bit, __ATOMIC_ACQ_REL);
	__atomic_and_fetch(&h->up, ~bit, __ATOMIC_ACQ_REL);
}
