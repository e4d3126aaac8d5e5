/* RSDP, XSDT, FADT, MADT and MCFG, and where they go (see acpi.h). Layouts: ACPI 6.5 §5.2;
 * MCFG: PCI Firmware Specification 3.3 §4.1.2. */
#include "firmware/acpi/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "firmware/acpi/acpi_table.h"

#define OEM_ID	      "VMM"
#define OEM_TABLE_ID  "VMM"
#define OEM_REVISION  1
#define CREATOR_ID    "VMM"
#define CREATOR_REV   1
#define RSDP_LEN      36
#define RSDP_V1_LEN   20
#define XSDT_REVISION 1
#define FADT_REVISION 6 /* ACPI 6.5: major 6, minor 5 */
#define FADT_MINOR    5
#define FADT_LEN      276
#define MADT_REVISION 5
#define MCFG_REVISION 1
#define TABLE_ALIGN   16
#define MAX_TABLES    3 /* XSDT entries: FADT, MADT, MCFG */
#define FACS_LEN      64
#define FACS_ALIGN    64 /* §5.2.10 */
#define FACS_VERSION  2

/* FADT fields (§5.2.9, table 5.9) by offset. */
#define FADT_SCI_INT	     46
#define FADT_PM1A_EVT_BLK    56
#define FADT_PM1A_CNT_BLK    64
#define FADT_PM_TMR_BLK	     76
#define FADT_PM1_EVT_LEN     88
#define FADT_PM1_CNT_LEN     89
#define FADT_PM_TMR_LEN	     91
#define FADT_P_LVL2_LAT	     96
#define FADT_P_LVL3_LAT	     98
#define FADT_IAPC_BOOT_ARCH  109
#define FADT_FLAGS	     112
#define FADT_MINOR_VERSION   131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT	     140
#define FADT_X_PM1A_EVT_BLK  148
#define FADT_X_PM1A_CNT_BLK  172
#define FADT_X_PM_TMR_BLK    208
#define FADT_SLEEP_CONTROL   244
#define FADT_SLEEP_STATUS    256

/* The fixed-hardware registers' offsets and sizes in the PM1 block (devices/acpi_pm1.h). */
#define PM1_CNT_OFFSET 4
#define PM1_TMR_OFFSET 8
#define PM1_EVT_LEN    4
#define PM1_CNT_LEN    2
#define PM_TMR_LEN     4
#define C2_C3_NONE     0x0FFF /* P_LVL2/3 latencies above 100/1000 us: no C2, no C3 */

#define IAPC_8042	     (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_ABSENT (1u << 5)
#define FADT_WBINVD	     (1u << 0)
#define FADT_PROC_C1	     (1u << 2)
#define FADT_PWR_BUTTON	     (1u << 4) /* no fixed power button: a control-method one (GED) */
#define FADT_SLP_BUTTON	     (1u << 5) /* no sleep button at all */
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* MADT structures (§5.2.12). */
#define MADT_LOCAL_APIC	    0
#define MADT_IO_APIC	    1
#define MADT_INT_OVERRIDE   2
#define MADT_LAPIC_NMI	    4
#define MADT_ENABLED	    1
#define MADT_PCAT_COMPAT    1 /* MADT flags: the 8259s are there too */
#define MADT_ONLINE_CAPABLE 2
/* MPS INTI flags (§5.2.12.5): polarity bits 1:0, trigger bits 3:2. */
#define INTI_POL_HIGH	1
#define INTI_POL_LOW	3
#define INTI_TRIG_EDGE	(1 << 2)
#define INTI_TRIG_LEVEL (3 << 2)

#define GAS_SYSTEM_IO	     1
#define GAS_ACCESS_UNDEFINED 0
#define GAS_ACCESS_BYTE	     1

size_t acpi_table_begin(struct aml_buf *b, const char *sig, uint8_t rev)
{
	size_t off = b->len;
	aml_chars(b, sig, 4);
	aml_u32(b, 0); /* length */
	aml_u8(b, rev);
	aml_u8(b, 0); /* checksum */
	aml_chars(b, OEM_ID, 6);
	aml_chars(b, OEM_TABLE_ID, 8);
	aml_u32(b, OEM_REVISION);
	aml_chars(b, CREATOR_ID, 4);
	aml_u32(b, CREATOR_REV);
	return off;
}

void acpi_table_end(struct aml_buf *b, size_t off)
{
	aml_patch(b, off + 4, b->len - off, 4);
	aml_checksum(b, off, b->len - off, off + 9);
}

/* Generic Address Structure (§5.2.3.2) of `bits` bits of I/O ports from `port`. */
static void gas_io(struct aml_buf *b, size_t at, uint64_t port, uint8_t bits, uint8_t access)
{
	aml_patch(b, at, GAS_SYSTEM_IO, 1);
	aml_patch(b, at + 1, bits, 1);
	aml_patch(b, at + 2, 0, 1); /* bit offset */
	aml_patch(b, at + 3, access, 1);
	aml_patch(b, at + 4, port, 8);
}

/* A fixed-hardware register block: its 32-bit port, its length and its X_ GAS. */
static void fadt_block(struct aml_buf *b, size_t off, size_t blk, size_t len_at, size_t x_blk,
		       uint64_t port, uint8_t len)
{
	aml_patch(b, off + blk, port, 4);
	aml_patch(b, off + len_at, len, 1);
	gas_io(b, off + x_blk, port, (uint8_t)(8 * len), GAS_ACCESS_UNDEFINED);
}

/* A legacy BIOS boot's full FADT (devices/acpi_pm1.h's registers): PM1a event and control blocks,
 * the PM timer, the SCI's line; no SMI_CMD, so the OS finds ACPI mode on (SCI_EN reads 1); no
 * GPE blocks; C1 only; the power button is the GED's control-method one. */
static void fadt_fixed_hw(struct aml_buf *b, size_t off, const struct machine_acpi_pm1 *pm)
{
	aml_patch(b, off + FADT_SCI_INT, pm->sci.pin, 2);
	fadt_block(b, off, FADT_PM1A_EVT_BLK, FADT_PM1_EVT_LEN, FADT_X_PM1A_EVT_BLK, pm->base,
		   PM1_EVT_LEN);
	fadt_block(b, off, FADT_PM1A_CNT_BLK, FADT_PM1_CNT_LEN, FADT_X_PM1A_CNT_BLK,
		   pm->base + PM1_CNT_OFFSET, PM1_CNT_LEN);
	fadt_block(b, off, FADT_PM_TMR_BLK, FADT_PM_TMR_LEN, FADT_X_PM_TMR_BLK,
		   pm->base + PM1_TMR_OFFSET, PM_TMR_LEN);
	aml_patch(b, off + FADT_P_LVL2_LAT, C2_C3_NONE, 2);
	aml_patch(b, off + FADT_P_LVL3_LAT, C2_C3_NONE, 2);
	aml_patch(b, off + FADT_FLAGS,
		  FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON, 4);
}

/* `facs`: the FACS's address (full FADT only), in X_FIRMWARE_CTRL. */
static void write_fadt(struct aml_buf *b, const struct machine *m, uint64_t dsdt, uint64_t facs)
{
	size_t off = acpi_table_begin(b, "FACP", FADT_REVISION);
	uint16_t boot_arch = IAPC_VGA_NOT_PRESENT;

	while (!b->err && b->len - off < FADT_LEN)
		aml_u8(b, 0);
	if (m->i8042)
		boot_arch |= IAPC_8042; /* else Linux does not probe the i8042 (reset, keyboard) */
	if (!m->rtc)
		boot_arch |= IAPC_CMOS_RTC_ABSENT;
	aml_patch(b, off + FADT_IAPC_BOOT_ARCH, boot_arch, 2);
	aml_patch(b, off + FADT_MINOR_VERSION, FADT_MINOR, 1);
	aml_patch(b, off + FADT_X_DSDT, dsdt, 8);
	if (m->acpi_pm1.present) {
		fadt_fixed_hw(b, off, &m->acpi_pm1);
		aml_patch(b, off + FADT_X_FIRMWARE_CTRL, facs, 8);
	} else {
		aml_patch(b, off + FADT_FLAGS, FADT_HW_REDUCED_ACPI, 4);
	}
	/* Linux offers S5 (pm_power_off) on hardware-reduced ACPI only with both registers. */
	if (!m->acpi_pm1.present && m->acpi_pm.present) {
		gas_io(b, off + FADT_SLEEP_CONTROL, m->acpi_pm.base, 8, GAS_ACCESS_BYTE);
		gas_io(b, off + FADT_SLEEP_STATUS, m->acpi_pm.base + 1, 8, GAS_ACCESS_BYTE);
	}
	acpi_table_end(b, off);
}

/* The Firmware ACPI Control Structure (§5.2.10) a full FADT needs: no waking vector (no S3 or
 * S4 is offered), no global lock owner, version 2. It has no checksum. */
static void write_facs(struct aml_buf *b)
{
	size_t off = b->len;
	aml_chars(b, "FACS", 4);
	aml_u32(b, FACS_LEN);
	while (!b->err && b->len - off < FACS_LEN)
		aml_u8(b, 0);
	aml_patch(b, off + 32, FACS_VERSION, 1);
}

static uint16_t inti_flags(const struct machine_irq *irq)
{
	return (uint16_t)((irq->polarity == MACHINE_IRQ_LOW ? INTI_POL_LOW : INTI_POL_HIGH) |
			  (irq->trigger == MACHINE_IRQ_LEVEL ? INTI_TRIG_LEVEL : INTI_TRIG_EDGE));
}

/* An Interrupt Source Override for ISA IRQ `pin` (wired to the same GSI, as in the MP table)
 * whose trigger or polarity is not the ISA default (edge, active high). */
static void madt_override(struct aml_buf *b, const struct machine_irq *irq)
{
	if (irq->pin >= 16 ||
	    (irq->trigger == MACHINE_IRQ_EDGE && irq->polarity == MACHINE_IRQ_HIGH))
		return;
	aml_u8(b, MADT_INT_OVERRIDE);
	aml_u8(b, 10);
	aml_u8(b, 0); /* bus: ISA */
	aml_u8(b, (uint8_t)irq->pin);
	aml_u32(b, irq->pin);
	aml_u16(b, inti_flags(irq));
}

/* A vCPU absent at boot (CPU hotplug) is online-capable, not enabled (§5.2.12.2): Linux counts
 * it as a possible CPU it may hot-add later (MADT revision 5 and later). */
static uint32_t madt_cpu_flags(const struct machine *m, int cpu)
{
	if (m->cpu_hotplug_base && cpu >= m->cpus_present)
		return MADT_ONLINE_CAPABLE;
	return MADT_ENABLED;
}

/* Whether a virtio-mmio window uses controller input `pin` (its override is written already). */
static bool mmio_line(const struct machine *m, uint32_t pin)
{
	for (int i = 0; i < m->nvirtio_mmio; i++)
		if (m->virtio_mmio[i].irq.pin == pin)
			return true;
	return false;
}

static void write_madt(struct aml_buf *b, const struct machine *m)
{
	size_t off = acpi_table_begin(b, "APIC", MADT_REVISION);
	aml_u32(b, (uint32_t)m->intc.local_base);
	/* flags: with fixed hardware the OS drives the 8259s as on a PC (masks them, moves their
	 * vectors); hardware-reduced, they are not part of the platform */
	aml_u32(b, m->acpi_pm1.present ? MADT_PCAT_COMPAT : 0);
	for (int i = 0; i < m->ncpus; i++) {
		aml_u8(b, MADT_LOCAL_APIC);
		aml_u8(b, 8);
		aml_u8(b, (uint8_t)i); /* processor UID: the DSDT's ACPI0007 _UID */
		aml_u8(b, (uint8_t)m->cpu_ids[i]);
		aml_u32(b, madt_cpu_flags(m, i));
	}
	aml_u8(b, MADT_IO_APIC);
	aml_u8(b, 12);
	aml_u8(b, (uint8_t)m->intc.id);
	aml_u8(b, 0);
	aml_u32(b, (uint32_t)m->intc.base);
	aml_u32(b, 0); /* GSI base */
	for (int i = 0; i < m->nvirtio_mmio; i++)
		madt_override(b, &m->virtio_mmio[i].irq);
	for (int i = 0; i < m->nuarts; i++)
		madt_override(b, &m->uarts[i].irq);
	if (m->acpi_pm1.present && !mmio_line(m, m->acpi_pm1.sci.pin))
		madt_override(b, &m->acpi_pm1.sci); /* else the window's override describes it */
	/* LINT1 of every processor is the NMI input, as the MP table's local interrupt says. */
	aml_u8(b, MADT_LAPIC_NMI);
	aml_u8(b, 6);
	aml_u8(b, 0xFF); /* all processors */
	aml_u16(b, 0);	 /* flags: conforms to the bus */
	aml_u8(b, 1);	 /* LINT1 */
	acpi_table_end(b, off);
}

static void write_mcfg(struct aml_buf *b, const struct machine_pci *p)
{
	size_t off = acpi_table_begin(b, "MCFG", MCFG_REVISION);
	aml_u64(b, 0); /* reserved */
	aml_u64(b, p->ecam.base);
	aml_u16(b, 0); /* segment */
	aml_u8(b, p->bus_first);
	aml_u8(b, p->bus_last);
	aml_u32(b, 0);
	acpi_table_end(b, off);
}

static void write_xsdt(struct aml_buf *b, const uint64_t *tables, int n)
{
	size_t off = acpi_table_begin(b, "XSDT", XSDT_REVISION);
	for (int i = 0; i < n; i++)
		aml_u64(b, tables[i]);
	acpi_table_end(b, off);
}

/* §5.2.5.3: the first 20 bytes sum to 0, and so do all 36. */
static void write_rsdp(struct aml_buf *b, uint64_t xsdt)
{
	size_t off = b->len;
	aml_chars(b, "RSD PTR ", 8);
	aml_u8(b, 0);
	aml_chars(b, OEM_ID, 6);
	aml_u8(b, 2);  /* revision: ACPI 2.0+ with the XSDT */
	aml_u32(b, 0); /* no RSDT: every table is reached through the XSDT */
	aml_u32(b, RSDP_LEN);
	aml_u64(b, xsdt);
	aml_u8(b, 0);
	aml_bytes(b, "\0\0\0", 3);
	aml_checksum(b, off, RSDP_V1_LEN, off + 8);
	aml_checksum(b, off, RSDP_LEN, off + 32);
}

static bool machine_fits(const struct machine *m, uint64_t gpa)
{
	return machine_counts_valid(m) && m->ncpus > 0 && m->intc.present &&
	       m->intc.base <= UINT32_MAX && m->intc.local_base <= UINT32_MAX &&
	       gpa % TABLE_ALIGN == 0 && gpa < UINT32_MAX;
}

/* The tables the RSDP leads to, from b->len on, each at `base` + its offset in `b` (16-byte
 * aligned); their addresses in `out`. Returns how many tables the XSDT lists. */
static int write_tables(struct aml_buf *b, const struct machine *m, uint64_t base,
			struct acpi_layout *out)
{
	uint64_t tables[MAX_TABLES];
	int n = 0;

	if (m->acpi_pm1.present) { /* first: QEMU's order, which OVMF's installer is used to */
		while (!b->err && (base + b->len) % FACS_ALIGN)
			aml_u8(b, 0);
		out->facs = base + b->len;
		write_facs(b);
	}
	aml_align(b, TABLE_ALIGN);
	out->dsdt = base + b->len;
	size_t vmgenid_ptr = acpi_write_dsdt(b, m);
	out->vmgenid_ptr = vmgenid_ptr ? base + vmgenid_ptr : 0;
	aml_align(b, TABLE_ALIGN);
	out->fadt = tables[n++] = base + b->len;
	write_fadt(b, m, out->dsdt, out->facs);
	aml_align(b, TABLE_ALIGN);
	out->madt = tables[n++] = base + b->len;
	write_madt(b, m);
	if (m->pci.present) {
		aml_align(b, TABLE_ALIGN);
		out->mcfg = tables[n++] = base + b->len;
		write_mcfg(b, &m->pci);
	}
	aml_align(b, TABLE_ALIGN);
	out->xsdt = base + b->len;
	write_xsdt(b, tables, n);
	out->len = b->len;
	return n;
}

static int check_machine(const struct machine *m, uint64_t gpa)
{
	if (!machine_fits(m, gpa))
		return -EINVAL;
	for (int i = 0; i < m->ncpus; i++)
		if (m->cpu_ids[i] > 0xFF)
			return -EINVAL; /* xAPIC IDs: the x2APIC structure is not written */
	return 0;
}

int acpi_build(const struct machine *m, uint64_t gpa, void *buf, size_t cap,
	       struct acpi_layout *out)
{
	struct aml_buf b;

	memset(out, 0, sizeof(*out));
	if (check_machine(m, gpa))
		return -EINVAL;
	aml_buf_init(&b, buf, cap);
	/* The RSDP first, at gpa; its XSDT pointer is patched once the XSDT is placed. */
	write_rsdp(&b, 0);
	write_tables(&b, m, gpa, out);
	if (!b.err) {
		size_t end = b.len;
		b.len = 0;
		write_rsdp(&b, out->xsdt);
		b.len = end;
	}
	out->rsdp = gpa;
	if (b.err)
		memset(out, 0, sizeof(*out));
	return b.err;
}

static void add_reloc(struct acpi_blobs *o, bool in_rsdp, uint64_t offset)
{
	o->relocs[o->nrelocs++] = (struct acpi_reloc){in_rsdp, false, (uint32_t)offset, 8};
}

static void add_sum(struct acpi_blobs *o, bool in_rsdp, uint64_t table, uint32_t len, uint32_t at)
{
	o->sums[o->nsums++] =
	    (struct acpi_sum){in_rsdp, (uint32_t)table + at, (uint32_t)table, len};
}

/* A table's length from its header (offset 4). */
static uint32_t table_len(const uint8_t *tables, uint64_t off)
{
	const uint8_t *p = tables + off + 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What holds a guest address once the firmware placed the two blobs: FADT.X_FIRMWARE_CTRL (with
 * fixed hardware: the FACS is at offset 0), FADT.X_DSDT, every XSDT entry and the RSDP's XSDT
 * address; the checksums over them. */
static void list_fixups(struct acpi_blobs *o, int ntables, bool facs)
{
	const struct acpi_layout *l = &o->layout;

	if (facs)
		add_reloc(o, false, l->fadt + FADT_X_FIRMWARE_CTRL);
	add_reloc(o, false, l->fadt + FADT_X_DSDT);
	for (int i = 0; i < ntables; i++)
		add_reloc(o, false, l->xsdt + ACPI_HEADER_LEN + 8 * (uint64_t)i);
	add_reloc(o, true, 24); /* XsdtAddress */
	add_sum(o, false, l->fadt, table_len(o->tables, l->fadt), 9);
	add_sum(o, false, l->xsdt, table_len(o->tables, l->xsdt), 9);
	add_sum(o, true, 0, RSDP_LEN, 32); /* the extended checksum covers XsdtAddress */
	if (l->vmgenid_ptr) {		   /* the ID's address, then the DSDT's checksum over it */
		o->relocs[o->nrelocs++] =
		    (struct acpi_reloc){false, true, (uint32_t)l->vmgenid_ptr, 4};
		add_sum(o, false, l->dsdt, table_len(o->tables, l->dsdt), 9);
	}
}

int acpi_build_blobs(const struct machine *m, struct acpi_blobs *out)
{
	size_t cap = ACPI_END - ACPI_ADDR;
	struct aml_buf b, r;

	memset(out, 0, sizeof(*out));
	if (check_machine(m, 0))
		return -EINVAL;
	if (!(out->tables = malloc(cap)))
		return -ENOMEM;
	/* Offsets into the tables blob stand for addresses: the firmware adds the blob's. */
	aml_buf_init(&b, out->tables, cap);
	int n = write_tables(&b, m, 0, &out->layout);
	aml_buf_init(&r, out->rsdp, sizeof(out->rsdp));
	write_rsdp(&r, out->layout.xsdt);
	if (b.err || r.err) {
		acpi_blobs_free(out);
		return b.err ? b.err : r.err;
	}
	out->tables_len = b.len;
	list_fixups(out, n, m->acpi_pm1.present);
	/* Each byte a checksum command covers starts as 0, as in QEMU's blobs: OVMF sets it to the
	 * checksum of the range with that byte included (SeaBIOS subtracts the range's sum, which
	 * works from any value). */
	for (int i = 0; i < out->nsums; i++)
		(out->sums[i].in_rsdp ? out->rsdp : out->tables)[out->sums[i].offset] = 0;
	return 0;
}

void acpi_blobs_free(struct acpi_blobs *b)
{
	free(b->tables);
	memset(b, 0, sizeof(*b));
}

int machine_write_acpi(struct machine *m, struct guest_mem *mem)
{
	size_t cap = ACPI_END - ACPI_ADDR;
	uint8_t *buf = malloc(cap);
	struct acpi_layout l;
	int err = buf ? acpi_build(m, ACPI_ADDR, buf, cap, &l) : -ENOMEM;

	if (err) {
		free(buf);
		log_error("acpi: cannot build the tables for this machine: %s", strerror(-err));
		return err;
	}
	err = guest_mem_write(mem, ACPI_ADDR, buf, l.len);
	free(buf);
	if (err) {
		log_error("acpi: the tables' area %#llx-%#llx is not RAM",
			  (unsigned long long)ACPI_ADDR, (unsigned long long)(ACPI_END - 1));
		return -EFAULT;
	}
	m->rsdp = l.rsdp;
	log_debug("acpi: RSDP at %#llx, %zu bytes of tables", (unsigned long long)l.rsdp, l.len);
	return 0;
}
