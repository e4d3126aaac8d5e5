/* The GICv2m MSI frame through a real MMIO bus: MSI_TYPER as Linux's irq-gic-v2m reads it, a
 * write of an INTID of the frame's SPIs pulsing that SPI and nothing else, odd accesses, and the
 * message test the VMM's routes use. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/gicv2m.h"

#define BASE  0x3ffd0000ULL
#define FIRST 64 /* SPI offset: INTID 96 */
#define COUNT 64

static struct io_bus bus;
static struct gicv2m v2m;
static struct {
	unsigned line;
	int level;
} events[16];
static int nevents;

static void rec_spi(void *opaque, unsigned line, int level)
{
	(void)opaque;
	cr_assert_lt(nevents, 16);
	events[nevents].line = line;
	events[nevents++].level = level;
}

static void setup(void)
{
	struct gicv2m_frame f = {BASE, FIRST, COUNT};
	nevents = 0;
	io_bus_init(&bus, "mmio");
	cr_assert_eq(gicv2m_attach(&v2m, &bus, f, (struct irq_line){.set = rec_spi}), 0);
}

static void teardown(void)
{
	gicv2m_detach(&v2m, &bus);
	io_bus_destroy(&bus);
}

static uint32_t rd(uint64_t reg, uint32_t len)
{
	uint32_t v = 0xdeadbeef;
	cr_assert_eq(io_bus_read(&bus, BASE + reg, &v, len), 1);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void wr(uint64_t reg, uint32_t val, uint32_t len)
{
	cr_assert_eq(io_bus_write(&bus, BASE + reg, &val, len), 1);
}

TestSuite(gicv2m, .init = setup, .fini = teardown);

Test(gicv2m, typer_names_the_frames_spis)
{
	uint32_t typer = rd(GICV2M_MSI_TYPER, 4);
	cr_assert_eq((typer >> 16) & 0x3ff, 32 + FIRST, "first INTID");
	cr_assert_eq(typer & 0x3ff, COUNT);
	cr_assert_eq(rd(GICV2M_MSI_IIDR, 4), 0);
	cr_assert_eq(rd(GICV2M_MSI_SETSPI_NS, 4), 0, "write-only");
	cr_assert_eq(rd(GICV2M_MSI_TYPER, 2), 0, "not a 4-byte read");
	cr_assert_eq(rd(0x800, 4), 0);
}

Test(gicv2m, setspi_pulses_the_spi)
{
	wr(GICV2M_MSI_SETSPI_NS, 32 + FIRST + 5, 4);
	cr_assert_eq(nevents, 2);
	cr_assert_eq(events[0].line, FIRST + 5);
	cr_assert_eq(events[0].level, 1);
	cr_assert_eq(events[1].line, FIRST + 5);
	cr_assert_eq(events[1].level, 0);
	wr(GICV2M_MSI_SETSPI_NS, 32 + FIRST + COUNT - 1, 4);
	cr_assert_eq(nevents, 4, "the last SPI of the frame");
	cr_assert_eq(events[2].line, FIRST + COUNT - 1);
}

/* What a guest must not reach through the frame: SPIs outside its range, SGIs and PPIs, special
 * INTIDs, other registers, partial writes. */
Test(gicv2m, other_writes_do_nothing)
{
	const uint32_t bad[] = {0,    15,   31,	       32, 32 + FIRST - 1, 32 + FIRST + COUNT,
				1020, 1023, 0xffffffff};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		wr(GICV2M_MSI_SETSPI_NS, bad[i], 4);
	wr(GICV2M_MSI_SETSPI_NS, 32 + FIRST, 2);
	wr(GICV2M_MSI_SETSPI_NS, 32 + FIRST, 1);
	wr(GICV2M_MSI_TYPER, 32 + FIRST, 4);
	wr(GICV2M_MSI_SETSPI_NS + 4, 32 + FIRST, 4);
	cr_assert_eq(nevents, 0);
	uint64_t wide = 32 + FIRST;
	cr_assert_eq(io_bus_write(&bus, BASE + GICV2M_MSI_SETSPI_NS, &wide, 8), 1);
	cr_assert_eq(nevents, 0, "an 8-byte write is not the register's");
}

Test(gicv2m, msi_line_matches_address_and_data)
{
	struct gicv2m_frame f = {BASE, FIRST, COUNT};
	unsigned line = 12345;
	cr_assert(gicv2m_msi_line(&f, BASE + GICV2M_MSI_SETSPI_NS, 32 + FIRST, &line));
	cr_assert_eq(line, FIRST);
	cr_assert_not(gicv2m_msi_line(&f, BASE, 32 + FIRST, &line), "not the doorbell");
	cr_assert_not(gicv2m_msi_line(&f, 0xfee00000, 32 + FIRST, &line), "an x86 address");
	cr_assert_not(gicv2m_msi_line(&f, BASE + GICV2M_MSI_SETSPI_NS, 32 + FIRST + COUNT, &line));
	cr_assert_not(gicv2m_msi_line(&f, BASE + GICV2M_MSI_SETSPI_NS, 31, &line));
}

Test(gicv2m, bad_frames_are_refused, .init = NULL, .fini = NULL)
{
	struct io_bus b;
	struct gicv2m v;
	const struct gicv2m_frame bad[] = {
	    {BASE, FIRST, 0},		    /* no SPI */
	    {BASE, 0, GICV2M_MAX_SPIS + 1}, /* past INTID 1019 */
	    {BASE, GICV2M_MAX_SPIS - 1, 2}, /* the same */
	    {BASE + 0x40, FIRST, COUNT},    /* not page-aligned */
	    {BASE, 0xfffffff0u, 0x20},	    /* wraps */
	};
	io_bus_init(&b, "mmio");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gicv2m_attach(&v, &b, bad[i], (struct irq_line){0}), -EINVAL,
			     "frame %u", i);
	struct gicv2m_frame all = {BASE, 0, GICV2M_MAX_SPIS};
	cr_assert_eq(gicv2m_attach(&v, &b, all, (struct irq_line){0}), 0, "INTIDs 32..1019");
	gicv2m_detach(&v, &b);
	io_bus_destroy(&b);
}
