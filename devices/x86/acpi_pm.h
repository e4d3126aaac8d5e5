/* The ACPI sleep registers of a hardware-reduced platform (ACPI 6.5 §4.8.3.7, §4.8.3.8): the
 * FADT's SLEEP_CONTROL_REG at `base` and SLEEP_STATUS_REG at base + 1, one byte each, in port
 * space (firmware/acpi/acpi.h writes the FADT that points here).
 *
 * A write to the control register with SLP_EN (bit 5) set and SLP_TYP (bits 4:2) equal to S5's
 * value in the DSDT's \_S5_ package powers the machine off: the VM stops and the VMM exits 0,
 * as after the guest's reset. Other sleep types are not offered by the DSDT and are ignored
 * (logged). Both registers read 0 (WAK_STS clear: the guest is never woken from a sleep); a
 * write to the status register (the guest clearing WAK_STS) does nothing. */
#ifndef DEVICES_ACPI_PM_H
#define DEVICES_ACPI_PM_H

#include <stdint.h>

#include "base/io_bus.h"
#include "base/vm_control.h"

#define ACPI_PM_NR_PORTS 2
#define ACPI_PM_S5_TYPE	 5 /* the DSDT's \_S5_ SLP_TYPa (firmware/acpi/acpi.h ACPI_S5_TYPE) */

struct acpi_pm {
	const struct vm_control *vm;
	uint16_t base;
};

/* What a byte written to the sleep control register asks for. */
enum acpi_pm_request { ACPI_PM_NONE, ACPI_PM_POWEROFF, ACPI_PM_UNSUPPORTED_SLEEP };
enum acpi_pm_request acpi_pm_decode(uint8_t control);

/* Claims [base, base + 2) on `pio`; `vm` is kept, not copied. Returns 0 or -errno (logged). */
int acpi_pm_attach(struct acpi_pm *p, struct io_bus *pio, uint16_t base,
		   const struct vm_control *vm);
void acpi_pm_detach(struct acpi_pm *p, struct io_bus *pio);

#endif
