/* A fuzzer-driven virtio driver: lays out split or packed rings in fake guest RAM (fuzz_mem.h)
 * and performs one driver-side operation per call, decoded from the fuzz input: legal chains
 * (direct or indirect) with fuzzed buffers, and hostile raw writes of descriptors, ring entries,
 * indices, event fields or any bytes. Shared by the ring targets and the device targets. */
#ifndef TOOLS_FUZZ_FUZZ_DRV_H
#define TOOLS_FUZZ_FUZZ_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

enum fz_drv_op {
	FZ_DRV_ADD_CHAIN,    /* 1-8 buffers, NEXT-linked, published */
	FZ_DRV_ADD_INDIRECT, /* one ring descriptor pointing at a table of 1-16 buffers */
	FZ_DRV_ADD_REQUEST,  /* readable buffers filled with input bytes, then writable ones */
	FZ_DRV_RAW_DESC,     /* 16 raw bytes into a descriptor slot */
	FZ_DRV_RAW_AVAIL,    /* split: avail ring entry; packed: a descriptor's flags */
	FZ_DRV_AVAIL_IDX,    /* split: avail->idx (+delta or raw); packed: driver event area */
	FZ_DRV_EVENT,	     /* split: used_event / avail flags; packed: driver event flags */
	FZ_DRV_SCRIBBLE,     /* up to 64 input bytes anywhere (rings included) */
	FZ_DRV_NOPS
};

struct fz_drv {
	struct fz_mem *m;
	bool packed;
	uint16_t size; /* the driver's queue size (a power of two for split) */
	uint64_t desc, driver, device;
	uint64_t heap_lo, heap_hi; /* where buffers usually go */

	uint16_t avail_idx;  /* split: next avail->idx */
	uint16_t next_desc;  /* split: next free descriptor slot (round robin) */
	uint16_t next_avail; /* packed: next slot */
	bool avail_wrap;     /* packed: driver ring wrap counter (2.8.1) */
	uint16_t next_id;    /* packed: next Buffer ID */
};

/* Ring extents (bytes) for a queue of n entries (2.7, 2.8.10.1). */
uint64_t fz_split_avail_size(uint32_t n);
uint64_t fz_split_used_size(uint32_t n);

/* Lays rings of `size` entries out from `base` (desc, then avail, used; packed: desc ring, then
 * driver and device event areas), aligned, and sets the buffer heap to the rest of RAM. Zeroes
 * the rings. */
void fz_drv_layout(struct fz_drv *d, struct fz_mem *m, bool packed, uint16_t size, uint64_t base);

/* Forgets driver state (indices, wrap) and zeroes the rings, as a driver does after a reset. */
void fz_drv_reset(struct fz_drv *d);

/* One driver operation `op` (enum fz_drv_op) with its arguments taken from `in`. */
void fz_drv_op(struct fz_drv *d, struct fz_in *in, unsigned op);

/* A guest address for a buffer: usually in the heap, sometimes at a region edge, in a ring, or
 * anything. And a length: usually small, sometimes 0, huge, or exactly to the end of RAM. */
uint64_t fz_drv_pick_addr(struct fz_drv *d, struct fz_in *in);
uint32_t fz_drv_pick_len(struct fz_drv *d, struct fz_in *in);

/* Adds one chain of n buffers (addr/len/write given) as the high-level ops do. */
void fz_drv_add(struct fz_drv *d, const uint64_t *addr, const uint32_t *len, const bool *write,
		unsigned n);

#endif
