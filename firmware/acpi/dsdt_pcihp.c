/* ACPI PCI hotplug in the DSDT (devices/pci/acpi_pcihp.h has the registers): under \_SB.PCI0,
 * the register block as fields, one device per hotplug slot and PCNT, the method the Generic
 * Event Device's _EVT calls on ACPI_GED_EVENT_PCI_HOTPLUG.
 *
 *   OperationRegion (PCST, SystemMemory, base, 16)
 *   Field (PCST, DWordAcc, NoLock, WriteAsZeros) { PCIU, 32, PCID, 32, B0EJ, 32 }
 *   Device (Snn) { Name (_ADR, nn << 16)  Name (_SUN, nn)
 *                  Method (_EJ0, 1) { B0EJ = 1 << nn } }          for each hotplug slot nn
 *   Method (PCNT, 0, Serialized) { Local0 = PCIU  Local1 = PCID
 *                  If (Local0 & (1 << nn)) { Notify (Snn, 1) }    device check: "scan it"
 *                  If (Local1 & (1 << nn)) { Notify (Snn, 3) } }  eject request: "release it"
 *
 * A slot device has _ADR (device nn, function 0: ACPI 6.5 §6.1.1) and _EJ0 (§6.3.3), which
 * is what makes Linux's acpiphp treat it as a hotplug slot (acpi_pci_check_ejectable()), and
 * _SUN (§6.1.12), the slot number user space sees in /sys/bus/pci/slots. PCNT reads each
 * register once (a read clears it) and its tests are unrolled per slot: no loop, no shift,
 * so the AML is plain and the writer needs no new opcodes. Notify values: §5.6.6. */
#include <stdio.h>

#include "firmware/acpi/acpi_table.h"

#define NOTIFY_DEVICE_CHECK   1
#define NOTIFY_EJECT_REQUEST  3
#define PCIHP_REGISTERS_BYTES 16

static void slot_name(char out[8], int slot)
{
	snprintf(out, 8, "S%02X", (unsigned)slot & 0xFF);
}

static void write_slot(struct aml_buf *b, int slot)
{
	char name[8];
	slot_name(name, slot);
	size_t dev = aml_device_begin(b, name);
	aml_name(b, "_ADR");
	aml_int(b, (uint64_t)slot << 16);
	aml_name(b, "_SUN");
	aml_int(b, (uint64_t)slot);
	size_t ej = aml_method_begin(b, "_EJ0", 1, 0);
	aml_store(b); /* B0EJ = 1 << slot: this slot's device is released */
	aml_int(b, 1ull << slot);
	aml_namestring(b, "B0EJ");
	aml_end(b, ej);
	aml_end(b, dev);
}

/* If (LocalN & (1 << slot)) { Notify (Sxx, value) } */
static void write_notify_if(struct aml_buf *b, uint8_t local, int slot, uint8_t value)
{
	char name[8];
	slot_name(name, slot);
	size_t cond = aml_if_begin(b);
	aml_and(b);
	aml_local(b, local);
	aml_int(b, 1ull << slot);
	aml_no_target(b);
	aml_notify(b);
	aml_namestring(b, name);
	aml_int(b, value);
	aml_end(b, cond);
}

static void write_pcnt(struct aml_buf *b, uint32_t slots)
{
	size_t m = aml_method_begin(b, "PCNT", 0, 1);
	aml_store(b);
	aml_namestring(b, "PCIU");
	aml_local(b, 0);
	aml_store(b);
	aml_namestring(b, "PCID");
	aml_local(b, 1);
	for (int s = 1; s < 32; s++) {
		if (!(slots & (1u << s)))
			continue;
		write_notify_if(b, 0, s, NOTIFY_DEVICE_CHECK);
		write_notify_if(b, 1, s, NOTIFY_EJECT_REQUEST);
	}
	aml_end(b, m);
}

void acpi_write_pci_hotplug(struct aml_buf *b, const struct machine_pci *p)
{
	if (!p->hotplug_slots)
		return;
	aml_opregion(b, "PCST", AML_SYSTEM_MEMORY, p->hotplug_base, PCIHP_REGISTERS_BYTES);
	size_t f = aml_field_begin(b, "PCST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_field_unit(b, "PCIU", 32);
	aml_field_unit(b, "PCID", 32);
	aml_field_unit(b, "B0EJ", 32);
	aml_end(b, f);
	for (int s = 1; s < 32; s++)
		if (p->hotplug_slots & (1u << s))
			write_slot(b, s);
	write_pcnt(b, p->hotplug_slots);
}
