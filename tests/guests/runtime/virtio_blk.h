/* Guest-side virtio-blk requests (virtio 1.2 section 5.2.6) over a struct vq: a 16-byte header
 * (device-readable), the data (device-readable for OUT, DISCARD and WRITE_ZEROES; writable for IN
 * and GET_ID), then the 1-byte status (writable). Used by the virtio_blk and blk_bench guests. */
#ifndef GUEST_VIRTIO_BLK_H
#define GUEST_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

#include "virtio_mem.h"
#include "virtio_vq.h"

#define BLK_SECTOR	   512u
#define BLK_MAX_SEGS	   16u /* data pieces per request in blk_add() */
#define BLK_STATUS_PENDING 0xee

/* One request; must live in memory the device can reach (any RAM: the guest is identity
 * mapped). The status byte is set to BLK_STATUS_PENDING by blk_add(). */
struct blk_req {
	struct virtio_blk_outhdr hdr;
	uint8_t status;
	bool done;
	uint32_t used_len;
};

/* Adds (does not kick) one request of `type` at `sector` with `len` data bytes at `data`, the
 * data cut into `nseg` equal pieces (1..BLK_MAX_SEGS; len 0 for FLUSH). flags: VQ_ADD_*.
 * Returns 0 or a VQ_ERR_*. */
int blk_add(struct vq *vq, struct blk_req *r, uint32_t type, uint64_t sector, void *data,
	    uint32_t len, unsigned nseg, unsigned flags);

/* Takes one used element: marks its request done with used_len; returns it, or NULL. */
struct blk_req *blk_complete(struct vq *vq);

/* One request, start to end: add, kick, then wait for its completion by interrupt (`irq`,
 * vq_wait; fails the test if no interrupt comes within 5 s) or by polling. Returns the status
 * byte. Ring 0 for `irq`. */
uint8_t blk_do(struct vq *vq, uint32_t type, uint64_t sector, void *data, uint32_t len,
	       unsigned nseg, unsigned flags, bool irq);

/* The "S%010u-GST\n"-style test pattern: every 16 bytes of sector s hold `tag` (one letter),
 * the sector number in 10 decimal digits, '-', the 3-letter `mark`, '\n'. The integration
 * scripts generate the same bytes with awk, so the host can check what the guest wrote and the
 * guest can check what the host wrote. Pure code: fast in ring 3. */
void blk_pattern_fill(void *buf, uint64_t sector, uint32_t nsectors, char tag, const char *mark);
/* Returns the index of the first sector that differs from the pattern, or nsectors. */
uint32_t blk_pattern_check(const void *buf, uint64_t sector, uint32_t nsectors, char tag,
			   const char *mark);

#endif
