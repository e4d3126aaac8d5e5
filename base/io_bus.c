/* Port-I/O and MMIO dispatch: a sorted array of claimed ranges, searched by binary search. */
#include "base/io_bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	bus->ranges = NULL;
	bus->count = bus->cap = 0;
}

/* Index of the first range whose base is > addr (ranges sorted by base). */
static int upper_bound(const struct io_bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->count;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool overlaps(const struct io_range *r, uint64_t base, uint64_t last)
{
	return base <= r->base + (r->len - 1) && r->base <= last;
}

static int grow(struct io_bus *bus)
{
	if (bus->count < bus->cap)
		return 0;
	int cap = bus->cap ? bus->cap * 2 : 16;
	struct io_range *r = realloc(bus->ranges, (size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	bus->ranges = r;
	bus->cap = cap;
	return 0;
}

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
		    void *opaque, const char *name)
{
	uint64_t last;
	if (len == 0 || !ops || __builtin_add_overflow(base, len - 1, &last))
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	int pos = upper_bound(bus, base);
	int err = 0;
	if ((pos > 0 && overlaps(&bus->ranges[pos - 1], base, last)) ||
	    (pos < bus->count && overlaps(&bus->ranges[pos], base, last)))
		err = -EEXIST;
	if (!err)
		err = grow(bus);
	if (!err) {
		memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
			(size_t)(bus->count - pos) * sizeof(bus->ranges[0]));
		bus->ranges[pos] = (struct io_range){base, len, ops, opaque, name};
		bus->count++;
	}
	pthread_rwlock_unlock(&bus->lock);
	return err;
}

int io_bus_unregister(struct io_bus *bus, uint64_t base)
{
	int err = -ENOENT;
	pthread_rwlock_wrlock(&bus->lock);
	int pos = upper_bound(bus, base) - 1;
	if (pos >= 0 && bus->ranges[pos].base == base) {
		memmove(&bus->ranges[pos], &bus->ranges[pos + 1],
			(size_t)(bus->count - pos - 1) * sizeof(bus->ranges[0]));
		bus->count--;
		err = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return err;
}

/* The range that holds the whole access [addr, addr+len), or NULL. Caller holds the lock. */
static const struct io_range *lookup(const struct io_bus *bus, uint64_t addr, uint32_t len)
{
	int pos = upper_bound(bus, addr) - 1;
	if (pos < 0 || len == 0)
		return NULL;
	const struct io_range *r = &bus->ranges[pos];
	uint64_t off = addr - r->base;
	if (off >= r->len || len > r->len - off)
		return NULL;
	return r;
}

/* Copies the range that takes the access, so the handler runs without the bus lock: a handler
 * may then (un)register ranges itself (a PCI config write moving a BAR). */
static bool find(struct io_bus *bus, uint64_t addr, uint32_t len, struct io_range *out)
{
	pthread_rwlock_rdlock(&bus->lock);
	const struct io_range *r = lookup(bus, addr, len);
	if (r)
		*out = *r;
	pthread_rwlock_unlock(&bus->lock);
	return r != NULL;
}

int io_bus_read(struct io_bus *bus, uint64_t addr, void *data, uint32_t len)
{
	struct io_range r;
	if (find(bus, addr, len, &r) && r.ops->read) {
		r.ops->read(r.opaque, addr - r.base, data, len);
		return 1;
	}
	memset(data, 0xff, len);
	log_debug("%s: unclaimed read of %u bytes at 0x%llx", bus->name, len,
		  (unsigned long long)addr);
	return 0;
}

int io_bus_write(struct io_bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	struct io_range r;
	if (find(bus, addr, len, &r)) {
		if (r.ops->write)
			r.ops->write(r.opaque, addr - r.base, data, len);
		return 1;
	}
	log_debug("%s: unclaimed write of %u bytes at 0x%llx", bus->name, len,
		  (unsigned long long)addr);
	return 0;
}
