/* Guest-side virtqueues, split and packed (see virtio_vq.h). Section numbers: virtio 1.2.
 *
 * Ordering: x86 keeps stores in order and loads in order, so publishing (avail index, a packed
 * head's flags) needs only a compiler barrier after the ring contents (release), and reading
 * the used side only one before the contents (acquire). The one store->load ordering that
 * matters, "publish, then read whether the device wants a kick", takes a full fence (2.7.10). */
#include "virtio_vq.h"

#include "platform.h"
#include "printf.h"
#include "string.h"
#include "virtio_mem.h"

#define PAGE		 4096
#define PACKED_AVAIL_BIT (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_USED_BIT	 (1u << VRING_PACKED_DESC_F_USED)
#define INDIRECT_BYTES	 (VQ_INDIRECT_MAX * 16u)

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void *alloc_clear(size_t size)
{
	void *p = virtio_alloc(size, PAGE);

	if (p)
		memset(p, 0, size);
	return p;
}

/* ---- setup ---- */

static int alloc_split(struct vq *vq)
{
	uint32_t n = vq->size;

	vq->desc = alloc_clear(16u * n);
	vq->avail = alloc_clear(6u + 2u * n); /* flags, idx, ring[n], used_event */
	vq->used = alloc_clear(6u + 8u * n);  /* flags, idx, ring[n], avail_event */
	if (!vq->desc || !vq->avail || !vq->used)
		return VQ_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		vq->desc[i].next = (uint16_t)(i + 1); /* the free list */
	vq->free_head = 0;
	return 0;
}

static int alloc_packed(struct vq *vq)
{
	uint32_t n = vq->size;

	vq->pdesc = alloc_clear(16u * n);
	vq->driver_event = alloc_clear(sizeof(*vq->driver_event));
	vq->device_event = alloc_clear(sizeof(*vq->device_event));
	vq->free_ids = virtio_alloc(2u * n, 16);
	if (!vq->pdesc || !vq->driver_event || !vq->device_event || !vq->free_ids)
		return VQ_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		vq->free_ids[i] = (uint16_t)(n - 1 - i);
	vq->nfree_ids = (uint16_t)n;
	/* 2.8.1: both wrap counters start at 1. */
	vq->avail_wrap = vq->used_wrap = true;
	return 0;
}

static int alloc_rings(struct vq *vq, struct vdev *d, uint16_t index, uint16_t size)
{
	int err;

	*vq = (struct vq){
	    .dev = d,
	    .index = index,
	    .size = size,
	    .packed = vdev_has(d, VIRTIO_F_RING_PACKED),
	    .event_idx = vdev_has(d, VIRTIO_RING_F_EVENT_IDX),
	    .indirect = vdev_has(d, VIRTIO_RING_F_INDIRECT_DESC),
	    .auto_used_event = true,
	    .num_free = size,
	};
	err = vq->packed ? alloc_packed(vq) : alloc_split(vq);
	if (err)
		return err;
	vq->slots = alloc_clear(sizeof(struct vq_slot) * size);
	if (!vq->slots)
		return VQ_ERR_NOMEM;
	if (vq->indirect &&
	    !(vq->indirect_tables = virtio_alloc((size_t)INDIRECT_BYTES * size, 16)))
		return VQ_ERR_NOMEM;
	return 0;
}

/* Writes the ring addresses and enables the queue (4.1.5.1.3, 4.2.3.2), and learns where its
 * notifications go. */
static void program(struct vq *vq, uint32_t num)
{
	struct vdev *d = vq->dev;
	const void *desc = vq->packed ? (const void *)vq->pdesc : (const void *)vq->desc;
	const void *drv = vq->packed ? (const void *)vq->driver_event : (const void *)vq->avail;
	const void *dev = vq->packed ? (const void *)vq->device_event : (const void *)vq->used;
	unsigned width = 0;

	d->ops->queue_enable(d, vq->index, num, virt_to_phys(desc), virt_to_phys(drv),
			     virt_to_phys(dev));
	vq->notify_addr = d->ops->notify_addr(d, vq->index, &width);
	vq->notify_width = (uint8_t)width;
}

/* Selects the queue; returns its maximum size or a VQ_ERR_*. */
static int select_queue(struct vdev *d, uint16_t index)
{
	bool ready;
	uint32_t max = d->ops->queue_max(d, index, &ready);

	if (ready)
		return VQ_ERR_BUSY;
	return max ? (int)(max > 32768 ? 32768 : max) : VQ_ERR_NO_QUEUE;
}

int vq_setup(struct vq *vq, struct vdev *d, uint16_t index, uint16_t size)
{
	int max = select_queue(d, index), err;

	if (max < 0)
		return max;
	if (size == 0)
		size = (uint16_t)max;
	/* 2.7: a split ring's size is a power of two; 2.8: a packed ring's need not be. */
	if (size > max || (!vdev_has(d, VIRTIO_F_RING_PACKED) && (size & (size - 1))))
		return VQ_ERR_SIZE;
	err = alloc_rings(vq, d, index, size);
	if (err)
		return err;
	program(vq, size);
	return 0;
}

int vq_setup_raw(struct vq *vq, struct vdev *d, uint16_t index, uint32_t num, uint16_t alloc_size)
{
	int max = select_queue(d, index), err;

	if (max < 0)
		return max;
	err = alloc_rings(vq, d, index, alloc_size);
	if (err)
		return err;
	program(vq, num);
	return 0;
}

/* ---- adding buffers ---- */

static void *indirect_table(struct vq *vq, uint16_t slot)
{
	return vq->indirect_tables + (size_t)slot * INDIRECT_BYTES;
}

static uint16_t split_desc_flags(const struct vq_buf *b, bool more)
{
	return (uint16_t)((more ? VRING_DESC_F_NEXT : 0) |
			  (b->device_writes ? VRING_DESC_F_WRITE : 0));
}

/* 2.7.13: descriptors, then the ring entry, then (release) the index. */
static void split_publish(struct vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	barrier();
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
}

static int add_split(struct vq *vq, const struct vq_buf *bufs, unsigned n, void *token, bool ind)
{
	uint16_t head = vq->free_head, i = head, last = head, need = ind ? 1 : (uint16_t)n;

	if (vq->num_free < need)
		return VQ_ERR_FULL;
	if (ind) {
		struct vring_desc *t = indirect_table(vq, head);

		for (unsigned k = 0; k < n; k++)
			t[k] = (struct vring_desc){bufs[k].addr, bufs[k].len,
						   split_desc_flags(&bufs[k], k + 1 < n),
						   (uint16_t)(k + 1)};
		vq->desc[head].addr = virt_to_phys(t);
		vq->desc[head].len = n * 16u;
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
	} else {
		for (unsigned k = 0; k < n; k++) {
			vq->desc[i].addr = bufs[k].addr;
			vq->desc[i].len = bufs[k].len;
			vq->desc[i].flags = split_desc_flags(&bufs[k], k + 1 < n);
			last = i;
			i = vq->desc[i].next;
		}
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free -= need;
	vq->slots[head] = (struct vq_slot){token, need, last};
	split_publish(vq, head);
	return 0;
}

/* 2.8.1: available = AVAIL bit equal to the driver's wrap counter, USED bit the inverse. */
static uint16_t packed_avail_bits(bool wrap)
{
	return (uint16_t)(wrap ? PACKED_AVAIL_BIT : PACKED_USED_BIT);
}

static void packed_advance(struct vq *vq)
{
	if (++vq->next_avail == vq->size) {
		vq->next_avail = 0;
		vq->avail_wrap = !vq->avail_wrap;
	}
}

/* 2.8.21: every descriptor but the head first; the head's flags last, after a release barrier,
 * make the whole chain visible at once. */
static int add_packed(struct vq *vq, const struct vq_buf *bufs, unsigned n, void *token, bool ind)
{
	uint16_t need = ind ? 1 : (uint16_t)n, head = vq->next_avail, head_flags = 0, id;

	if (vq->num_free < need || vq->nfree_ids == 0)
		return VQ_ERR_FULL;
	id = vq->free_ids[--vq->nfree_ids];
	if (ind) {
		struct vring_packed_desc *t = indirect_table(vq, id);

		for (unsigned k = 0; k < n; k++)
			t[k] = (struct vring_packed_desc){
			    bufs[k].addr, bufs[k].len, 0,
			    (uint16_t)(bufs[k].device_writes ? VRING_DESC_F_WRITE : 0)};
		vq->pdesc[head] = (struct vring_packed_desc){virt_to_phys(t), n * 16u, id, 0};
		head_flags = VRING_DESC_F_INDIRECT | packed_avail_bits(vq->avail_wrap);
		packed_advance(vq);
	} else {
		for (unsigned k = 0; k < n; k++) {
			uint16_t pos = vq->next_avail;
			uint16_t f = (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) |
						(bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
						packed_avail_bits(vq->avail_wrap));

			vq->pdesc[pos].addr = bufs[k].addr;
			vq->pdesc[pos].len = bufs[k].len;
			vq->pdesc[pos].id = id;
			if (k == 0)
				head_flags = f;
			else
				vq->pdesc[pos].flags = f;
			packed_advance(vq);
		}
	}
	vq->num_free -= need;
	vq->slots[id] = (struct vq_slot){token, need, 0};
	barrier();
	__atomic_store_n(&vq->pdesc[head].flags, head_flags, __ATOMIC_RELEASE);
	return 0;
}

int vq_add(struct vq *vq, const struct vq_buf *bufs, unsigned n, void *token, unsigned flags)
{
	bool ind = flags & VQ_ADD_INDIRECT;

	if (n == 0 || !token || (ind && (!vq->indirect || n > VQ_INDIRECT_MAX)))
		return VQ_ERR_CHAIN;
	return vq->packed ? add_packed(vq, bufs, n, token, ind)
			  : add_split(vq, bufs, n, token, ind);
}

/* ---- notifications ---- */

void vq_notify(struct vq *vq)
{
	if (vq->notify_width == 2)
		mmio_write16(vq->notify_addr, vq->index);
	else if (vq->notify_width == 4)
		mmio_write32(vq->notify_addr, vq->index);
	vq->kicks++;
}

/* 2.7.10 (split): with EVENT_IDX the device asks for a kick once avail->idx passes avail_event
 * (at used->ring[size]); without, it sets VRING_USED_F_NO_NOTIFY to decline kicks. */
static bool split_kick_needed(struct vq *vq)
{
	if (vq->event_idx) {
		uint16_t avail_event =
		    __atomic_load_n((uint16_t *)&vq->used->ring[vq->size], __ATOMIC_RELAXED);

		return vring_need_event(avail_event, vq->avail_idx, vq->kicked_idx);
	}
	return !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
}

/* 2.8.10 (packed): the device event structure says ENABLE, DISABLE, or DESC (a position). A
 * DESC request is treated as ENABLE: an extra kick is harmless (spurious kicks are allowed),
 * and the position arithmetic across the wrap is not worth it in a test driver. */
static bool packed_kick_needed(struct vq *vq)
{
	uint16_t f = __atomic_load_n(&vq->device_event->flags, __ATOMIC_RELAXED);

	return (f & 3) != VRING_PACKED_EVENT_FLAG_DISABLE;
}

bool vq_kick(struct vq *vq)
{
	bool need;

	full_fence(); /* our index/flags store before the device's suppression fields load */
	need = vq->packed ? packed_kick_needed(vq) : split_kick_needed(vq);
	vq->kicked_idx = vq->avail_idx;
	if (need)
		vq_notify(vq);
	return need;
}

/* ---- used buffers ---- */

static bool packed_is_used(struct vq *vq)
{
	uint16_t f = __atomic_load_n(&vq->pdesc[vq->next_used].flags, __ATOMIC_ACQUIRE);
	bool avail = f & PACKED_AVAIL_BIT, used = f & PACKED_USED_BIT;

	return avail == used && used == vq->used_wrap;
}

bool vq_has_used(struct vq *vq)
{
	if (vq->packed)
		return packed_is_used(vq);
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) != vq->last_used;
}

static void *bad_used(struct vq *vq, uint32_t id)
{
	printf("virtqueue %u: the device returned unknown id %u\n", vq->index, id);
	return NULL;
}

/* Tokens are never NULL while a chain is in flight: NULL marks a free slot. */
static void *take_token(struct vq_slot *s)
{
	void *t = s->token;

	s->token = NULL;
	return t;
}

static void *get_split(struct vq *vq, uint32_t *len)
{
	struct vring_used_elem e = vq->used->ring[vq->last_used & (vq->size - 1)];
	struct vq_slot *s;

	if (e.id >= vq->size || !vq->slots[e.id].token)
		return bad_used(vq, e.id);
	s = &vq->slots[e.id];
	vq->last_used++;
	/* The chain (head .. last, linked by next) goes back on the free list in one piece. */
	vq->desc[s->last].next = vq->free_head;
	vq->free_head = (uint16_t)e.id;
	vq->num_free += s->ndesc;
	if (vq->event_idx && vq->auto_used_event)
		__atomic_store_n(&vq->avail->ring[vq->size], vq->last_used, __ATOMIC_RELAXED);
	*len = e.len;
	return take_token(s);
}

static void *get_packed(struct vq *vq, uint32_t *len)
{
	struct vring_packed_desc d = vq->pdesc[vq->next_used];
	struct vq_slot *s;

	if (d.id >= vq->size || !vq->slots[d.id].token)
		return bad_used(vq, d.id);
	s = &vq->slots[d.id];
	/* 2.8.7: the used element sits at the chain's first slot; the chain took ndesc slots. */
	vq->next_used += s->ndesc;
	if (vq->next_used >= vq->size) {
		vq->next_used -= vq->size;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->num_free += s->ndesc;
	vq->free_ids[vq->nfree_ids++] = d.id;
	*len = d.len;
	return take_token(s);
}

void *vq_get_used(struct vq *vq, uint32_t *len)
{
	void *token;

	if (!vq_has_used(vq))
		return NULL;
	token = vq->packed ? get_packed(vq, len) : get_split(vq, len);
	if (token)
		vq->completed++;
	return token;
}

/* ---- interrupt suppression ---- */

void vq_enable_interrupts(struct vq *vq)
{
	if (vq->packed) {
		vq->driver_event->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	} else if (vq->event_idx) {
		vq->auto_used_event = true;
		vq->avail->ring[vq->size] = vq->last_used;
	} else {
		vq->avail->flags = 0;
	}
	full_fence();
}

void vq_disable_interrupts(struct vq *vq)
{
	if (vq->packed) {
		vq->driver_event->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	} else if (vq->event_idx) {
		/* The flag is ignored with EVENT_IDX (2.7.10): park used_event a whole lap away. */
		vq->auto_used_event = false;
		vq->avail->ring[vq->size] = (uint16_t)(vq->last_used - 1);
	} else {
		vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	}
	full_fence();
}

void vq_set_used_event(struct vq *vq, uint16_t idx)
{
	vq->auto_used_event = false;
	vq->avail->ring[vq->size] = idx;
	full_fence();
}

/* ---- waiting ---- */

bool vq_wait(struct vq *vq, uint32_t timeout_ms)
{
	unsigned v = vq->dev->vector;
	uint64_t seen = irq_count(v),
		 deadline = clock_ticks() + (uint64_t)timeout_ms * 1000 * clock_ticks_per_us();

	if (!v)
		return false;
	for (;;) {
		uint64_t now = clock_ticks(), left_ms;

		if (vq->dev->irqs > vq->irq_mark && vq_has_used(vq)) {
			vq->irq_mark = vq->dev->irqs;
			return true;
		}
		if (now >= deadline)
			return false;
		left_ms = (deadline - now) / (1000 * clock_ticks_per_us()) + 1;
		irq_wait(v, &seen, (uint32_t)(left_ms > 0xffffffffu ? 0xffffffffu : left_ms));
	}
}
