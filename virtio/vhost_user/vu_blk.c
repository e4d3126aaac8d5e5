/* vhost-user-blk (virtio 1.2 5.2; QEMU docs/interop/vhost-user.rst, GET_CONFIG): see vu_blk.h. */
#include "virtio/vhost_user/vu_blk.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "virtio/vhost_user/vu_device.h"

struct vu_blk {
	struct vu_device vd; /* first: the block is freed as the virtio_dev */
	struct virtio_blk_config config;
	struct vu_opts opts;
};

/* Drops feature `bit` and zeroes its config bytes [off, off+len) when `bad`. */
static void drop_if(bool bad, uint64_t *features, unsigned bit, struct virtio_blk_config *c,
		    size_t off, size_t len)
{
	if (!bad && (*features & (1ull << bit)))
		return;
	*features &= ~(1ull << bit);
	memset((uint8_t *)c + off, 0, len);
}

#define FIELD(f) offsetof(struct virtio_blk_config, f), sizeof(((struct virtio_blk_config *)0)->f)
#define SPAN(a, b)                                                                                 \
	offsetof(struct virtio_blk_config, a), offsetof(struct virtio_blk_config, b) +             \
						   sizeof(((struct virtio_blk_config *)0)->b) -    \
						   offsetof(struct virtio_blk_config, a)

/* A request is a header, its data segments and a status byte, each a descriptor (5.2.6): with
 * the VMM's queue size the back-end's seg_max may promise more segments than a chain holds. */
static uint32_t seg_limit(uint16_t qsize)
{
	return qsize > 3 ? (uint32_t)qsize - 2 : 1;
}

int vu_blk_config_sanitize(struct virtio_blk_config *c, uint64_t *features, unsigned nq,
			   uint16_t qsize, char *err, size_t errlen)
{
	uint32_t bs = le32toh(c->blk_size);
	*features &= VU_BLK_PASS_FEATURES;
	/* 5.2.4: each field is valid only with its feature; a limit of 0 would stall the driver
	 * (seg_max 0: no request fits), a segment must hold a page (size_max below 4 KiB is
	 * refused by guests such as Linux) and a block size must be a power of two the driver
	 * takes: at most a 4 KiB page (Linux refuses a logical block larger than its page) */
	drop_if(le32toh(c->size_max) < 4096, features, VIRTIO_BLK_F_SIZE_MAX, c, FIELD(size_max));
	drop_if(!c->seg_max, features, VIRTIO_BLK_F_SEG_MAX, c, FIELD(seg_max));
	if (le32toh(c->seg_max) > seg_limit(qsize))
		c->seg_max = htole32(seg_limit(qsize));
	drop_if(false, features, VIRTIO_BLK_F_GEOMETRY, c, FIELD(geometry));
	drop_if(bs < 512 || bs > 4096 || (bs & (bs - 1)), features, VIRTIO_BLK_F_BLK_SIZE, c,
		FIELD(blk_size));
	drop_if(c->physical_block_exp > 15, features, VIRTIO_BLK_F_TOPOLOGY, c,
		SPAN(physical_block_exp, opt_io_size));
	drop_if(!c->max_discard_sectors || !c->max_discard_seg, features, VIRTIO_BLK_F_DISCARD, c,
		SPAN(max_discard_sectors, discard_sector_alignment));
	drop_if(!c->max_write_zeroes_sectors || !c->max_write_zeroes_seg, features,
		VIRTIO_BLK_F_WRITE_ZEROES, c, SPAN(max_write_zeroes_sectors, unused1));
	/* not passed on: their fields read as zero */
	c->wce = 0;
	c->unused = 0;
	memset((uint8_t *)c + VU_BLK_CONFIG_BYTES, 0, sizeof(*c) - VU_BLK_CONFIG_BYTES);
	if (nq > 1 && !(*features & (1ull << VIRTIO_BLK_F_MQ))) {
		snprintf(err, errlen, "%u queues asked for, the back-end offers no VIRTIO_BLK_F_MQ",
			 nq);
		return -EINVAL;
	}
	c->num_queues = htole16(*features & (1ull << VIRTIO_BLK_F_MQ) ? (uint16_t)nq : 0);
	return 0;
}

/* The back-end's config space and features, made safe (vu_blk_config_sanitize()); the
 * device's pass-on mask in *pass. */
static int read_config(struct vu_blk *b, uint64_t *pass)
{
	struct vu_device *vd = &b->vd;
	char why[160];
	int err = vu_frontend_get_config(&vd->fe, 0, &b->config, VU_BLK_CONFIG_BYTES);
	if (err)
		return err; /* fe.error says why (-EOPNOTSUPP: no CONFIG protocol feature) */
	uint64_t f = vd->fe.features;
	if (vu_blk_config_sanitize(&b->config, &f, b->opts.num_queues, b->opts.queue_size, why,
				   sizeof(why))) {
		snprintf(vd->fe.error, sizeof(vd->fe.error), "vhost-user back-end %s: %s",
			 vd->socket, why);
		return -EINVAL;
	}
	uint64_t dropped = vd->fe.features & VU_BLK_PASS_FEATURES & ~f;
	if (dropped)
		log_warn("%s: features %#llx not passed on: their config fields are out of range",
			 vd->label, (unsigned long long)dropped);
	*pass = f | VU_DEVICE_RING_FEATURES;
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
    .activate = vu_device_activate,
    .queue_notify = vu_device_queue_notify,
    .reset = vu_device_reset,
    .irqfd_changed = vu_device_irqfd_changed,
    .counters = vu_device_counters,
    .destroy = vu_device_destroy,
    /* no .config_write: CONFIG_WCE is not passed on, the config space is read-only; no .save:
     * the queues' state lives in the back-end (snapshots refuse the device) */
};

int vu_blk_create(struct virtio_dev **out, const struct vu_opts *o, int timeout_ms)
{
	struct vu_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	char label[160];
	snprintf(label, sizeof(label), "vhost-user-blk %s", o->id[0] ? o->id : o->socket);
	vu_device_init(&b->vd, o->socket, label, timeout_ms);
	b->opts = *o;
	uint64_t pass = 0;
	int err = vu_device_connect(&b->vd, o->num_queues);
	if (!err)
		err = read_config(b, &pass);
	if (err) {
		log_error("--disk vhost-user=%s: %s", o->socket,
			  b->vd.fe.error[0] ? b->vd.fe.error : strerror(-err));
		vu_device_free(&b->vd);
		return err;
	}
	vu_device_describe(&b->vd, o->num_queues, o->queue_size, pass, 0, &blk_ops);
	struct virtio_dev *d = &b->vd.dev;
	d->name = "vhost-user-blk";
	d->device_id = VIRTIO_ID_BLOCK;
	d->config = &b->config;
	d->config_len = sizeof(b->config);
	log_info("%s: %llu sectors, features %#llx, %u queue(s)", label,
		 (unsigned long long)le64toh(b->config.capacity),
		 (unsigned long long)d->host_features, o->num_queues);
	*out = d;
	return 0;
}
