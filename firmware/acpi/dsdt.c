/* The DSDT: the machine's devices in AML (ACPI 6.5 §5.2.11.1, §6; see acpi.h). */
#include <errno.h>
#include <stdio.h>

#include "base/layout.h"
#include "firmware/acpi/acpi.h"
#include "firmware/acpi/acpi_table.h"

#define DSDT_REVISION 2 /* 64-bit integers (§5.2.11.1) */

/* A 4-character NameSeg: `prefix` followed by `n` in hex, e.g. "C01F", "VR0A". */
static void seg_name(char out[8], size_t cap, const char *prefix, unsigned n)
{
	int digits = prefix[1] ? 2 : 3;
	snprintf(out, cap, "%s%0*X", prefix, digits, n & ((1u << (4 * digits)) - 1));
}

static void name_int(struct aml_buf *b, const char *name, uint64_t v)
{
	aml_name(b, name);
	aml_int(b, v);
}

static void name_eisaid(struct aml_buf *b, const char *name, const char *id)
{
	aml_name(b, name);
	aml_eisaid(b, id);
}

/* An ISA interrupt: IRQNoFlags for the edge/high lines below 16, else an Interrupt(). */
static void res_irq(struct aml_buf *b, const struct machine_irq *irq)
{
	if (irq->pin < 16 && irq->trigger == MACHINE_IRQ_EDGE && irq->polarity == MACHINE_IRQ_HIGH)
		aml_res_irq(b, (uint8_t)irq->pin);
	else
		aml_res_interrupt(b, irq->pin, irq->trigger == MACHINE_IRQ_LEVEL,
				  irq->polarity == MACHINE_IRQ_LOW);
}

/* Processor devices (§8.4): Linux ties each to its MADT entry through _UID. */
static void write_cpus(struct aml_buf *b, const struct machine *m)
{
	for (int i = 0; i < m->ncpus; i++) {
		char name[8];
		seg_name(name, sizeof(name), "C", (unsigned)i);
		size_t dev = aml_device_begin(b, name);
		aml_name(b, "_HID");
		aml_string(b, "ACPI0007");
		name_int(b, "_UID", (uint64_t)i);
		acpi_write_cpu_hotplug_device(b, m, i); /* with CPU hotplug: _STA, _MAT, _EJ0 */
		aml_end(b, dev);
	}
	acpi_write_cpu_hotplug(b, m);
}

static void write_uarts(struct aml_buf *b, const struct machine *m)
{
	for (int i = 0; i < m->nuarts && i < 9; i++) { /* a name is 4 characters: COM1..COM9 */
		const struct machine_uart *u = &m->uarts[i];
		const char name[5] = {'C', 'O', 'M', (char)('1' + i), '\0'};
		if (u->space != MACHINE_SPACE_IO || u->base > 0xFFFF || u->size > 0xFF)
			continue; /* only port UARTs are PNP0501 */
		size_t dev = aml_device_begin(b, name);
		name_eisaid(b, "_HID", "PNP0501");
		name_int(b, "_UID", (uint64_t)i + 1);
		aml_name(b, "_CRS");
		size_t res = aml_buffer_begin(b);
		aml_res_io(b, (uint16_t)u->base, (uint8_t)u->size);
		res_irq(b, &u->irq);
		aml_res_end(b);
		aml_buffer_end(b, res);
		aml_end(b, dev);
	}
}

/* The i8042 (keyboard port only: there is no AUX device) and the CMOS clock. The clock raises
 * no interrupt, but Linux's rtc_cmos assumes IRQ 8 for a PNP0B00 without one and fails to probe
 * if that IRQ is not mapped, so the template names it. */
static void write_legacy(struct aml_buf *b, const struct machine *m)
{
	if (m->i8042) {
		size_t dev = aml_device_begin(b, "KBD");
		name_eisaid(b, "_HID", "PNP0303");
		aml_name(b, "_CRS");
		size_t res = aml_buffer_begin(b);
		aml_res_io(b, 0x60, 1);
		aml_res_io(b, 0x64, 1);
		aml_res_irq(b, 1);
		aml_res_end(b);
		aml_buffer_end(b, res);
		aml_end(b, dev);
	}
	if (m->rtc) {
		size_t dev = aml_device_begin(b, "RTC");
		name_eisaid(b, "_HID", "PNP0B00");
		aml_name(b, "_CRS");
		size_t res = aml_buffer_begin(b);
		aml_res_io(b, 0x70, 2);
		aml_res_irq(b, 8);
		aml_res_end(b);
		aml_buffer_end(b, res);
		aml_end(b, dev);
	}
}

/* virtio-mmio windows: the ID Linux's virtio_mmio driver matches (its acpi_match_table). */
static void write_virtio_mmio(struct aml_buf *b, const struct machine *m)
{
	for (int i = 0; i < m->nvirtio_mmio; i++) {
		const struct machine_mmio_dev *d = &m->virtio_mmio[i];
		char name[8];
		if (d->base > UINT32_MAX || d->size > UINT32_MAX - d->base) {
			if (!b->err)
				b->err = -EINVAL;
			return;
		}
		seg_name(name, sizeof(name), "VR", (unsigned)i);
		size_t dev = aml_device_begin(b, name);
		aml_name(b, "_HID");
		aml_string(b, "LNRO0005");
		name_int(b, "_UID", (uint64_t)i);
		name_int(b, "_CCA", 1); /* DMA is cache-coherent (§6.2.17) */
		aml_name(b, "_CRS");
		size_t res = aml_buffer_begin(b);
		aml_res_mem32(b, (uint32_t)d->base, (uint32_t)d->size);
		aml_res_interrupt(b, d->irq.pin, d->irq.trigger == MACHINE_IRQ_LEVEL,
				  d->irq.polarity == MACHINE_IRQ_LOW);
		aml_res_end(b);
		aml_buffer_end(b, res);
		aml_end(b, dev);
	}
}

/* _PRT (§6.2.13): one entry per INTx: { device address with function 0xFFFF, pin, 0, GSI }. */
static void write_prt(struct aml_buf *b, const struct machine_pci *p)
{
	aml_name(b, "_PRT");
	size_t pkg = aml_package_begin(b, (uint8_t)p->nintx);
	for (int i = 0; i < p->nintx; i++) {
		const struct machine_pci_intx *x = &p->intx[i];
		size_t e = aml_package_begin(b, 4);
		aml_int(b, ((uint64_t)x->dev << 16) | 0xFFFF);
		aml_int(b, x->intx);
		aml_int(b, 0); /* no link device: the last field is a GSI */
		aml_int(b, x->irq.pin);
		aml_end(b, e);
	}
	aml_end(b, pkg);
}

static void write_pci(struct aml_buf *b, const struct machine *m)
{
	const struct machine_pci *p = &m->pci;
	if (p->mem32.base > UINT32_MAX || p->mem32.size > UINT32_MAX - p->mem32.base + 1 ||
	    p->ecam.base > UINT32_MAX || p->ecam.size > UINT32_MAX - p->ecam.base + 1 ||
	    p->io.base + p->io.size > 0x10000 || p->nintx > 255) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	size_t dev = aml_device_begin(b, "PCI0");
	name_eisaid(b, "_HID", "PNP0A08");
	name_eisaid(b, "_CID", "PNP0A03");
	name_int(b, "_SEG", 0);
	name_int(b, "_BBN", p->bus_first);
	name_int(b, "_UID", 0);
	aml_name(b, "_CRS");
	size_t res = aml_buffer_begin(b);
	aml_res_bus(b, p->bus_first, p->bus_last);
	aml_res_io(b, 0xCF8, 8); /* the configuration ports, consumed by the bridge itself */
	if (p->io.size)
		aml_res_io_window(b, (uint16_t)p->io.base, (uint16_t)p->io.size);
	if (p->mem32.size)
		aml_res_mem_window(b, (uint32_t)p->mem32.base, (uint32_t)p->mem32.size);
	if (p->mem64.size)
		aml_res_mem64_window(b, p->mem64.base, p->mem64.size);
	aml_res_end(b);
	aml_buffer_end(b, res);
	write_prt(b, p);
	acpi_write_pci_hotplug(b, p);
	aml_end(b, dev);
	/* Motherboard resources (PNP0C02): Linux's pci_mmcfg_check_reserved() looks here. */
	dev = aml_device_begin(b, "MRES");
	name_eisaid(b, "_HID", "PNP0C02");
	name_int(b, "_UID", 0);
	aml_name(b, "_CRS");
	res = aml_buffer_begin(b);
	aml_res_mem32(b, (uint32_t)p->ecam.base, (uint32_t)p->ecam.size);
	aml_res_end(b);
	aml_buffer_end(b, res);
	aml_end(b, dev);
}

/* If (Local0 & bit) { Notify (path, 0x80) }: one event of the GED's register. */
static void evt_notify(struct aml_buf *b, uint64_t bit, const char *path)
{
	size_t cond = aml_if_begin(b);
	aml_and(b);
	aml_local(b, 0);
	aml_int(b, bit);
	aml_no_target(b);
	aml_notify(b);
	aml_namestring(b, path);
	aml_int(b, 0x80);
	aml_end(b, cond);
}

/* The VM generation counter (Microsoft's "Virtual Machine Generation ID" paper): a device with
 * _CID "VM_Gen_Counter" and an ADDR package { low 32 bits, high 32 bits } of the 16-byte ID.
 * Linux's vmgenid driver (drivers/virt/vmgenid.c) matches _HID/_CID "VMGENCTR" or
 * "VM_GEN_COUNTER" (ACPICA upper-cases _CID strings), maps ADDR, and on any Notify copies the
 * new ID and reseeds the RNG with it (add_vmfork_randomness()); Windows wants Notify 0x80. */
static void write_vmgenid(struct aml_buf *b, const struct machine *m)
{
	size_t dev = aml_device_begin(b, "VGEN");
	aml_name(b, "_HID");
	aml_string(b, "VMGENCTR");
	aml_name(b, "_CID");
	aml_string(b, "VM_Gen_Counter");
	aml_name(b, "_DDN");
	aml_string(b, "VM_Gen_Counter");
	aml_name(b, "ADDR");
	size_t pkg = aml_package_begin(b, 2);
	if (m->vmgenid_by_firmware) {
		/* a DWordConst whatever its value, so that the loader's 4-byte pointer fits: the
		 * ID's offset in etc/vmgenid_guid, to which the firmware adds where it put the file
		 * (below 4 GiB: its ALLOCATE zone) */
		aml_dword(b, VMGENID_FW_ID_OFFSET);
		aml_int(b, 0);
	} else {
		aml_int(b, m->vmgenid & 0xFFFFFFFFu);
		aml_int(b, m->vmgenid >> 32);
	}
	aml_end(b, pkg);
	aml_end(b, dev);
}

/* The Generic Event Device (§5.6.9) and the power button it stands for. Linux's evged driver
 * calls _EVT on each edge of the _CRS interrupt; _EVT reads the event register (which clears
 * it) and notifies the device of each bit: 0x80 on a power button (PNP0C0C, §4.8.2.2.1.2) is
 * "pressed", which Linux's `button` driver reports as KEY_POWER. A hardware-reduced platform has
 * no fixed power button (§4.1: no PM1 blocks), so it is this control-method one. */
static void write_ged(struct aml_buf *b, const struct machine *m)
{
	const struct machine_mmio_dev *g = &m->acpi_ged;
	size_t dev = aml_device_begin(b, "PWRB");
	name_eisaid(b, "_HID", "PNP0C0C");
	name_int(b, "_UID", 0);
	aml_end(b, dev);

	dev = aml_device_begin(b, "GED");
	aml_name(b, "_HID");
	aml_string(b, "ACPI0013");
	name_int(b, "_UID", 0);
	aml_name(b, "_CRS");
	size_t res = aml_buffer_begin(b);
	aml_res_interrupt(b, g->irq.pin, g->irq.trigger == MACHINE_IRQ_LEVEL,
			  g->irq.polarity == MACHINE_IRQ_LOW);
	aml_res_end(b);
	aml_buffer_end(b, res);
	aml_opregion(b, "GDST", AML_SYSTEM_MEMORY, g->base, g->size);
	size_t f = aml_field_begin(b, "GDST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_field_unit(b, "GDAT", 32);
	aml_end(b, f);
	size_t evt = aml_method_begin(b, "_EVT", 1, 1);
	aml_store(b); /* Local0 = GDAT: one read, which acknowledges every pending event */
	aml_namestring(b, "GDAT");
	aml_local(b, 0);
	evt_notify(b, ACPI_GED_EVENT_POWER_BUTTON, "\\_SB.PWRB");
	if (m->pci.present && m->pci.hotplug_slots) {
		/* If (Local0 & ACPI_GED_PCI_HOTPLUG) { \_SB.PCI0.PCNT () } */
		size_t cond = aml_if_begin(b);
		aml_and(b);
		aml_local(b, 0);
		aml_int(b, ACPI_GED_EVENT_PCI_HOTPLUG);
		aml_no_target(b);
		aml_namestring(b, "\\_SB.PCI0.PCNT");
		aml_end(b, cond);
	}
	if (m->vmgenid || m->vmgenid_by_firmware)
		evt_notify(b, ACPI_GED_EVENT_VMGENID, "\\_SB.VGEN");
	if (m->cpu_hotplug_base) {
		/* If (Local0 & ACPI_GED_CPU_HOTPLUG) { \_SB.CSCN () } */
		size_t cond = aml_if_begin(b);
		aml_and(b);
		aml_local(b, 0);
		aml_int(b, ACPI_GED_EVENT_CPU_HOTPLUG);
		aml_no_target(b);
		aml_namestring(b, "\\_SB.CSCN");
		aml_end(b, cond);
	}
	aml_end(b, evt);
	aml_end(b, dev);
}

/* \_S5_ (§7.4.2): SLP_TYPa, SLP_TYPb, two reserved. Only SLP_TYPa counts when hardware-reduced,
 * and there is no PM1b block either. */
static void write_s5(struct aml_buf *b, const struct machine *m)
{
	uint8_t typ = m->acpi_pm1.present ? ACPI_PM1_S5_TYPE : ACPI_S5_TYPE;
	aml_name(b, "\\_S5");
	size_t pkg = aml_package_begin(b, 4);
	aml_int(b, typ);
	aml_int(b, typ);
	aml_int(b, 0);
	aml_int(b, 0);
	aml_end(b, pkg);
}

size_t acpi_write_dsdt(struct aml_buf *b, const struct machine *m)
{
	size_t off = acpi_table_begin(b, "DSDT", DSDT_REVISION);
	size_t sb = aml_scope_begin(b, "\\_SB");
	write_cpus(b, m);
	write_uarts(b, m);
	write_legacy(b, m);
	write_virtio_mmio(b, m);
	if (m->pci.present)
		write_pci(b, m);
	b->tracked = 0;
	if (m->acpi_ged.size && (m->vmgenid || m->vmgenid_by_firmware))
		write_vmgenid(b, m);
	if (m->acpi_ged.size)
		write_ged(b, m);
	aml_end(b, sb);
	if (m->acpi_pm.present || m->acpi_pm1.present)
		write_s5(b, m);
	acpi_table_end(b, off);
	return m->vmgenid_by_firmware && !b->err ? b->tracked : 0;
}
