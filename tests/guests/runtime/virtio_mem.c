#include "virtio_mem.h"

#include <stdbool.h>

#include "boot.h"
#include "printf.h"

#define POOL_ALIGN (1u << 20)

extern char __image_end[];

static uint64_t pool_next, pool_end;
static uint64_t arena_next, arena_end; /* arena_end 0: no arena */

static bool pool_init(void)
{
	uint64_t start =
	    ((uint64_t)(uintptr_t)__image_end + POOL_ALIGN - 1) & ~(uint64_t)(POOL_ALIGN - 1);

	if (!boot_is_ram(start, VIRTIO_MEM_POOL)) {
		printf("virtio_mem: 0x%llx + %u MiB is not RAM (give the guest more memory)\n",
		       (unsigned long long)start, VIRTIO_MEM_POOL >> 20);
		return false;
	}
	pool_next = start;
	pool_end = start + VIRTIO_MEM_POOL;
	return true;
}

void virtio_alloc_arena(void *base, size_t size)
{
	arena_next = (uint64_t)(uintptr_t)base;
	arena_end = base ? arena_next + size : 0;
}

static void *arena_alloc(size_t size, size_t align)
{
	uint64_t at = (arena_next + align - 1) & ~(uint64_t)(align - 1);

	if (at > arena_end || size > arena_end - at) {
		printf("virtio_mem: arena exhausted (%zu bytes asked)\n", size);
		return NULL;
	}
	arena_next = at + size;
	return (void *)(uintptr_t)at;
}

void *virtio_alloc(size_t size, size_t align)
{
	uint64_t at;

	if (align < 16 || (align & (align - 1)))
		align = 16;
	if (arena_end)
		return arena_alloc(size, align);
	if (!pool_end && !pool_init())
		return NULL;
	at = (pool_next + align - 1) & ~(uint64_t)(align - 1);
	if (at > pool_end || size > pool_end - at) {
		printf("virtio_mem: pool exhausted (%zu bytes asked)\n", size);
		return NULL;
	}
	pool_next = at + size;
	return (void *)(uintptr_t)at;
}
