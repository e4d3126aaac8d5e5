/* Guest-side virtio-blk requests (see virtio_blk.h). */
#include "virtio_blk.h"

#include "platform.h"
#include "string.h"
#include "test.h"

#define UNIT	16u /* bytes per pattern unit */
#define WAIT_MS 5000

int blk_add(struct vq *vq, struct blk_req *r, uint32_t type, uint64_t sector, void *data,
	    uint32_t len, unsigned nseg, unsigned flags)
{
	struct vq_buf bufs[BLK_MAX_SEGS + 2];
	bool device_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	unsigned n = 0;

	if (len == 0)
		nseg = 0;
	else if (nseg == 0 || nseg > BLK_MAX_SEGS || len % nseg)
		return VQ_ERR_CHAIN;
	r->hdr = (struct virtio_blk_outhdr){.type = type, .ioprio = 0, .sector = sector};
	r->status = BLK_STATUS_PENDING;
	r->done = false;
	r->used_len = 0;
	bufs[n++] = (struct vq_buf){virt_to_phys(&r->hdr), sizeof(r->hdr), false};
	for (unsigned i = 0; i < nseg; i++)
		bufs[n++] = (struct vq_buf){virt_to_phys(data) + (uint64_t)i * (len / nseg),
					    len / nseg, device_writes};
	bufs[n++] = (struct vq_buf){virt_to_phys(&r->status), 1, true};
	return vq_add(vq, bufs, n, r, flags);
}

struct blk_req *blk_complete(struct vq *vq)
{
	uint32_t len;
	struct blk_req *r = vq_get_used(vq, &len);

	if (r) {
		r->used_len = len;
		r->done = true;
	}
	return r;
}

uint8_t blk_do(struct vq *vq, uint32_t type, uint64_t sector, void *data, uint32_t len,
	       unsigned nseg, unsigned flags, bool irq)
{
	static struct blk_req req;
	struct blk_req *r;
	int err = blk_add(vq, &req, type, sector, data, len, nseg, flags);

	TEST_ASSERT_MSG(err == 0, "blk_add(type %u) failed: %d", type, err);
	vq_kick(vq);
	for (;;) {
		if (irq)
			TEST_ASSERT_MSG(vq_wait(vq, WAIT_MS),
					"no completion interrupt for a type-%u request in %u ms",
					type, WAIT_MS);
		else
			while (!vq_has_used(vq))
				cpu_relax();
		r = blk_complete(vq);
		TEST_ASSERT_MSG(r != NULL, "bad used element");
		if (r == &req)
			return req.status;
	}
}

static void unit(char *p, uint64_t sector, char tag, const char *mark)
{
	uint64_t v = sector;

	p[0] = tag;
	for (int i = 10; i >= 1; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	p[11] = '-';
	memcpy(p + 12, mark, 3);
	p[15] = '\n';
}

void blk_pattern_fill(void *buf, uint64_t sector, uint32_t nsectors, char tag, const char *mark)
{
	char *p = buf;

	for (uint32_t s = 0; s < nsectors; s++) {
		for (uint32_t u = 0; u < BLK_SECTOR / UNIT; u++, p += UNIT)
			unit(p, sector + s, tag, mark);
	}
}

uint32_t blk_pattern_check(const void *buf, uint64_t sector, uint32_t nsectors, char tag,
			   const char *mark)
{
	const char *p = buf;
	char want[UNIT];

	for (uint32_t s = 0; s < nsectors; s++) {
		unit(want, sector + s, tag, mark);
		for (uint32_t u = 0; u < BLK_SECTOR / UNIT; u++, p += UNIT) {
			if (memcmp(p, want, UNIT))
				return s;
		}
	}
	return nsectors;
}
