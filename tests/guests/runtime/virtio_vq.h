/* A guest-side virtqueue driver: split ring (virtio 1.2 section 2.7) and packed ring (2.8),
 * direct or indirect chains (2.7.5.3, 2.8.8), notification suppression both ways (2.7.7, 2.7.10,
 * 2.8.10, 2.8.14), used buffers taken by polling or by waiting for the device's interrupt.
 *
 * The ring format follows the device's negotiated features: VIRTIO_F_RING_PACKED selects the
 * packed ring, VIRTIO_RING_F_EVENT_IDX the event-index fields. One request = one chain of
 * buffers, device-readable ones first; the caller's token comes back with the used element.
 *
 * Memory: rings, per-descriptor state and one indirect table per descriptor come from
 * virtio_alloc() at setup. Everything but vq_setup() and vq_wait() is plain memory and MMIO, so
 * a ring-3 (run_user) loop may add, kick and poll. Not thread-safe; one CPU. */
#ifndef GUEST_VIRTIO_VQ_H
#define GUEST_VIRTIO_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "virtio_dev.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"

#define VQ_INDIRECT_MAX 16 /* entries of one indirect table */

/* vq_add() flags */
#define VQ_ADD_INDIRECT (1u << 0) /* put the chain in an indirect table (needs INDIRECT_DESC) */

/* vq_setup() / vq_add() errors */
#define VQ_ERR_SIZE	(-1) /* size 0, above the maximum, or not a power of two (split) */
#define VQ_ERR_NOMEM	(-2)
#define VQ_ERR_FULL	(-3) /* not enough free descriptors or buffer IDs */
#define VQ_ERR_CHAIN	(-4) /* empty chain, too long for an indirect table, or no INDIRECT_DESC */
#define VQ_ERR_NO_QUEUE (-5) /* the queue's maximum size reads 0: no such queue */
#define VQ_ERR_BUSY	(-6) /* the queue is enabled already */

struct vq_buf {
	uint64_t addr; /* guest-physical */
	uint32_t len;
	bool device_writes; /* VRING_DESC_F_WRITE */
};

struct vq_slot {
	void *token;
	uint16_t ndesc; /* ring descriptors the chain took (1 for an indirect chain) */
	uint16_t last;	/* split: last descriptor of the chain (its next links the free list) */
};

struct vq {
	struct vdev *dev;
	uint16_t index;
	uint16_t size;
	bool packed;
	bool event_idx;
	bool indirect;
	/* With EVENT_IDX, vq_get_used() moves used_event (split) along with the used index so the
	 * next completion interrupts; clear for a test that sets used_event itself. */
	bool auto_used_event;

	/* split ring (2.7) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t free_head;
	uint16_t avail_idx;  /* our copy of avail->idx */
	uint16_t kicked_idx; /* avail_idx at the last notification (EVENT_IDX kick check) */
	uint16_t last_used;

	/* packed ring (2.8) */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_event; /* we write: interrupt suppression */
	struct vring_packed_desc_event *device_event; /* the device writes: kick suppression */
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t *free_ids; /* stack of unused buffer IDs */
	uint16_t nfree_ids;

	uint16_t num_free;	  /* free ring descriptors */
	struct vq_slot *slots;	  /* by head descriptor (split) or buffer ID (packed) */
	uint8_t *indirect_tables; /* VQ_INDIRECT_MAX * 16 bytes per slot */

	uint64_t notify_addr; /* where vq_notify() writes the queue index ... */
	uint8_t notify_width; /* ... in a write of this many bytes (2 or 4; 0: nowhere) */

	uint64_t irq_mark;  /* dev->irqs when vq_wait() last returned true */
	uint64_t kicks;	    /* notifications written */
	uint64_t completed; /* used elements taken */
};

/* Sets up queue `index` of `d` (after vdev_negotiate(), before vdev_driver_ok()): size `size`
 * (0 = the queue's maximum), rings allocated and cleared, addresses written, the queue enabled.
 * Returns 0 or a VQ_ERR_*. */
int vq_setup(struct vq *vq, struct vdev *d, uint16_t index, uint16_t size);

/* Writes the queue size `num` raw (no check) and enables the queue for a negative test; rings as
 * for `vq_setup` of a queue of `alloc_size`. */
int vq_setup_raw(struct vq *vq, struct vdev *d, uint16_t index, uint32_t num, uint16_t alloc_size);

/* Makes the chain bufs[0..n) available (readable buffers must come first); `token` (not NULL)
 * comes back from vq_get_used(). Does not notify.
 * Returns 0 or VQ_ERR_FULL / VQ_ERR_CHAIN. */
int vq_add(struct vq *vq, const struct vq_buf *bufs, unsigned n, void *token, unsigned flags);

/* Notifies the device if it asked for it (2.7.10 / 2.8.10): used->flags NO_NOTIFY or
 * avail_event (split), the device event structure (packed). Returns true if it kicked. */
bool vq_kick(struct vq *vq);
/* Notifies the device unconditionally. */
void vq_notify(struct vq *vq);

/* True when a used element is waiting. */
bool vq_has_used(struct vq *vq);
/* Takes the next used element: returns its token and stores its len, or NULL when none. */
void *vq_get_used(struct vq *vq, uint32_t *len);

/* Interrupt suppression toward the driver. enable: interrupt after the next used buffer;
 * disable: no interrupts (VRING_AVAIL_F_NO_INTERRUPT / VRING_PACKED_EVENT_FLAG_DISABLE; with
 * split EVENT_IDX, disabling only stops moving used_event, as the flag is then ignored). */
void vq_enable_interrupts(struct vq *vq);
void vq_disable_interrupts(struct vq *vq);
/* Split ring with EVENT_IDX: interrupt only once the used index passes `idx` (2.7.10). Clears
 * auto_used_event. */
void vq_set_used_event(struct vq *vq, uint16_t idx);

/* Waits, asleep (sti; hlt), for the device's interrupt until a used element is there or
 * `timeout_ms` pass. The device's interrupt must be enabled (vdev_irq_enable). Returns true
 * when a used element is there AND the device interrupted (with InterruptStatus bits set,
 * dev->irqs) since the last vq_wait() that returned true (so a caller that waits, then drains every
 * used element, knows each batch was announced by an interrupt rather than found by polling).
 * Interrupts are taken only inside waits (guest_main runs with IF clear). Ring 0 only. */
bool vq_wait(struct vq *vq, uint32_t timeout_ms);

#endif
