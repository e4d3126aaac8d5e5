/* virtio-mem in a snapshot (virtio/core/dev_snapshot.h). See virtio/mem/internal.h.
 *
 * Saved: the geometry (compared at restore: the new VMM must have the same region), the usable,
 * plugged and requested sizes and the plugged-blocks bitmap. At restore every run of plugged
 * blocks is plugged again through the backend (the VMM maps it and adds its KVM slots); the VMM
 * then reads their bytes from the memory file (vmm/snapshot/format/snap_mem.h). The state file is
 * untrusted: every field is checked as a guest write would be, and a refusal is logged with its
 * reason (the caller's message only names the device). */
#include "virtio/mem/internal.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

struct virtio_mem_state {
	uint64_t addr, region_size, block_size, slot_size;
	uint64_t usable, plugged, requested; /* bytes */
	uint64_t nblocks;		     /* then nblocks bits, in 64-bit words */
};

size_t vmem_save_size(struct virtio_dev *dev)
{
	return sizeof(struct virtio_mem_state) + to_vmem(dev)->words * sizeof(uint64_t);
}

int vmem_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vmem *m = to_vmem(dev);
	struct virtio_mem_state st = {
	    .addr = le64toh(m->config.addr),
	    .region_size = m->opts.total,
	    .block_size = m->opts.block_size,
	    .slot_size = m->opts.slot_size,
	    .usable = le64toh(m->config.usable_region_size),
	    .plugged = le64toh(m->config.plugged_size),
	    .requested = le64toh(m->config.requested_size),
	    .nblocks = m->nblocks,
	};

	if (cap < vmem_save_size(dev))
		return -ENOSPC;
	memcpy(buf, &st, sizeof(st));
	memcpy((uint8_t *)buf + sizeof(st), m->bitmap, m->words * sizeof(uint64_t));
	*len = vmem_save_size(dev);
	return 0;
}

static uint64_t popcount_words(const uint64_t *w, uint64_t n)
{
	uint64_t c = 0;

	for (uint64_t i = 0; i < n; i++)
		c += (uint64_t)__builtin_popcountll(w[i]);
	return c;
}

/* The region the state was saved from is this device's (the replayed --memory-hotplug made it). */
static bool same_region(const struct vmem *m, const struct virtio_mem_state *st)
{
	if (st->addr == le64toh(m->config.addr) && st->region_size == m->opts.total &&
	    st->block_size == m->opts.block_size && st->slot_size == m->opts.slot_size &&
	    st->nblocks == m->nblocks)
		return true;
	log_error("virtio-mem restore: the snapshot's region (%llu MiB at 0x%llx, %llu blocks of "
		  "%llu KiB, slots of %llu MiB) is not this VM's (%llu MiB at 0x%llx, %llu blocks "
		  "of %llu KiB, %llu MiB)",
		  (unsigned long long)(st->region_size >> 20), (unsigned long long)st->addr,
		  (unsigned long long)st->nblocks, (unsigned long long)(st->block_size >> 10),
		  (unsigned long long)(st->slot_size >> 20),
		  (unsigned long long)(m->opts.total >> 20),
		  (unsigned long long)le64toh(m->config.addr), (unsigned long long)m->nblocks,
		  (unsigned long long)(m->opts.block_size >> 10),
		  (unsigned long long)(m->opts.slot_size >> 20));
	return false;
}

/* The same region; sizes in blocks and within it; plugged blocks all inside the usable region,
 * counted right, and no bit past the last block. */
static bool state_ok(const struct vmem *m, const struct virtio_mem_state *st, const uint64_t *bits)
{
	uint64_t bs = m->opts.block_size, tail = m->nblocks % 64;

	if (!same_region(m, st))
		return false;
	if (st->usable > st->region_size || st->usable % bs || st->requested > st->usable ||
	    st->requested % bs || st->plugged % bs || st->plugged > st->usable) {
		log_error(
		    "virtio-mem restore: bad sizes (usable %llu, requested %llu, plugged %llu "
		    "bytes)",
		    (unsigned long long)st->usable, (unsigned long long)st->requested,
		    (unsigned long long)st->plugged);
		return false;
	}
	if (tail && bits[m->words - 1] >> tail) {
		log_error("virtio-mem restore: the bitmap names blocks past the region's %llu",
			  (unsigned long long)m->nblocks);
		return false;
	}
	if (popcount_words(bits, m->words) != st->plugged / bs) {
		log_error("virtio-mem restore: the bitmap has %llu blocks plugged, plugged_size "
			  "says %llu",
			  (unsigned long long)popcount_words(bits, m->words),
			  (unsigned long long)(st->plugged / bs));
		return false;
	}
	for (uint64_t i = st->usable / bs; i < m->nblocks; i++) {
		if ((bits[i / 64] >> (i % 64)) & 1) {
			log_error("virtio-mem restore: block %llu is plugged outside the usable "
				  "region",
				  (unsigned long long)i);
			return false;
		}
	}
	return true;
}

/* Plugs the saved runs through the backend; on a failure unplugs what it plugged. */
static int replug(struct vmem *m)
{
	uint64_t from = 0, n, base = le64toh(m->config.addr), bs = m->opts.block_size;

	while ((n = vmem_next_run(m, &from)) != 0) {
		int err = m->backend.plug(m->backend.opaque, base + from * bs, n * bs);

		if (err < 0) {
			uint64_t undo = 0, k;

			while ((k = vmem_next_run(m, &undo)) != 0 && undo < from) {
				m->backend.unplug(m->backend.opaque, base + undo * bs, k * bs);
				undo += k;
			}
			return err;
		}
		from += n;
	}
	return 0;
}

int vmem_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vmem *m = to_vmem(dev);
	struct virtio_mem_state st;
	size_t bytes = m->words * sizeof(uint64_t);

	if (len != vmem_save_size(dev) || m->plugged) { /* a fresh device has nothing plugged */
		log_error("virtio-mem restore: %zu bytes of state, this region's take %zu", len,
			  vmem_save_size(dev));
		return -EINVAL;
	}
	memcpy(&st, buf, sizeof(st));
	/* Copied into the (all-clear) bitmap first: the buffer need not be 8-byte aligned. */
	memcpy(m->bitmap, (const uint8_t *)buf + sizeof(st), bytes);
	int err = state_ok(m, &st, m->bitmap) ? replug(m) : -EINVAL;
	if (err) {
		if (err != -EINVAL)
			log_error("virtio-mem restore: cannot plug the saved blocks again: %s",
				  strerror(-err));
		memset(m->bitmap, 0, bytes);
		return -EINVAL;
	}
	m->plugged = st.plugged / st.block_size;
	m->config.usable_region_size = htole64(st.usable);
	m->config.requested_size = htole64(st.requested);
	vmem_sync_plugged(m);
	return 0;
}
