#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"

struct recorder {
	uint64_t last_off;
	uint32_t last_len;
	uint32_t last_write;
	int reads, writes;
};

static void rec_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct recorder *r = opaque;
	r->reads++;
	r->last_off = off;
	r->last_len = len;
	memset(data, 0x42, len);
}

static void rec_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct recorder *r = opaque;
	r->writes++;
	r->last_off = off;
	r->last_len = len;
	r->last_write = 0;
	memcpy(&r->last_write, data, len < 4 ? len : 4);
}

static const struct io_ops rec_ops = {rec_read, rec_write};

Test(io_bus, dispatches_with_offset)
{
	struct io_bus bus;
	struct recorder a = {0}, b = {0};
	io_bus_init(&bus, "test");
	cr_assert_eq(io_bus_register(&bus, 0x3f8, 8, &rec_ops, &a, "a"), 0);
	cr_assert_eq(io_bus_register(&bus, 0x60, 1, &rec_ops, &b, "b"), 0);
	uint32_t v = 0x1234;
	cr_assert_eq(io_bus_write(&bus, 0x3fb, &v, 2), 1);
	cr_assert_eq(a.writes, 1);
	cr_assert_eq(a.last_off, 3);
	cr_assert_eq(a.last_write, 0x1234);
	uint8_t byte = 0;
	cr_assert_eq(io_bus_read(&bus, 0x60, &byte, 1), 1);
	cr_assert_eq(byte, 0x42);
	cr_assert_eq(b.reads, 1);
	io_bus_destroy(&bus);
}

Test(io_bus, unclaimed_reads_all_ones_writes_ignored)
{
	struct io_bus bus;
	struct recorder a = {0};
	io_bus_init(&bus, "test");
	cr_assert_eq(io_bus_register(&bus, 0x1000, 0x10, &rec_ops, &a, "a"), 0);
	uint32_t v = 0;
	cr_assert_eq(io_bus_read(&bus, 0x2000, &v, 4), 0);
	cr_assert_eq(v, 0xffffffff);
	cr_assert_eq(io_bus_write(&bus, 0xfff, &v, 1), 0);
	/* An access straddling the end of a range is not delivered half-way. */
	cr_assert_eq(io_bus_read(&bus, 0x100e, &v, 4), 0);
	cr_assert_eq(a.reads + a.writes, 0);
	io_bus_destroy(&bus);
}

Test(io_bus, overlaps_refused)
{
	struct io_bus bus;
	struct recorder a = {0};
	io_bus_init(&bus, "test");
	cr_assert_eq(io_bus_register(&bus, 0x100, 0x100, &rec_ops, &a, "a"), 0);
	cr_assert_eq(io_bus_register(&bus, 0x1ff, 1, &rec_ops, &a, "end"), -EEXIST);
	cr_assert_eq(io_bus_register(&bus, 0xff, 2, &rec_ops, &a, "start"), -EEXIST);
	cr_assert_eq(io_bus_register(&bus, 0x0, 0x1000, &rec_ops, &a, "cover"), -EEXIST);
	cr_assert_eq(io_bus_register(&bus, 0x200, 1, &rec_ops, &a, "after"), 0);
	cr_assert_eq(io_bus_register(&bus, 0xff, 1, &rec_ops, &a, "before"), 0);
	cr_assert_eq(io_bus_register(&bus, 0x5, 0, &rec_ops, &a, "empty"), -EINVAL);
	cr_assert_eq(io_bus_register(&bus, UINT64_MAX, 2, &rec_ops, &a, "wrap"), -EINVAL);
	cr_assert_eq(io_bus_register(&bus, UINT64_MAX, 1, &rec_ops, &a, "last"), 0);
	cr_assert_eq(bus.count, 4);
	io_bus_destroy(&bus);
}

Test(io_bus, unregister_frees_the_range)
{
	struct io_bus bus;
	struct recorder a = {0};
	io_bus_init(&bus, "test");
	for (int i = 0; i < 40; i++)
		cr_assert_eq(io_bus_register(&bus, 0x1000u * i, 0x10, &rec_ops, &a, "n"), 0);
	cr_assert_eq(io_bus_unregister(&bus, 0x5000), 0);
	cr_assert_eq(io_bus_unregister(&bus, 0x5000), -ENOENT);
	cr_assert_eq(io_bus_unregister(&bus, 0x6004), -ENOENT);
	uint8_t v;
	cr_assert_eq(io_bus_read(&bus, 0x5000, &v, 1), 0);
	cr_assert_eq(io_bus_read(&bus, 0x6000, &v, 1), 1);
	cr_assert_eq(io_bus_register(&bus, 0x5008, 0x10, &rec_ops, &a, "again"), 0);
	io_bus_destroy(&bus);
}

/* A handler that moves its own range, as a PCI BAR write does: must not deadlock. */
static struct io_bus *moving_bus;
static void move_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	(void)off;
	(void)len;
	uint32_t to;
	memcpy(&to, data, 4);
	cr_assert_eq(io_bus_unregister(moving_bus, 0x1000), 0);
	cr_assert_eq(io_bus_register(moving_bus, to, 0x10, &rec_ops, opaque, "moved"), 0);
}
static const struct io_ops move_ops = {rec_read, move_write};
static struct recorder moved;

Test(io_bus, handler_may_move_its_own_range, .timeout = 10)
{
	struct io_bus bus;
	io_bus_init(&bus, "test");
	moving_bus = &bus;
	cr_assert_eq(io_bus_register(&bus, 0x1000, 0x10, &move_ops, &moved, "m"), 0);
	uint32_t to = 0x8000;
	cr_assert_eq(io_bus_write(&bus, 0x1000, &to, 4), 1);
	uint32_t v;
	cr_assert_eq(io_bus_read(&bus, 0x1000, &v, 4), 0);
	cr_assert_eq(io_bus_read(&bus, 0x8000, &v, 4), 1);
	cr_assert_eq(moved.reads, 1);
	io_bus_destroy(&bus);
}
