/* The I/O dispatcher: one bus for port I/O and one for MMIO.
 *
 * Devices claim non-overlapping ranges; a vCPU exit is routed to the range's handler with the
 * offset inside the range. Unclaimed reads return all-ones, unclaimed writes are ignored (logged
 * at debug level). Safe to call from several vCPU threads at once; registration may happen while
 * vCPUs run (PCI BAR moves), guarded by a read-write lock. Handlers run without the lock, so a
 * handler may itself register or unregister ranges; the `opaque` of an unregistered range must
 * stay valid until the vCPUs have stopped (device objects live as long as the VM). */
#ifndef VMM_IO_BUS_H
#define VMM_IO_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Handlers get the offset from the range base and an access of 1, 2, 4 or 8 bytes, little endian.
 * A read handler must fill all `len` bytes of `data`. */
struct io_ops {
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

struct io_range {
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	void *opaque;
	const char *name;
};

struct io_bus {
	const char *name;	 /* "pio" or "mmio", for messages */
	struct io_range *ranges; /* sorted by base */
	int count;
	int cap;
	pthread_rwlock_t lock;
};

void io_bus_init(struct io_bus *bus, const char *name);
void io_bus_destroy(struct io_bus *bus);

/* Claims [base, base+len). Returns 0, -EINVAL (len 0 or overflow), -EEXIST (overlaps a claimed
 * range) or -ENOMEM. */
int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
		    void *opaque, const char *name);

/* Releases the range that starts at `base`. Returns 0 or -ENOENT. */
int io_bus_unregister(struct io_bus *bus, uint64_t base);

/* Dispatch one access. An access that starts inside a range but runs past its end is split:
 * the claimed part goes to the handler only if it fits entirely, otherwise it is treated as
 * unclaimed. Returns 1 when a handler took the access, 0 when it was unclaimed. */
int io_bus_read(struct io_bus *bus, uint64_t addr, void *data, uint32_t len);
int io_bus_write(struct io_bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
