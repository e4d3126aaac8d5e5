/* acpi_build_blobs(): the tables a firmware places through fw_cfg's table-loader. Doing what the
 * firmware does (each blob at an address, every listed pointer plus that address, every listed
 * checksum fixed) must give, byte for byte, the tables acpi_build() writes for a direct boot at
 * the same addresses: one machine description, one set of tables, two ways to deliver them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "firmware/acpi/acpi.h"

#define GPA 0x1f000000ULL /* where the "firmware" puts the RSDP ... */
/* ... and the tables: where acpi_build() puts them after it (48 bytes on, or 64 with fixed
 * hardware, whose FACS comes first, 64-byte aligned) */
static uint64_t tables_at;
#define GUID_AT 0x1e000000ULL /* etc/vmgenid_guid */

static uint8_t direct[ACPI_END - ACPI_ADDR];

static void machine(struct machine *m, int ncpus, bool pci, bool fixed_hw)
{
	machine_init(m);
	cr_assert_eq(machine_add_ram(m, 0, MIB(512)), 0);
	cr_assert_eq(machine_add_cpus(m, ncpus), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_add_uart(m, PORT_COM1, IRQ_COM1), 0);
	machine_set_rtc(m);
	if (fixed_hw)
		cr_assert_eq(machine_set_acpi_pm1(m, PORT_ACPI_PM, IRQ_ACPI_SCI), 0);
	else
		cr_assert_eq(machine_set_acpi_pm(m, PORT_ACPI_PM), 0);
	cr_assert_eq(
	    machine_add_virtio_mmio(m, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, VIRTIO_MMIO_IRQ(0)), 0);
	if (pci) {
		cr_assert_eq(machine_set_pci(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
					     PCI_MMIO32_SIZE, 0, 0),
			     0);
		cr_assert_eq(machine_add_pci_intx(m, 1, 0, pci_intx_ioapic_pin(1, 0)), 0);
	}
}

static void add_le(uint8_t *p, uint64_t v, int n)
{
	uint64_t x = 0;
	for (int i = n - 1; i >= 0; i--)
		x = x << 8 | p[i];
	x += v;
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint8_t sum8(const uint8_t *blob, const struct acpi_sum *s)
{
	uint8_t sum = 0;
	for (uint32_t i = s->start; i < s->start + s->len; i++)
		sum = (uint8_t)(sum + blob[i]);
	return sum;
}

/* The two firmwares' ADD_CHECKSUM: SeaBIOS (romfile_loader) subtracts the range's sum from the
 * byte; OVMF (QemuFwCfgAcpi.c) sets the byte to CalculateCheckSum8() of the range, the byte's
 * current value included, so only a 0 there gives a valid table. */
static bool ovmf;

static void fix_sum(uint8_t *blob, const struct acpi_sum *s)
{
	if (ovmf)
		blob[s->offset] = (uint8_t)-sum8(blob, s);
	else
		blob[s->offset] = (uint8_t)(blob[s->offset] - sum8(blob, s));
}

/* What SeaBIOS's romfile_loader and OVMF's AcpiPlatformDxe do with the commands. */
static void load(struct acpi_blobs *b)
{
	for (int i = 0; i < b->nrelocs; i++) {
		const struct acpi_reloc *r = &b->relocs[i];
		size_t room = r->in_rsdp ? sizeof(b->rsdp) : b->tables_len;
		cr_assert_leq(r->offset + r->size, room);
		add_le((r->in_rsdp ? b->rsdp : b->tables) + r->offset,
		       r->to_vmgenid ? GUID_AT : tables_at, r->size);
	}
	for (int i = 0; i < b->nsums; i++) {
		const struct acpi_sum *s = &b->sums[i];
		size_t room = s->in_rsdp ? sizeof(b->rsdp) : b->tables_len;
		cr_assert_leq(s->start + s->len, room);
		cr_assert_lt(s->offset, room);
		fix_sum(s->in_rsdp ? b->rsdp : b->tables, s);
	}
}

static void check_same_as(int ncpus, bool pci, bool fixed_hw)
{
	struct machine m;
	struct acpi_layout l;
	struct acpi_blobs b;
	size_t skip = fixed_hw ? 64 : 48;

	tables_at = GPA + skip;
	machine(&m, ncpus, pci, fixed_hw);
	cr_assert_eq(acpi_build(&m, GPA, direct, sizeof(direct), &l), 0);
	cr_assert_eq(fixed_hw ? l.facs : l.dsdt, tables_at,
		     "acpi_build() puts the FACS or the DSDT right after the RSDP");
	cr_assert_eq(acpi_build_blobs(&m, &b), 0);
	cr_assert_eq(b.tables_len + skip, l.len);
	cr_assert_eq(b.layout.xsdt + tables_at, l.xsdt);
	cr_assert_eq(b.layout.mcfg ? b.layout.mcfg + tables_at : 0, l.mcfg);
	cr_assert_eq(fixed_hw ? b.layout.facs + tables_at : 0, l.facs);
	load(&b);
	cr_assert_arr_eq(b.rsdp, direct, ACPI_RSDP_SIZE, "the RSDP once loaded");
	cr_assert_arr_eq(b.tables, direct + skip, b.tables_len, "the tables once loaded");
	acpi_blobs_free(&b);
	cr_assert_null(b.tables);
}

static void check_same(int ncpus, bool pci)
{
	for (int fixed_hw = 0; fixed_hw < 2; fixed_hw++) {
		ovmf = false;
		check_same_as(ncpus, pci, fixed_hw);
		ovmf = true;
		check_same_as(ncpus, pci, fixed_hw);
	}
}

Test(acpi_blobs, one_cpu_no_pci_loads_to_the_direct_tables)
{
	check_same(1, false);
}

Test(acpi_blobs, two_cpus_with_pci_loads_to_the_direct_tables)
{
	check_same(2, true);
}

Test(acpi_blobs, many_cpus_loads_to_the_direct_tables)
{
	check_same(64, true);
}

Test(acpi_blobs, a_machine_without_cpus_is_refused)
{
	struct machine m;
	struct acpi_blobs b;

	machine_init(&m);
	cr_assert_eq(acpi_build_blobs(&m, &b), -EINVAL);
	cr_assert_null(b.tables);
}

/* A firmware-placed VM generation ID: the DSDT's ADDR holds a DWordConst with the ID's offset in
 * etc/vmgenid_guid, which the loader turns into its address (a 4-byte pointer into that file),
 * and the DSDT's checksum is fixed after it; once loaded, the tables are those of a direct boot
 * whose ID is at that address. */
Test(acpi_blobs, a_firmware_placed_vmgenid_loads_to_the_direct_tables)
{
	struct machine fw, direct_m;
	struct acpi_layout l;
	struct acpi_blobs b;

	for (int i = 0; i < 2; i++) {
		ovmf = i;
		tables_at = GPA + 64; /* a BIOS boot's machine: fixed hardware, its FACS first */
		machine(&fw, 2, true, true);
		cr_assert_eq(machine_set_acpi_ged(&fw, ACPI_GED_MMIO_BASE, 4, IRQ_ACPI_GED), 0);
		direct_m = fw;
		machine_set_vmgenid_by_firmware(&fw);
		cr_assert_eq(machine_set_vmgenid(&direct_m, GUID_AT + VMGENID_FW_ID_OFFSET), 0);
		cr_assert_eq(acpi_build(&direct_m, GPA, direct, sizeof(direct), &l), 0);
		cr_assert_eq(l.vmgenid_ptr, 0, "a direct boot patches nothing");
		cr_assert_eq(acpi_build_blobs(&fw, &b), 0);
		cr_assert_gt(b.layout.vmgenid_ptr, b.layout.dsdt);
		const struct acpi_reloc *r = &b.relocs[b.nrelocs - 1];
		cr_assert(r->to_vmgenid && !r->in_rsdp && r->size == 4);
		cr_assert_eq(r->offset, b.layout.vmgenid_ptr);
		cr_assert_eq(b.tables[r->offset - 1], 0x0C, "a DWordConst");
		cr_assert_eq(b.tables[r->offset], VMGENID_FW_ID_OFFSET);
		bool dsdt_summed = false;
		for (int k = 0; k < b.nsums; k++)
			dsdt_summed |= !b.sums[k].in_rsdp && b.sums[k].start == b.layout.dsdt;
		cr_assert(dsdt_summed, "the DSDT's checksum is fixed after the patch");
		load(&b);
		cr_assert_arr_eq(b.tables, direct + 64, b.tables_len, "the tables once loaded");
		acpi_blobs_free(&b);
	}
}
