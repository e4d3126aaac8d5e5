/* The VM generation ID (devices/vmgenid.h): a fresh VM gets 16 random bytes at the address the
 * DSDT names; each new generation (restore, clone, fork) gets other bytes, written to guest
 * memory before the GED's VMGENID event (an edge) tells the guest; a snapshot's ID comes back
 * without a write; bad addresses are refused. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/vmgenid.h"

#define GED_BASE 0xC0001000ULL

static struct guest_mem mem;
static struct io_bus bus;
static struct acpi_ged ged;
static int edges;
static uint8_t at_edge[VMGENID_SIZE]; /* guest memory when the line went up */

static void line(void *opaque, unsigned gsi, int level)
{
	(void)opaque, (void)gsi;
	if (level) {
		edges++;
		cr_assert_eq(guest_mem_read(&mem, VMGENID_ADDR, at_edge, VMGENID_SIZE), 0);
	}
}

static void setup(void)
{
	edges = 0;
	cr_assert_eq(guest_mem_alloc(&mem, MIB(2)), 0);
	io_bus_init(&bus, "mmio");
	cr_assert_eq(acpi_ged_attach(&ged, &bus, GED_BASE, (struct irq_line){line, NULL, 3}), 0);
}

static void teardown(void)
{
	guest_mem_free(&mem);
}

static void guest_id(uint8_t out[VMGENID_SIZE])
{
	cr_assert_eq(guest_mem_read(&mem, VMGENID_ADDR, out, VMGENID_SIZE), 0);
}

Test(vmgenid, boot_writes_a_random_id, .init = setup, .fini = teardown)
{
	struct vmgenid a, b;
	uint8_t seen[VMGENID_SIZE], zero[VMGENID_SIZE] = {0};

	cr_assert_eq(vmgenid_init(&a, VMGENID_ADDR), 0);
	guest_id(seen);
	cr_assert_eq(memcmp(seen, zero, sizeof(seen)), 0, "nothing written before the boot");
	cr_assert_eq(vmgenid_boot(&a, &mem), 0);
	guest_id(seen);
	cr_assert_eq(memcmp(seen, a.id, sizeof(seen)), 0, "the guest reads the device's ID");
	cr_assert_neq(memcmp(seen, zero, sizeof(seen)), 0);
	cr_assert_eq(a.generations, 1);
	cr_assert_eq(edges, 0, "a boot notifies nobody: the guest reads the ID when it probes");

	cr_assert_eq(vmgenid_init(&b, VMGENID_ADDR), 0);
	cr_assert_eq(vmgenid_boot(&b, &mem), 0);
	cr_assert_neq(memcmp(a.id, b.id, VMGENID_SIZE), 0, "two VMs, two IDs");
}

Test(vmgenid, each_new_generation_changes_the_id_then_notifies, .init = setup, .fini = teardown)
{
	struct vmgenid g;
	uint8_t before[VMGENID_SIZE], after[VMGENID_SIZE];

	cr_assert_eq(vmgenid_init(&g, VMGENID_ADDR), 0);
	cr_assert_eq(vmgenid_boot(&g, &mem), 0);
	for (int i = 1; i <= 3; i++) {
		guest_id(before);
		cr_assert_eq(vmgenid_new_generation(&g, &mem, &ged), 0);
		guest_id(after);
		cr_assert_neq(memcmp(before, after, VMGENID_SIZE), 0, "generation %d: a new ID", i);
		cr_assert_eq(memcmp(after, g.id, VMGENID_SIZE), 0);
		cr_assert_eq(edges, i, "one GED edge per generation");
		cr_assert_eq(memcmp(at_edge, after, VMGENID_SIZE), 0,
			     "the ID is in memory before the guest is told");
		uint32_t ev = 0;
		cr_assert_eq(io_bus_read(&bus, GED_BASE, &ev, 4), 1);
		cr_assert_eq(ev, ACPI_GED_VMGENID, "the _EVT method reads the VMGENID bit");
	}
	cr_assert_eq(g.generations, 4);
	cr_assert_eq(vmgenid_new_generation(&g, &mem, NULL), 0);
	cr_assert_eq(edges, 3, "no GED: the ID changes, nobody is told");
}

Test(vmgenid, a_snapshots_id_comes_back_without_a_write, .init = setup, .fini = teardown)
{
	struct vmgenid g;
	uint8_t saved[VMGENID_SIZE], seen[VMGENID_SIZE];

	memset(saved, 0x5A, sizeof(saved));
	cr_assert_eq(vmgenid_init(&g, VMGENID_ADDR), 0);
	vmgenid_set(&g, saved);
	cr_assert_eq(memcmp(g.id, saved, VMGENID_SIZE), 0);
	guest_id(seen);
	cr_assert_neq(memcmp(seen, saved, VMGENID_SIZE), 0, "guest memory is the snapshot's own");
	cr_assert_eq(vmgenid_new_generation(&g, &mem, &ged), 0);
	cr_assert_neq(memcmp(g.id, saved, VMGENID_SIZE), 0,
		      "the restore's new ID is not the saved one");
}

/* --firmware: the firmware places the ID and says where (guest input). Until then nothing is
 * written and nobody is told; a bad place is refused and changes nothing. */
Test(vmgenid, a_firmware_places_the_id, .init = setup, .fini = teardown)
{
	struct vmgenid g;
	uint8_t seen[VMGENID_SIZE], zero[VMGENID_SIZE] = {0};
	struct layout_range ram[LAYOUT_RAM_RANGES_MAX];
	layout_ram_ranges(MIB(2), ram); /* setup()'s RAM: from 0 on x86, from 2 GiB on aarch64 */
	const uint64_t at = ram[0].start + MIB(1) + VMGENID_FW_ID_OFFSET;

	cr_assert_eq(vmgenid_init(&g, 0), 0);
	cr_assert_eq(vmgenid_boot(&g, &mem), 0, "an ID for fw_cfg, no write");
	cr_assert_neq(memcmp(g.id, zero, VMGENID_SIZE), 0);
	cr_assert_eq(vmgenid_new_generation(&g, &mem, &ged), 0);
	cr_assert_eq(edges, 0, "unplaced: no guest can have found it");
	cr_redirect_stderr();
	cr_assert_eq(vmgenid_place(&g, &mem, at + 4), -EINVAL, "not 8-byte aligned");
	cr_assert_eq(vmgenid_place(&g, &mem, ram[0].start + MIB(2) - 8), -EINVAL, "runs past RAM");
	cr_assert_eq(vmgenid_place(&g, &mem, 0), -EINVAL);
	cr_assert_eq(g.gpa, 0);
	cr_assert_eq(vmgenid_place(&g, &mem, at), 0);
	cr_assert_eq(guest_mem_read(&mem, at, seen, VMGENID_SIZE), 0);
	cr_assert_eq(memcmp(seen, zero, VMGENID_SIZE), 0, "placing writes nothing");
	cr_assert_eq(vmgenid_new_generation(&g, &mem, &ged), 0);
	cr_assert_eq(guest_mem_read(&mem, at, seen, VMGENID_SIZE), 0);
	cr_assert_eq(memcmp(seen, g.id, VMGENID_SIZE), 0, "a new generation lands where placed");
	cr_assert_eq(edges, 1);
}

Test(vmgenid, bad_addresses_are_refused, .init = setup, .fini = teardown)
{
	struct vmgenid g;

	cr_assert_eq(vmgenid_init(&g, VMGENID_ADDR + 4), -EINVAL, "the paper wants 8-byte aligned");
	cr_redirect_stderr();
	cr_assert_eq(vmgenid_init(&g, MIB(4)), 0);
	cr_assert_neq(vmgenid_boot(&g, &mem), 0, "outside guest RAM");
	cr_assert_neq(vmgenid_new_generation(&g, &mem, &ged), 0);
	cr_assert_eq(edges, 0, "no notify without the ID in memory");
}
