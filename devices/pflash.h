/* A parallel NOR flash with the Intel/Sharp command set (CFI "basic", command set 0x0001), one
 * byte wide: where a UEFI firmware keeps its non-volatile variables. OVMF's flash driver
 * (OvmfPkg/QemuFlashFvbServicesRuntimeDxe) drives it as QEMU's pflash_cfi01 behaves: it probes
 * with Clear Status (0x50) and Read Status (0x70) and takes the part for flash when the status
 * then reads 0x00; it programs a byte with 0x10 (or 0x40) and the byte, erases a 4 KiB block
 * with 0x20 and the confirmation 0xD0 at the block, and goes back to reading the array with
 * 0xFF. A program overwrites the byte (QEMU's model, which OVMF is tested on; a real part can
 * only clear bits). Other commands (identifier, CFI query, buffered program, lock bits) are not
 * implemented: the part goes back to reading the array, as after an unknown command.
 *
 * The array is the caller's memory (`mem`, `size` bytes): the VMM maps the per-VM variable
 * file there shared, so a program reaches the file at once. In read-array mode the VMM also maps
 * the array read-only into the guest (set_romd(true)): reads cost no exit, writes still arrive
 * as MMIO. Any other mode unmaps it (set_romd(false)) so that reads come here and return the
 * status register, as on the real part.
 *
 * A guest can only change the array through programs and erases within it, and the mode; every
 * write is checked against the range (the I/O bus gives only accesses inside it).
 *
 * Threads: reads and writes from any vCPU thread, under the device's lock; set_romd() is called
 * under it (the mode and the mapping change together). */
#ifndef DEVICES_PFLASH_H
#define DEVICES_PFLASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"

#define PFLASH_BLOCK 0x1000u /* an erase block: QEMU's sector-length for OVMF, its FVB block */

/* The commands (the first cycle's data byte). */
enum {
	PFLASH_CMD_PROGRAM = 0x10, /* also 0x40 */
	PFLASH_CMD_ERASE = 0x20,   /* then PFLASH_CMD_CONFIRM at the block */
	PFLASH_CMD_CLEAR_STATUS = 0x50,
	PFLASH_CMD_READ_STATUS = 0x70,
	PFLASH_CMD_CONFIRM = 0xd0,
	PFLASH_CMD_READ_ARRAY = 0xff, /* also 0x00 */
};

/* The status register's bits. */
#define PFLASH_STATUS_READY	    0x80u
#define PFLASH_STATUS_ERASE_ERROR   0x20u
#define PFLASH_STATUS_PROGRAM_ERROR 0x10u

/* What the part does with the next access. */
enum pflash_mode {
	PFLASH_READ_ARRAY = 0, /* reads: the array */
	PFLASH_READ_STATUS,    /* reads: the status register */
	PFLASH_PROGRAM,	       /* the next write is the byte to program */
	PFLASH_ERASE,	       /* the next write must confirm the erase */
};

/* Its state, as a snapshot saves it (the array is saved beside it). */
struct pflash_state {
	uint8_t mode; /* enum pflash_mode */
	uint8_t status;
	uint8_t pad[6];
};

struct pflash {
	uint8_t *mem; /* the array */
	uint64_t size;
	uint64_t base; /* guest-physical */
	const char *name;
	pthread_mutex_t lock;
	enum pflash_mode mode;
	uint8_t status;
	bool romd; /* the array is mapped for the guest's reads */
	/* Maps (true) or unmaps (false) the array for the guest's reads; 0 or -errno. NULL: reads
	 * always come here (unit tests, fuzzing). */
	int (*set_romd)(void *opaque, bool on);
	void *opaque;
	/* counts: bytes programmed, blocks erased, writes that were no command, mappings of the
	 * array changed */
	uint64_t programs, erases, ignored, remaps;
};

/* Claims [base, base + size) on `mmio` for the array at `mem` (size: a multiple of
 * PFLASH_BLOCK), in read-array mode with its status ready, and maps it (set_romd(true)) when
 * given. 0 or -errno (logged). */
int pflash_attach(struct pflash *f, struct io_bus *mmio, uint64_t base, uint8_t *mem, uint64_t size,
		  const char *name, int (*set_romd)(void *opaque, bool on), void *opaque);
void pflash_detach(struct pflash *f, struct io_bus *mmio);

/* The bus's handlers, for tests and fuzzing (`offset` inside the array). */
void pflash_read(struct pflash *f, uint64_t offset, void *data, uint32_t len);
void pflash_write(struct pflash *f, uint64_t offset, const void *data, uint32_t len);

/* The mode and status (a snapshot's); the array is the caller's memory. */
struct pflash_state pflash_save(struct pflash *f);
/* Puts a saved state back (the array already holds the saved bytes) and maps or unmaps the
 * array to match it. 0, -EINVAL for a state no part could be in (nothing changed), or -EIO
 * when set_romd() could not change the mapping (the mode is the saved one; reads are still
 * served, through the bus). */
int pflash_load(struct pflash *f, const struct pflash_state *s);

#endif
