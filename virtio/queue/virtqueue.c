/* Virtqueue setup, ring validation and the format-independent entry points (virtio 1.2 2.6).
 * The ring formats live in split_ring.c and packed_ring.c, the chain walker in desc_chain.c. */
#include "virtio/queue/virtqueue.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <string.h>

#include "base/log.h"
#include "virtio/queue/vq_internal.h"

static const char *const vq_error_names[] = {
    [VQ_E_NOT_READY - VQ_E_NOT_READY] = "queue not active",
    [VQ_E_BROKEN - VQ_E_NOT_READY] = "queue broken by an earlier driver error",
    [VQ_E_SIZE - VQ_E_NOT_READY] = "invalid queue size",
    [VQ_E_RING_RANGE - VQ_E_NOT_READY] = "ring outside guest RAM",
    [VQ_E_RING_ALIGN - VQ_E_NOT_READY] = "ring misaligned",
    [VQ_E_AVAIL_IDX - VQ_E_NOT_READY] = "available index ran more than queue size ahead",
    [VQ_E_HEAD - VQ_E_NOT_READY] = "available ring head >= queue size",
    [VQ_E_NEXT - VQ_E_NOT_READY] = "descriptor next >= table size",
    [VQ_E_LOOP - VQ_E_NOT_READY] = "descriptor chain longer than its table (loop)",
    [VQ_E_CHAIN_LEN - VQ_E_NOT_READY] = "descriptor chain longer than 4 GiB",
    [VQ_E_ORDER - VQ_E_NOT_READY] = "device-readable descriptor after a device-writable one",
    [VQ_E_BUF_RANGE - VQ_E_NOT_READY] = "buffer outside guest RAM",
    [VQ_E_INDIRECT_FEATURE - VQ_E_NOT_READY] = "indirect descriptor not negotiated",
    [VQ_E_INDIRECT_LEN - VQ_E_NOT_READY] = "bad indirect table length",
    [VQ_E_INDIRECT_RANGE - VQ_E_NOT_READY] = "indirect table outside guest RAM",
    [VQ_E_INDIRECT_NESTED - VQ_E_NOT_READY] = "indirect descriptor inside an indirect table",
    [VQ_E_INDIRECT_NEXT - VQ_E_NOT_READY] = "indirect descriptor chained with NEXT",
    [VQ_E_TOO_MANY_SEGS - VQ_E_NOT_READY] = "too many buffers in one chain",
    [VQ_E_OVERRUN - VQ_E_NOT_READY] = "more descriptors in flight than the queue holds",
    [VQ_E_NO_INFLIGHT - VQ_E_NOT_READY] = "used buffer that was not popped",
    [VQ_E_BAD_ID - VQ_E_NOT_READY] = "used id >= queue size",
    [VQ_E_SHORT - VQ_E_NOT_READY] = "chain too short for the request",
};

const char *vq_strerror(int err)
{
	int code = -err;
	if (code >= VQ_E_NOT_READY && code < VQ_E_MAX)
		return vq_error_names[code - VQ_E_NOT_READY];
	return strerror(code);
}

int vq_init(struct virtqueue *vq, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	if (max_size == 0 || max_size > VQ_MAX_SIZE)
		return -EINVAL;
	vq->max_size = max_size;
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	uint16_t max_size = vq->max_size;
	memset(vq, 0, sizeof(*vq));
	vq->max_size = max_size;
}

/* 2.6 / 2.7: non-zero, <= 32768, <= the device maximum; split sizes are powers of two. */
static int check_size(const struct virtqueue *vq, bool packed)
{
	uint32_t n = vq->num;
	if (n == 0 || n > VQ_MAX_SIZE || n > vq->max_size)
		return -VQ_E_SIZE;
	if (!packed && (n & (n - 1)))
		return -VQ_E_SIZE;
	return 0;
}

/* One ring part: aligned, and [gpa, gpa+len) inside one RAM region without wrapping. The host
 * address must share the alignment too, since ring fields are accessed with atomics. */
static int check_area(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t align)
{
	uint64_t end;
	if (gpa & (align - 1))
		return -VQ_E_RING_ALIGN;
	if (__builtin_add_overflow(gpa, len, &end) || !guest_mem_valid(mem, gpa, len))
		return -VQ_E_RING_RANGE;
	if ((uintptr_t)guest_mem_ptr(mem, gpa, len) & (align - 1))
		return -VQ_E_RING_ALIGN;
	return 0;
}

/* 2.7 "Virtqueue Part / Alignment / Size": 16 / 16*N, 2 / 6+2*N, 4 / 6+8*N. */
static int check_split_layout(const struct virtqueue *vq, const struct guest_mem *mem)
{
	uint64_t n = vq->num;
	int err = check_area(mem, vq->desc_addr, 16 * n, 16);
	if (!err)
		err = check_area(mem, vq->driver_addr, 6 + 2 * n, 2);
	if (!err)
		err = check_area(mem, vq->device_addr, 6 + 8 * n, 4);
	return err;
}

/* 2.8.10.1: descriptor ring 16 / 16*N, each event suppression structure 4 / 4. */
static int check_packed_layout(const struct virtqueue *vq, const struct guest_mem *mem)
{
	int err = check_area(mem, vq->desc_addr, 16 * (uint64_t)vq->num, 16);
	if (!err)
		err = check_area(mem, vq->driver_addr, 4, 4);
	if (!err)
		err = check_area(mem, vq->device_addr, 4, 4);
	return err;
}

int vq_activate(struct virtqueue *vq, const struct guest_mem *mem, uint64_t features)
{
	bool packed = features & (1ull << VIRTIO_F_RING_PACKED);
	vq->active = false;
	int err = check_size(vq, packed);
	if (!err)
		err = packed ? check_packed_layout(vq, mem) : check_split_layout(vq, mem);
	if (err) {
		log_guest_warn("virtqueue: cannot activate (size %u): %s", vq->num,
			       vq_strerror(err));
		return err;
	}
	vq->packed = packed;
	vq->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	vq->size = (uint16_t)vq->num;
	vq->last_avail = vq->used_idx = vq->pub_used = vq->signalled_used = 0;
	vq->avail_wrap = vq->used_wrap = vq->pub_wrap = vq->signalled_wrap = true; /* 2.8.1 */
	vq->batch_pending = false;
	vq->inflight = 0;
	vq->kicks_enabled = true;
	vq->kicks_deferred = false;
	vq->broken = false;
	vq->error = 0;
	vq->active = true;
	/* Kicks wanted, in the rings too: a driver that reuses its rings after a reset would
	 * otherwise find the suppression a device left there before (a NO_NOTIFY flag, an
	 * avail_event behind index 0: a polling device writes those) and never kick (2.7.10). The
	 * layout was checked above, so the store cannot fail. */
	return packed ? packed_set_kicks(vq, mem, true) : split_set_kicks(vq, mem, true);
}

/* A driver error: stop the queue for good (until reset) and say why, once. */
static int vq_fail(struct virtqueue *vq, int err)
{
	if (!vq->broken)
		log_guest_warn("virtqueue: driver error, queue stopped: %s", vq_strerror(err));
	vq->broken = true;
	vq->error = err;
	return err;
}

static int vq_usable(const struct virtqueue *vq)
{
	if (!vq->active)
		return -VQ_E_NOT_READY;
	return vq->broken ? -VQ_E_BROKEN : 0;
}

int vq_pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_chain *chain)
{
	if (!vq->active)
		return 0;
	if (vq->broken)
		return -VQ_E_BROKEN;
	int r = vq->packed ? packed_pop(vq, mem, chain) : split_pop(vq, mem, chain);
	return r < 0 ? vq_fail(vq, r) : r;
}

int vq_unpop(struct virtqueue *vq, const struct guest_mem *mem, const struct vq_chain *chain)
{
	int err = vq_usable(vq);
	if (err)
		return err;
	if (chain->ndescs == 0 || chain->ndescs > vq->inflight)
		return -VQ_E_NO_INFLIGHT;
	vq->inflight -= chain->ndescs;
	if (vq->packed)
		packed_unpop(vq, mem, chain->ndescs);
	else
		split_unpop(vq, mem);
	return 0;
}

int vq_add_used(struct virtqueue *vq, const struct guest_mem *mem, struct vq_used used)
{
	int err = vq_usable(vq);
	if (err)
		return err;
	if (used.ndescs == 0 || used.ndescs > vq->inflight)
		return -VQ_E_NO_INFLIGHT;
	err = vq->packed ? packed_add_used(vq, mem, used) : split_add_used(vq, mem, used);
	if (!err)
		vq->inflight -= used.ndescs;
	return err;
}

int vq_publish_used(struct virtqueue *vq, const struct guest_mem *mem)
{
	int err = vq_usable(vq);
	if (err)
		return err;
	return vq->packed ? packed_publish_used(vq, mem) : split_publish_used(vq, mem);
}

int vq_push(struct virtqueue *vq, const struct guest_mem *mem, const struct vq_chain *chain)
{
	int err = vq_add_used(vq, mem, vq_chain_used(chain));
	return err ? err : vq_publish_used(vq, mem);
}

bool vq_should_notify(struct virtqueue *vq, const struct guest_mem *mem)
{
	if (vq_usable(vq))
		return false;
	return vq->packed ? packed_should_notify(vq, mem) : split_should_notify(vq, mem);
}

int vq_disable_notify(struct virtqueue *vq, const struct guest_mem *mem)
{
	int err = vq_usable(vq);
	if (err)
		return err;
	vq->kicks_enabled = false;
	vq->kicks_deferred = false;
	return vq->packed ? packed_set_kicks(vq, mem, false) : split_set_kicks(vq, mem, false);
}

int vq_enable_notify(struct virtqueue *vq, const struct guest_mem *mem)
{
	int err = vq_usable(vq);
	if (err)
		return err;
	vq->kicks_enabled = true;
	vq->kicks_deferred = false;
	err = vq->packed ? packed_set_kicks(vq, mem, true) : split_set_kicks(vq, mem, true);
	if (err)
		return err;
	/* Store (kicks wanted) -> load (ring state) needs a full barrier: otherwise the driver may
	 * add a buffer, see kicks still suppressed and not kick, while we miss the buffer and
	 * sleep (2.7.10, 2.8.10). */
	ring_full_fence();
	return vq->packed ? packed_has_avail(vq, mem) : split_has_avail(vq, mem);
}

int vq_has_avail(const struct virtqueue *vq, const struct guest_mem *mem)
{
	int err = vq_usable(vq);
	if (err)
		return err;
	return vq->packed ? packed_has_avail(vq, mem) : split_has_avail(vq, mem);
}
