/* The Generic Event Device (devices/acpi_ged.h): an event sets its bit and pulses the line
 * (an edge: up, then down); a read of the register returns the pending bits and clears them;
 * writes and other offsets do nothing; unknown events are refused. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>

#include "base/io_bus.h"
#include "devices/acpi_ged.h"

#define BASE 0xC0001000ULL
#define GSI  3

struct line_rec {
	int changes;
	int levels[8];
	unsigned gsi;
};

static void rec_set(void *opaque, unsigned gsi, int level)
{
	struct line_rec *r = opaque;
	r->gsi = gsi;
	if (r->changes < 8)
		r->levels[r->changes] = level;
	r->changes++;
}

static struct io_bus bus;
static struct acpi_ged ged;
static struct line_rec rec;

static void setup(void)
{
	rec = (struct line_rec){0};
	io_bus_init(&bus, "mmio");
	cr_assert_eq(acpi_ged_attach(&ged, &bus, BASE, (struct irq_line){rec_set, &rec, GSI}), 0);
}

static uint32_t read_reg(uint64_t off)
{
	uint32_t v = 0xFFFFFFFF;
	cr_assert_eq(io_bus_read(&bus, BASE + off, &v, 4 - (uint32_t)off), 1);
	return off ? v & (0xFFFFFFFFu >> (8 * off)) : v;
}

Test(acpi_ged, an_event_is_an_edge_and_a_read_clears_it, .init = setup)
{
	cr_assert_eq(read_reg(0), 0, "nothing pending at first");
	cr_assert_eq(rec.changes, 0);
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_POWER_BUTTON), 0);
	cr_assert_eq(rec.changes, 2);
	cr_assert_eq(rec.gsi, GSI);
	cr_assert_eq(rec.levels[0], 1, "the line goes up");
	cr_assert_eq(rec.levels[1], 0, "and down: an edge");
	cr_assert_eq(read_reg(0), ACPI_GED_POWER_BUTTON, "the _EVT method's read");
	cr_assert_eq(read_reg(0), 0, "read once: cleared");
}

Test(acpi_ged, events_before_a_read_add_up, .init = setup)
{
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_POWER_BUTTON), 0);
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_POWER_BUTTON), 0);
	cr_assert_eq(rec.changes, 4, "each event its own edge");
	cr_assert_eq(ged.events, 2);
	cr_assert_eq(read_reg(0), ACPI_GED_POWER_BUTTON);
}

Test(acpi_ged, writes_and_other_offsets_do_nothing, .init = setup)
{
	uint32_t ones = 0xFFFFFFFF;
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_POWER_BUTTON), 0);
	cr_assert_eq(io_bus_write(&bus, BASE, &ones, 4), 1);
	cr_assert_eq(read_reg(2), 0, "offset 2 reads 0 and clears nothing");
	cr_assert_eq(read_reg(0), ACPI_GED_POWER_BUTTON, "a write does not acknowledge");
	cr_assert_eq(rec.changes, 2, "neither raises the line");
}

Test(acpi_ged, unknown_events_are_refused, .init = setup)
{
	cr_assert_eq(acpi_ged_event(&ged, 0), -EINVAL);
	cr_assert_eq(acpi_ged_event(&ged, 1u << 5), -EINVAL);
	cr_assert_eq(rec.changes, 0);
	cr_assert_eq(read_reg(0), 0);
}

Test(acpi_ged, the_window_is_claimed_once, .init = cr_redirect_stderr)
{
	struct acpi_ged other;
	setup();
	cr_assert_neq(acpi_ged_attach(&other, &bus, BASE, (struct irq_line){rec_set, &rec, GSI}),
		      0);
	acpi_ged_detach(&ged, &bus);
	cr_assert_eq(acpi_ged_attach(&other, &bus, BASE, (struct irq_line){rec_set, &rec, GSI}), 0);
}

Test(acpi_ged, the_vmgenid_event_is_bit_2, .init = setup)
{
	cr_assert_eq(ACPI_GED_VMGENID, 4u,
		     "the DSDT's _EVT tests this bit (ACPI_GED_EVENT_VMGENID)");
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_VMGENID), 0);
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_POWER_BUTTON), 0);
	cr_assert_eq(read_reg(0), ACPI_GED_VMGENID | ACPI_GED_POWER_BUTTON, "both in one read");
}

/* A snapshot keeps the events the guest has not read; the restore raises the line again. */
Test(acpi_ged, pending_events_are_saved_and_restored, .init = setup)
{
	cr_assert_eq(acpi_ged_event(&ged, ACPI_GED_VMGENID), 0);
	uint32_t saved = acpi_ged_pending(&ged);
	cr_assert_eq(saved, ACPI_GED_VMGENID);
	cr_assert_eq(acpi_ged_pending(&ged), saved, "looking does not acknowledge");

	struct acpi_ged restored;
	struct io_bus bus2;
	struct line_rec rec2 = {0};
	io_bus_init(&bus2, "mmio");
	cr_assert_eq(
	    acpi_ged_attach(&restored, &bus2, BASE, (struct irq_line){rec_set, &rec2, GSI}), 0);
	cr_assert_eq(acpi_ged_set_pending(&restored, saved), 0);
	cr_assert_eq(rec2.changes, 2, "an edge for the restored events");
	uint32_t v = 0;
	cr_assert_eq(io_bus_read(&bus2, BASE, &v, 4), 1);
	cr_assert_eq(v, ACPI_GED_VMGENID, "the guest's _EVT reads them");

	cr_assert_eq(acpi_ged_set_pending(&restored, 0), 0);
	cr_assert_eq(rec2.changes, 2, "nothing pending: no edge");
	cr_assert_eq(acpi_ged_set_pending(&restored, 1u << 7), -EINVAL, "a hostile snapshot");
	cr_assert_eq(acpi_ged_pending(&restored), 0, "left as it was");
}
