/* The host memory behind virtio-mem's region. See vmm/vm/memhp.h. */
#include "vmm/vm/memhp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int memhp_init(struct memhp *h, struct guest_mem *mem, uint64_t base, const struct memhp_region *o,
	       uint32_t first_slot, const struct memhp_slots *kvm)
{
	void *host;
	int err;

	memset(h, 0, sizeof(*h));
	if (!o->slot_size || o->total % o->slot_size || o->slot_size % o->block_size)
		return -EINVAL;
	h->nslots = (uint32_t)(o->total / o->slot_size);
	h->plugged_in_slot = calloc(h->nslots, sizeof(uint32_t));
	h->dma_mapped = calloc((o->total / o->block_size + 63) / 64, sizeof(uint64_t));
	if (!h->plugged_in_slot || !h->dma_mapped) {
		free(h->plugged_in_slot);
		free(h->dma_mapped);
		return -ENOMEM;
	}
	host = mmap(NULL, o->total, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED) {
		err = -errno;
		free(h->plugged_in_slot);
		free(h->dma_mapped);
		return err;
	}
	err = guest_mem_hotplug_attach(mem, base, host, o->total, o->block_size);
	if (err) {
		munmap(host, o->total);
		free(h->plugged_in_slot);
		free(h->dma_mapped);
		return err;
	}
	h->mem = mem;
	h->host = host;
	h->base = base;
	h->size = o->total;
	h->block = o->block_size;
	h->slot_size = o->slot_size;
	h->first_slot = first_slot;
	h->kvm = *kvm;
	pthread_mutex_init(&h->dma_lock, NULL);
	return 0;
}

static bool bit(const uint64_t *map, uint64_t i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

static void set_bit(uint64_t *map, uint64_t i, bool on)
{
	if (on)
		map[i / 64] |= 1ull << (i % 64);
	else
		map[i / 64] &= ~(1ull << (i % 64));
}

/* The listener's maps of [gpa, +len), block by block (dma_lock held); a failure unmaps what
 * this call mapped. */
static int dma_map_locked(struct memhp *h, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa - h->base) / h->block, n = len / h->block;
	for (uint64_t i = first; h->dma_on && i < first + n; i++) {
		if (bit(h->dma_mapped, i))
			continue;
		int err = h->dma.map(h->dma.opaque, h->base + i * h->block, h->block,
				     h->host + i * h->block);
		if (err) {
			while (i-- > first)
				if (bit(h->dma_mapped, i) &&
				    !h->dma.unmap(h->dma.opaque, h->base + i * h->block, h->block))
					set_bit(h->dma_mapped, i, false);
			return err;
		}
		set_bit(h->dma_mapped, i, true);
	}
	return 0;
}

static void dma_unmap_locked(struct memhp *h, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa - h->base) / h->block, n = len / h->block;
	for (uint64_t i = first; i < first + n; i++) {
		if (!bit(h->dma_mapped, i))
			continue;
		/* a failed unmap leaves the page pinned, never reachable by the guest again */
		h->dma.unmap(h->dma.opaque, h->base + i * h->block, h->block);
		set_bit(h->dma_mapped, i, false);
	}
}

static bool plugged(const struct memhp *h, uint64_t i)
{
	return (__atomic_load_n(&h->mem->hotplug.plugged[i / 64], __ATOMIC_ACQUIRE) >> (i % 64)) &
	       1;
}

int memhp_dma_attach(struct memhp *h, const struct memhp_dma *dma)
{
	int err = 0;
	pthread_mutex_lock(&h->dma_lock);
	if (h->dma_on) {
		pthread_mutex_unlock(&h->dma_lock);
		return -EBUSY;
	}
	h->dma = *dma;
	h->dma_on = true;
	for (uint64_t i = 0; !err && i < h->size / h->block; i++)
		if (plugged(h, i))
			err = dma_map_locked(h, h->base + i * h->block, h->block);
	if (err) {
		dma_unmap_locked(h, h->base, h->size);
		h->dma_on = false;
	}
	pthread_mutex_unlock(&h->dma_lock);
	return err;
}

void memhp_dma_detach(struct memhp *h)
{
	if (!h->dma_mapped)
		return;
	pthread_mutex_lock(&h->dma_lock);
	if (h->dma_on)
		dma_unmap_locked(h, h->base, h->size);
	h->dma_on = false;
	pthread_mutex_unlock(&h->dma_lock);
}

static bool range_ok(const struct memhp *h, uint64_t gpa, uint64_t len)
{
	return len && gpa >= h->base && gpa - h->base <= h->size &&
	       len <= h->size - (gpa - h->base) && (gpa - h->base) % h->block == 0 &&
	       len % h->block == 0;
}

static int set_slot(struct memhp *h, uint32_t s, bool present)
{
	uint64_t off = (uint64_t)s * h->slot_size;

	return h->kvm.set(h->kvm.opaque, h->first_slot + s, h->base + off,
			  present ? h->slot_size : 0, h->host + off);
}

/* Blocks of [off, off + len) inside slot-sized piece s. */
static uint32_t blocks_in(const struct memhp *h, uint32_t s, uint64_t off, uint64_t len)
{
	uint64_t lo = (uint64_t)s * h->slot_size, hi = lo + h->slot_size;
	uint64_t a = off > lo ? off : lo, b = off + len < hi ? off + len : hi;

	return a < b ? (uint32_t)((b - a) / h->block) : 0;
}

int memhp_plug(void *opaque, uint64_t gpa, uint64_t len)
{
	struct memhp *h = opaque;
	uint64_t off = gpa - h->base;
	uint32_t first, last;

	if (!range_ok(h, gpa, len))
		return -EINVAL;
	first = (uint32_t)(off / h->slot_size);
	last = (uint32_t)((off + len - 1) / h->slot_size);
	for (uint32_t s = first; s <= last; s++) {
		int err = h->plugged_in_slot[s] ? 0 : set_slot(h, s, true);

		if (err) {
			for (uint32_t u = first; u < s; u++) /* the slots this call added */
				if (!h->plugged_in_slot[u])
					set_slot(h, u, false);
			return err;
		}
	}
	/* marked before the DMA map, which an attach on another thread may also make from the
	 * marks: either finds the other's work done (dma_mapped) */
	guest_mem_hotplug_mark(h->mem, gpa, len, true);
	pthread_mutex_lock(&h->dma_lock);
	int err = dma_map_locked(h, gpa, len);
	pthread_mutex_unlock(&h->dma_lock);
	if (err) { /* the device could not reach it: the guest may not have it */
		guest_mem_hotplug_mark(h->mem, gpa, len, false);
		for (uint32_t s = first; s <= last; s++)
			if (!h->plugged_in_slot[s])
				set_slot(h, s, false);
		return err;
	}
	for (uint32_t s = first; s <= last; s++)
		h->plugged_in_slot[s] += blocks_in(h, s, off, len);
	return 0;
}

int memhp_unplug(void *opaque, uint64_t gpa, uint64_t len)
{
	struct memhp *h = opaque;
	uint64_t off = gpa - h->base;
	uint32_t first, last;

	if (!range_ok(h, gpa, len))
		return -EINVAL;
	guest_mem_hotplug_mark(h->mem, gpa, len, false); /* no device DMA from here on */
	pthread_mutex_lock(&h->dma_lock);		 /* ... nor a passed-through device's */
	dma_unmap_locked(h, gpa, len);
	pthread_mutex_unlock(&h->dma_lock);
	if (madvise(h->host + off, len, MADV_DONTNEED) < 0) {
		int err = -errno;

		guest_mem_hotplug_mark(h->mem, gpa, len, true);
		return err;
	}
	first = (uint32_t)(off / h->slot_size);
	last = (uint32_t)((off + len - 1) / h->slot_size);
	for (uint32_t s = first; s <= last; s++) {
		h->plugged_in_slot[s] -= blocks_in(h, s, off, len);
		if (!h->plugged_in_slot[s])
			set_slot(h, s, false); /* a failure leaves a slot of zero pages: harmless */
	}
	return 0;
}

void memhp_free(struct memhp *h)
{
	if (h->host)
		munmap(h->host, h->size);
	free(h->plugged_in_slot);
	if (h->dma_mapped)
		pthread_mutex_destroy(&h->dma_lock);
	free(h->dma_mapped);
	memset(h, 0, sizeof(*h));
}
