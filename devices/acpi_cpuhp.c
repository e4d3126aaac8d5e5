/* The ACPI CPU hotplug registers and each vCPU's state machine (see acpi_cpuhp.h). */
#include "devices/acpi_cpuhp.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

static uint64_t cpu_bit(const struct acpi_cpuhp *h, unsigned cpu)
{
	if (cpu == 0 || cpu >= h->max) /* vCPU 0 boots and stays */
		return 0;
	return 1ull << cpu;
}

static uint64_t load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

/* Takes one 32-bit half of a pending bitmap (the read acknowledges what it returns). */
static uint32_t take_half(uint64_t *v, bool high)
{
	uint64_t mask = high ? 0xFFFFFFFF00000000ull : 0xFFFFFFFFull;
	uint64_t old = __atomic_fetch_and(v, ~mask, __ATOMIC_ACQ_REL);
	return (uint32_t)((old & mask) >> (high ? 32 : 0));
}

static void cpuhp_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_cpuhp *h = opaque;
	uint32_t v = 0;

	memset(data, 0, len);
	if (len != 4)
		return;
	switch (offset) {
	case ACPI_CPUHP_CINL:
	case ACPI_CPUHP_CINH:
		v = take_half(&h->up, offset == ACPI_CPUHP_CINH);
		break;
	case ACPI_CPUHP_CRML:
	case ACPI_CPUHP_CRMH:
		v = take_half(&h->down, offset == ACPI_CPUHP_CRMH);
		break;
	case ACPI_CPUHP_CPRL:
		v = (uint32_t)load(&h->present);
		break;
	case ACPI_CPUHP_CPRH:
		v = (uint32_t)(load(&h->present) >> 32);
		break;
	default:
		break;
	}
	memcpy(data, &v, sizeof(v)); /* little-endian host (x86) */
}

static void cpuhp_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_cpuhp *h = opaque;
	uint32_t cpu;

	if (len != 4 || offset != ACPI_CPUHP_CEJ0)
		return;
	memcpy(&cpu, data, sizeof(cpu));
	uint64_t bit = cpu_bit(h, cpu);
	if (!bit || !(__atomic_fetch_and(&h->requested, ~bit, __ATOMIC_ACQ_REL) & bit)) {
		log_debug("acpi-cpuhp: the guest ejected vCPU %u nobody asked for: ignored", cpu);
		return;
	}
	__atomic_and_fetch(&h->present, ~bit, __ATOMIC_ACQ_REL);
	__atomic_or_fetch(&h->released, bit, __ATOMIC_ACQ_REL);
}

const struct io_ops acpi_cpuhp_ops = {.read = cpuhp_read, .write = cpuhp_write};

int acpi_cpuhp_init(struct acpi_cpuhp *h, unsigned max, unsigned present)
{
	if (max < 1 || max > ACPI_CPUHP_MAX_CPUS || present < 1 || present > max)
		return -EINVAL;
	*h = (struct acpi_cpuhp){.max = max};
	h->present = present == 64 ? ~0ull : (1ull << present) - 1;
	return 0;
}

int acpi_cpuhp_attach(struct acpi_cpuhp *h, struct io_bus *mmio, uint64_t base, unsigned max,
		      unsigned present)
{
	int err = acpi_cpuhp_init(h, max, present);
	if (err) {
		log_error("acpi-cpuhp: %u of %u vCPUs: out of range", present, max);
		return err;
	}
	h->base = base;
	err = io_bus_register(mmio, base, ACPI_CPUHP_SIZE, &acpi_cpuhp_ops, h, "acpi-cpuhp");
	if (err)
		log_error("acpi-cpuhp: cannot claim MMIO 0x%llx: %s", (unsigned long long)base,
			  strerror(-err));
	return err;
}

void acpi_cpuhp_detach(struct acpi_cpuhp *h, struct io_bus *mmio)
{
	io_bus_unregister(mmio, h->base);
}

int acpi_cpuhp_plug(struct acpi_cpuhp *h, unsigned cpu)
{
	uint64_t bit = cpu_bit(h, cpu);
	if (!bit)
		return -EINVAL;
	if ((load(&h->requested) | load(&h->released)) & bit)
		return -EBUSY;
	if (__atomic_fetch_or(&h->present, bit, __ATOMIC_ACQ_REL) & bit)
		return -EEXIST;
	__atomic_or_fetch(&h->up, bit, __ATOMIC_ACQ_REL);
	return 0;
}

int acpi_cpuhp_request_unplug(struct acpi_cpuhp *h, unsigned cpu)
{
	uint64_t bit = cpu_bit(h, cpu);
	if (!bit || !(load(&h->present) & bit))
		return -EINVAL;
	if (__atomic_fetch_or(&h->requested, bit, __ATOMIC_ACQ_REL) & bit)
		return -EALREADY;
	__atomic_and_fetch(&h->up, ~bit, __ATOMIC_ACQ_REL); /* a check not read yet is moot */
	__atomic_or_fetch(&h->down, bit, __ATOMIC_ACQ_REL);
	return 0;
}

bool acpi_cpuhp_released(struct acpi_cpuhp *h, unsigned cpu)
{
	uint64_t bit = cpu_bit(h, cpu);
	return bit && (load(&h->released) & bit);
}

bool acpi_cpuhp_cancel(struct acpi_cpuhp *h, unsigned cpu)
{
	uint64_t bit = cpu_bit(h, cpu);
	/* whoever clears the request bit owns the outcome: this call (the vCPU stays) or the
	 * guest's CEJ0 (it is ejected) */
	bool taken = __atomic_fetch_and(&h->requested, ~bit, __ATOMIC_ACQ_REL) & bit;
	__atomic_and_fetch(&h->down, ~bit, __ATOMIC_ACQ_REL);
	return taken;
}

void acpi_cpuhp_clear(struct acpi_cpuhp *h, unsigned cpu)
{
	uint64_t bit = cpu_bit(h, cpu);
	(void)acpi_cpuhp_cancel(h, cpu);
	__atomic_and_fetch(&h->released, ~bit, __ATOMIC_ACQ_REL);
	__atomic_and_fetch(&h->up, ~bit, __ATOMIC_ACQ_REL);
	__atomic_and_fetch(&h->present, ~bit, __ATOMIC_ACQ_REL);
}

uint64_t acpi_cpuhp_present(struct acpi_cpuhp *h)
{
	return load(&h->present);
}

bool acpi_cpuhp_busy(struct acpi_cpuhp *h)
{
	return (load(&h->up) | load(&h->down) | load(&h->requested) | load(&h->released)) != 0;
}
