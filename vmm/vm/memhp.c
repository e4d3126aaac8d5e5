/* The host memory behind virtio-mem's region. See vmm/vm/memhp.h. */
#include "vmm/vm/memhp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int memhp_init(struct memhp *h, struct guest_mem *mem, uint64_t base,
	       const struct virtio_mem_opts *o, uint32_t first_slot, const struct memhp_slots *kvm)
{
	void *host;
	int err;

	memset(h, 0, sizeof(*h));
	if (!o->slot_size || o->total % o->slot_size || o->slot_size % o->block_size)
		return -EINVAL;
	h->nslots = (uint32_t)(o->total / o->slot_size);
	h->plugged_in_slot = calloc(h->nslots, sizeof(uint32_t));
	if (!h->plugged_in_slot)
		return -ENOMEM;
	host = mmap(NULL, o->total, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED) {
		err = -errno;
		free(h->plugged_in_slot);
		return err;
	}
	err = guest_mem_hotplug_attach(mem, base, host, o->total, o->block_size);
	if (err) {
		munmap(host, o->total);
		free(h->plugged_in_slot);
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
	return 0;
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
	for (uint32_t s = first; s <= last; s++)
		h->plugged_in_slot[s] += blocks_in(h, s, off, len);
	guest_mem_hotplug_mark(h->mem, gpa, len, true);
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
	memset(h, 0, sizeof(*h));
}
