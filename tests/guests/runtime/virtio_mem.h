/* Memory the virtio devices read and write (rings, indirect tables, request buffers).
 *
 * A bump allocator over guest RAM just past the loaded image (from the next 1 MiB boundary, up
 * to VIRTIO_MEM_POOL bytes): identity mapped, so a pointer is its own guest-physical address, and
 * user-accessible like all of the runtime's low 4 GiB, so ring-3 code (run_user) may drive a
 * virtqueue too. Nothing is ever freed; a guest allocates what it needs once. The pool is checked
 * against the memory map (boot.h) on first use. Memory is NOT zeroed (ring 0 is slow on some hosts:
 * callers clear what must be clear). */
#ifndef GUEST_VIRTIO_MEM_H
#define GUEST_VIRTIO_MEM_H

#include <stddef.h>
#include <stdint.h>

#define VIRTIO_MEM_POOL (32u << 20)

/* `size` bytes aligned to `align` (a power of two, at least 16), or NULL when the pool is spent
 * or not RAM (a message says why). */
void *virtio_alloc(size_t size, size_t align);

/* Until the next call, virtio_alloc() takes memory from [base, base + size) (from its start
 * again) instead of the pool; base NULL goes back to the pool. For a driver that sets a device
 * up again and again (the hostile guest's revivals): the same bytes serve each bring-up, so a
 * long run does not spend the pool. */
void virtio_alloc_arena(void *base, size_t size);

/* The guest-physical address of a pointer from virtio_alloc() (or any identity-mapped object). */
static inline uint64_t virt_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif
