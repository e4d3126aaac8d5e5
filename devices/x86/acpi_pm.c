/* ACPI sleep control and status registers (see acpi_pm.h). */
#include "devices/x86/acpi_pm.h"

#include <string.h>

#include "base/log.h"

#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK  0x7
#define SLP_EN	      0x20

enum acpi_pm_request acpi_pm_decode(uint8_t control)
{
	if (!(control & SLP_EN))
		return ACPI_PM_NONE;
	if (((control >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == ACPI_PM_S5_TYPE)
		return ACPI_PM_POWEROFF;
	return ACPI_PM_UNSUPPORTED_SLEEP;
}

static void pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *p = opaque;
	uint8_t control = len ? *(const uint8_t *)data : 0;

	if (offset != 0)
		return; /* the status register: WAK_STS is never set, clearing it is a no-op */
	switch (acpi_pm_decode(control)) {
	case ACPI_PM_POWEROFF:
		log_info("acpi: the guest entered S5 (power off)");
		vm_control_stop(p->vm, VM_STOP_POWEROFF, VMM_EXIT_OK);
		break;
	case ACPI_PM_UNSUPPORTED_SLEEP:
		log_guest_warn("acpi: asked for sleep type %u, which is not offered; ignored",
			       (unsigned)(control >> SLP_TYP_SHIFT) & SLP_TYP_MASK);
		break;
	case ACPI_PM_NONE:
		break;
	}
}

static const struct io_ops acpi_pm_ops = {.read = pio_read, .write = pio_write};

int acpi_pm_attach(struct acpi_pm *p, struct io_bus *pio, uint16_t base,
		   const struct vm_control *vm)
{
	int err;

	p->vm = vm;
	p->base = base;
	err = io_bus_register(pio, base, ACPI_PM_NR_PORTS, &acpi_pm_ops, p, "acpi-pm");
	if (err)
		log_error("acpi-pm: cannot claim ports 0x%x-0x%x: %s", base,
			  base + ACPI_PM_NR_PORTS - 1, strerror(-err));
	return err;
}

void acpi_pm_detach(struct acpi_pm *p, struct io_bus *pio)
{
	io_bus_unregister(pio, p->base);
}
