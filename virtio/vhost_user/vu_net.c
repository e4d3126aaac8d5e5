/* vhost-user-net (virtio 1.2 5.1): see vu_net.h. */
#include "virtio/vhost_user/vu_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "base/mac.h"
#include "virtio/vhost_user/vu_device.h"

#define MIN_MTU 68 /* 5.1.4.1: the device must not offer an MTU below 68 */
#define MAX_MTU 65535

struct vu_net {
	struct vu_device vd; /* first: the block is freed as the virtio_dev */
	struct virtio_net_config config;
	struct vu_opts opts;
};

static bool has(uint64_t f, unsigned bit)
{
	return f & (1ull << bit);
}

uint64_t vu_net_features_sanitize(uint64_t f)
{
	f &= VU_NET_PASS_FEATURES;
	/* 5.1.3.1: the guest offloads need GUEST_CSUM, the host ones CSUM, ECN needs TSO */
	if (!has(f, VIRTIO_NET_F_GUEST_CSUM))
		f &= ~(1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6 |
		       1ull << VIRTIO_NET_F_GUEST_UFO);
	if (!has(f, VIRTIO_NET_F_GUEST_TSO4) && !has(f, VIRTIO_NET_F_GUEST_TSO6))
		f &= ~(1ull << VIRTIO_NET_F_GUEST_ECN);
	if (!has(f, VIRTIO_NET_F_CSUM))
		f &= ~(1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6 |
		       1ull << VIRTIO_NET_F_HOST_UFO);
	if (!has(f, VIRTIO_NET_F_HOST_TSO4) && !has(f, VIRTIO_NET_F_HOST_TSO6))
		f &= ~(1ull << VIRTIO_NET_F_HOST_ECN);
	return f;
}

void vu_net_config_make(struct virtio_net_config *c, uint64_t *features, const uint8_t *backend,
			size_t len, const uint8_t *opts_mac, const uint8_t fallback_mac[6])
{
	struct virtio_net_config b = {0};
	if (len) /* backend may be NULL with len 0 */
		memcpy(&b, backend, len < sizeof(b) ? len : sizeof(b));
	uint64_t f = vu_net_features_sanitize(*features);
	memset(c, 0, sizeof(*c));
	if (opts_mac)
		memcpy(c->mac, opts_mac, 6);
	else if (has(f, VIRTIO_NET_F_MAC) && len >= 6 && mac_is_station(b.mac))
		memcpy(c->mac, b.mac, 6);
	else
		memcpy(c->mac, fallback_mac, 6);
	c->status = htole16(VIRTIO_NET_S_LINK_UP);
	c->max_virtqueue_pairs = htole16(1);
	uint16_t mtu = le16toh(b.mtu);
	bool have_mtu = len >= offsetof(struct virtio_net_config, mtu) + sizeof(b.mtu);
	if (has(f, VIRTIO_NET_F_MTU) && have_mtu && mtu >= MIN_MTU)
		c->mtu = htole16(mtu);
	else
		f &= ~(1ull << VIRTIO_NET_F_MTU);
	*features = f;
}

/* The back-end's config bytes, when it offers something to read there: its MAC or MTU with
 * the CONFIG protocol feature. A refusal (an empty reply, the protocol's way) leaves the VMM's
 * values; a broken connection fails the device. Returns the bytes read (0: none) or -errno. */
static int read_backend_config(struct vu_net *n, uint8_t *buf, size_t cap)
{
	struct vu_frontend *fe = &n->vd.fe;
	uint64_t wants = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_MTU;
	if (!(fe->protocol_features & (1ull << VU_PROTOCOL_F_CONFIG)) || !(fe->features & wants))
		return 0;
	size_t len = offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t);
	if (len > cap)
		return 0;
	int err = vu_frontend_get_config(fe, 0, buf, (uint32_t)len);
	if (err == -EIO) {
		log_info("%s: %s; using the VMM's config", n->vd.label, fe->error);
		fe->error[0] = '\0';
		return 0;
	}
	return err ? err : (int)len;
}

/* 52:54:00 (QEMU's prefix, locally administered range of its users) and three random bytes. */
static void random_mac(uint8_t mac[6])
{
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	if (getrandom(mac + 3, 3, 0) != 3)
		mac[3] = 0x12, mac[4] = 0x34, mac[5] = 0x56;
}

static bool net_features_ok(struct virtio_dev *dev, uint64_t features)
{
	(void)dev;
	/* the driver's set keeps the dependencies the offer had (5.1.3.1) */
	uint64_t ours = features & VU_NET_PASS_FEATURES;
	return vu_net_features_sanitize(ours) == ours;
}

static const struct virtio_dev_ops net_ops = {
    .activate = vu_device_activate,
    .queue_notify = vu_device_queue_notify,
    .reset = vu_device_reset,
    .irqfd_changed = vu_device_irqfd_changed,
    .counters = vu_device_counters,
    .features_ok = net_features_ok,
    .destroy = vu_device_destroy,
    /* no .save: the queues' state lives in the back-end (snapshots refuse the device) */
};

static int build_config(struct vu_net *n, uint64_t *pass)
{
	uint8_t buf[VU_MAX_CONFIG_SIZE], fallback[6];
	int len = read_backend_config(n, buf, sizeof(buf));
	if (len < 0)
		return len;
	random_mac(fallback);
	uint64_t f = n->vd.fe.features;
	vu_net_config_make(&n->config, &f, buf, (size_t)len, n->opts.has_mac ? n->opts.mac : NULL,
			   fallback);
	*pass = f | VU_DEVICE_RING_FEATURES;
	return 0;
}

int vu_net_create(struct virtio_dev **out, const struct vu_opts *o, int timeout_ms)
{
	struct vu_net *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	char label[160];
	snprintf(label, sizeof(label), "vhost-user-net %s", o->id[0] ? o->id : o->socket);
	vu_device_init(&n->vd, o->socket, label, timeout_ms);
	n->vd.resume_pending = true;
	n->opts = *o;
	uint64_t pass = 0;
	int err = vu_device_connect(&n->vd, 2); /* rx0, tx0 */
	if (!err)
		err = build_config(n, &pass);
	if (err) {
		log_error("--net vhost-user=%s: %s", o->socket,
			  n->vd.fe.error[0] ? n->vd.fe.error : strerror(-err));
		vu_device_free(&n->vd);
		return err;
	}
	vu_device_describe(&n->vd, 2, o->queue_size, pass, VU_NET_LOCAL_FEATURES, &net_ops);
	struct virtio_dev *d = &n->vd.dev;
	d->name = "vhost-user-net";
	d->device_id = VIRTIO_ID_NET;
	d->config = &n->config;
	d->config_len = sizeof(n->config);
	const uint8_t *m = n->config.mac;
	log_info("%s: mac %02x:%02x:%02x:%02x:%02x:%02x, features %#llx", label, m[0], m[1], m[2],
		 m[3], m[4], m[5], (unsigned long long)d->host_features);
	*out = d;
	return 0;
}
