/* What the table writers of firmware/acpi share: the common header and the DSDT writer. */
#ifndef FIRMWARE_ACPI_ACPI_TABLE_H
#define FIRMWARE_ACPI_ACPI_TABLE_H

#include <stddef.h>

#include "firmware/acpi/aml.h"
#include "firmware/machine.h"

#define ACPI_HEADER_LEN 36 /* §5.2.6 */

/* Writes a table header (§5.2.6) with signature `sig` and revision `rev`, length and checksum
 * left zero; returns the table's offset in `b`, for acpi_table_end(). */
size_t acpi_table_begin(struct aml_buf *b, const char *sig, uint8_t rev);
/* Fills in the length and checksum of the table that starts at `off` and ends here. */
void acpi_table_end(struct aml_buf *b, size_t off);

/* The DSDT of `m` (see acpi.h); m's counts are valid (checked by the caller). Returns where in
 * `b` the 4-byte address of a firmware-placed VM generation ID is to be patched
 * (m->vmgenid_by_firmware), else 0. */
size_t acpi_write_dsdt(struct aml_buf *b, const struct machine *m);
/* Inside \_SB.PCI0: the hotplug registers, slot devices and PCNT of p->hotplug_slots
 * (dsdt_pcihp.c); nothing when it has none. */
void acpi_write_pci_hotplug(struct aml_buf *b, const struct machine_pci *p);
/* In \_SB, with m->cpu_hotplug_base: the CPU hotplug registers and CSCN (dsdt_cpuhp.c); and
 * inside processor device Cnnn of vCPU `cpu`, its _STA, _MAT and _EJ0. Nothing without it. */
void acpi_write_cpu_hotplug(struct aml_buf *b, const struct machine *m);
void acpi_write_cpu_hotplug_device(struct aml_buf *b, const struct machine *m, int cpu);

#endif
