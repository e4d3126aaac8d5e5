/* A virtio driver in miniature, for unit tests and fuzzers of the device-side virtqueue.
 *
 * It builds fake guest RAM over a heap buffer (guest_mem_add_region), lays out a split or packed
 * ring in it, allocates guest buffers from a bump heap, and writes descriptors, ring entries,
 * indices and event fields the way a driver does (virtio 1.2 2.7.13, 2.8.21). High-level calls
 * build legal chains; low-level calls write any value, so tests can build hostile rings.
 * It touches guest memory only through base/guest_mem.h, with the driver-side barriers. */
#ifndef TESTS_MOCK_DRIVER_H
#define TESTS_MOCK_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"
#include "virtio/queue/virtqueue.h"

/* Fake guest RAM: one region [gpa, gpa + size) backed by a zeroed, 4 KiB-aligned host buffer. */
struct mock_ram {
	struct guest_mem mem;
	uint8_t *host;
	uint64_t gpa;
	uint64_t size;
};

/* Returns 0 or -ENOMEM / -EINVAL. */
int mock_ram_init(struct mock_ram *ram, uint64_t gpa, uint64_t size);
void mock_ram_free(struct mock_ram *ram);
/* Host pointer for a guest address inside the RAM (NULL outside), for test inspection. */
void *mock_ram_host(const struct mock_ram *ram, uint64_t gpa);

/* One buffer of a chain as the driver sees it. */
struct mock_buf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

struct mock_vq {
	struct mock_ram *ram;
	bool packed;
	uint16_t size;
	uint64_t desc;	 /* Descriptor Area */
	uint64_t driver; /* avail ring / driver event suppression */
	uint64_t device; /* used ring / device event suppression */
	uint64_t heap;	 /* next free byte for buffers and indirect tables */
	uint64_t heap_end;

	/* split driver state */
	uint16_t avail_idx; /* next avail->idx to publish */
	uint16_t next_desc; /* next descriptor slot handed out (round robin) */
	uint16_t used_seen; /* used entries consumed */

	/* packed driver state (2.8.1: both wrap counters start at 1) */
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
	uint16_t *id_ndescs; /* descriptors per buffer id, to skip used slots (2.8.6) */
};

/* Lays out a ring of `size` entries at `ring_gpa` (split: desc, avail, used packed tightly with
 * their alignments; packed: desc ring, driver event, device event) and zeroes it. The buffer
 * heap starts after the rings and runs to the end of RAM. Returns 0 or -EINVAL / -ENOMEM. */
int mock_vq_init(struct mock_vq *mv, struct mock_ram *ram, uint16_t size, bool packed,
		 uint64_t ring_gpa);
void mock_vq_free(struct mock_vq *mv);

/* What the transport does: copies size and ring addresses into the device's queue, then
 * vq_activate() with `features` (VIRTIO_F_RING_PACKED is added for a packed mock). Returns
 * vq_activate()'s result. */
int mock_vq_attach(const struct mock_vq *mv, struct virtqueue *vq, uint64_t features);

/* Allocates `len` bytes (16-aligned) from the heap; 0 when exhausted. mock_fill also copies
 * `data` into them. */
uint64_t mock_alloc(struct mock_vq *mv, uint32_t len);
uint64_t mock_fill(struct mock_vq *mv, const void *data, uint32_t len);

/* ---- split ring, low level (any value) ---- */
void mock_split_desc(struct mock_vq *mv, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next);
/* A descriptor in a table at `table` (indirect tables; same layout as the ring's). */
void mock_split_table_desc(struct mock_vq *mv, uint64_t table, uint16_t idx, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next);
void mock_split_avail_entry(struct mock_vq *mv, uint16_t slot, uint16_t head);
/* Store-release of avail->idx (the driver's publish, 2.7.13.3). Sets mv->avail_idx too. */
void mock_split_set_avail_idx(struct mock_vq *mv, uint16_t idx);
void mock_split_set_avail_flags(struct mock_vq *mv, uint16_t flags);
void mock_split_set_used_event(struct mock_vq *mv, uint16_t v);
uint16_t mock_split_used_idx(const struct mock_vq *mv);
uint16_t mock_split_used_flags(const struct mock_vq *mv);
uint16_t mock_split_avail_event(const struct mock_vq *mv);
/* used->ring[slot % size]. */
void mock_split_used_elem(const struct mock_vq *mv, uint16_t slot, uint32_t *id, uint32_t *len);

/* ---- split ring, high level ---- */
/* Writes bufs[0..n) as a NEXT-linked chain into free descriptor slots, adds it to the avail ring
 * and publishes avail->idx. Returns the head index, or -1 if n is 0 or > size. */
int mock_split_add(struct mock_vq *mv, const struct mock_buf *bufs, int n);
/* Writes bufs[0..n) as a next-linked indirect table in the heap; returns its address. */
uint64_t mock_split_table(struct mock_vq *mv, const struct mock_buf *bufs, int n);
/* One ring descriptor with VRING_DESC_F_INDIRECT pointing at a new table of bufs; published.
 * Returns the head index or -1. */
int mock_split_add_indirect(struct mock_vq *mv, const struct mock_buf *bufs, int n);
/* Consumes the next used element if the device published one: returns 1 and fills id/len, or 0. */
int mock_split_get_used(struct mock_vq *mv, uint32_t *id, uint32_t *len);

/* ---- packed ring, low level ---- */
void mock_packed_desc(struct mock_vq *mv, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id,
		      uint16_t flags);
/* AVAIL/USED bits marking a descriptor available for the given driver wrap counter (2.8.1). */
uint16_t mock_packed_avail_bits(bool wrap);
void mock_packed_read_desc(const struct mock_vq *mv, uint16_t slot, uint64_t *addr, uint32_t *len,
			   uint16_t *id, uint16_t *flags);
void mock_packed_set_driver_event(struct mock_vq *mv, uint16_t off_wrap, uint16_t flags);
void mock_packed_device_event(const struct mock_vq *mv, uint16_t *off_wrap, uint16_t *flags);

/* ---- packed ring, high level ---- */
/* Writes bufs[0..n) at the next slots (wrapping), id in the last one, the first one's flags
 * last with a release store, as in 2.8.21's example. Returns id, or -1 if n is 0 or > size. */
int mock_packed_add(struct mock_vq *mv, const struct mock_buf *bufs, int n, uint16_t id);
/* Writes bufs[0..n) as a packed indirect table (2.8.7) in the heap; returns its address. */
uint64_t mock_packed_table(struct mock_vq *mv, const struct mock_buf *bufs, int n);
/* One descriptor with VRING_DESC_F_INDIRECT pointing at a new table of bufs. Returns id. */
int mock_packed_add_indirect(struct mock_vq *mv, const struct mock_buf *bufs, int n, uint16_t id);
/* Consumes the next used descriptor: returns 1 with id/len/flags, 0 if none yet. Skips the slots
 * of the whole list (2.8.6) using the count recorded by mock_packed_add. */
int mock_packed_get_used(struct mock_vq *mv, uint16_t *id, uint32_t *len, uint16_t *flags);

/* ---- one-call fixture: RAM, a mock ring and the device's activated queue ---- */
#define MOCK_RAM_GPA  0x100000ull /* not 0, so address 0 is outside RAM */
#define MOCK_RAM_SIZE (4ull << 20)

struct mock_env {
	struct mock_ram ram;
	struct mock_vq mv;
	struct virtqueue vq;
	const struct guest_mem *mem; /* &ram.mem */
};

/* RAM at MOCK_RAM_GPA, rings at its start, queue of `size` (device max VQ_MAX_SIZE) attached
 * with `features`. Returns 0 or the first error. */
int mock_env_init(struct mock_env *env, uint16_t size, bool packed, uint64_t features);
void mock_env_free(struct mock_env *env);

#endif
