/* libFuzzer target: what the vhost-user disk and NIC make of a back-end's config space and
 * feature offer (virtio/vhost_user/vu_blk.c vu_blk_config_sanitize(), vu_net.c
 * vu_net_features_sanitize() and vu_net_config_make()), and their option strings (vu_opts.c).
 * The input: one selector byte; then, for blk, the offered features (8 bytes), the queue count
 * (1 byte) and the config bytes the back-end answered; for net, the features, a flag for a
 * mac= option and its 6 bytes, and the config bytes; for options, the string.
 * Invariants: only passed-on features survive; a kept feature's field is in the range 5.2.4 /
 * 5.1.4 allows, a dropped feature's fields read zero; num_queues is ours; net's dependencies
 * (5.1.3.1) hold and sanitizing twice changes nothing; the MAC is never multicast unless the
 * user gave it; a parsed option string has a socket, a power-of-two queue size, a queue count
 * in range. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/vhost_user/vu_blk.h"
#include "virtio/vhost_user/vu_net.h"
#include "virtio/vhost_user/vu_net_test.h"
#include "virtio/vhost_user/vu_opts.h"
#include "virtio/vhost_user/vu_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HAS(f, bit) (((f) >> (bit)) & 1)

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void blk(struct fz_in *in)
{
	struct virtio_blk_config c;
	uint64_t f = fz_u64(in);
	unsigned nq = fz_u8(in) % 20;
	memset(&c, 0, sizeof(c));
	fz_bytes(in, &c, sizeof(c));
	uint16_t qsize = fz_u16(in); /* after the config: older seeds keep their meaning */
	if (!qsize)
		qsize = 256;
	char err[160] = "";
	int rc = vu_blk_config_sanitize(&c, &f, nq, qsize, err, sizeof(err));
	FZ_ASSERT(!(f & ~VU_BLK_PASS_FEATURES), "feature %#llx not passed on",
		  (unsigned long long)f);
	FZ_ASSERT(rc == 0 || (rc == -EINVAL && err[0]), "rc %d without a reason", rc);
	FZ_ASSERT((rc != 0) == (nq > 1 && !HAS(f, VIRTIO_BLK_F_MQ)), "rc %d for %u queues", rc, nq);
	uint32_t bs = le32toh(c.blk_size);
	if (HAS(f, VIRTIO_BLK_F_BLK_SIZE))
		FZ_ASSERT(bs >= 512 && bs <= 4096 && !(bs & (bs - 1)), "blk_size %u kept", bs);
	else
		FZ_ASSERT(bs == 0, "blk_size of a dropped feature");
	FZ_ASSERT(HAS(f, VIRTIO_BLK_F_SEG_MAX) == (c.seg_max != 0), "seg_max");
	FZ_ASSERT(le32toh(c.seg_max) <= (qsize > 3 ? qsize - 2u : 1u), "seg_max %u, queue size %u",
		  le32toh(c.seg_max), qsize);
	FZ_ASSERT(HAS(f, VIRTIO_BLK_F_SIZE_MAX) == (c.size_max != 0), "size_max");
	FZ_ASSERT(!c.size_max || le32toh(c.size_max) >= 4096, "size_max %u", le32toh(c.size_max));
	if (!HAS(f, VIRTIO_BLK_F_DISCARD))
		FZ_ASSERT(!c.max_discard_sectors && !c.max_discard_seg, "discard fields");
	if (!HAS(f, VIRTIO_BLK_F_TOPOLOGY))
		FZ_ASSERT(!c.physical_block_exp && !c.opt_io_size, "topology fields");
	else
		FZ_ASSERT(c.physical_block_exp <= 15, "physical_block_exp %u",
			  c.physical_block_exp);
	if (!rc)
		FZ_ASSERT(le16toh(c.num_queues) == (HAS(f, VIRTIO_BLK_F_MQ) ? nq : 0),
			  "num_queues %u", le16toh(c.num_queues));
	FZ_ASSERT(c.wce == 0, "wce");
	FZ_ASSERT(zero((uint8_t *)&c + VU_BLK_CONFIG_BYTES, sizeof(c) - VU_BLK_CONFIG_BYTES),
		  "bytes past the fields read");
}

static void net(struct fz_in *in)
{
	uint64_t f = fz_u64(in);
	bool has_mac = fz_bool(in);
	uint8_t mac[6] = {0}, fallback[6] = {0x52, 0x54, 0, 1, 2, 3};
	fz_bytes(in, mac, sizeof(mac));
	size_t len;
	const uint8_t *cfg = fz_take(in, VU_MAX_CONFIG_SIZE, &len);
	uint64_t s = vu_net_features_sanitize(f);
	FZ_ASSERT(vu_net_features_sanitize(s) == s, "sanitize is not idempotent");
	FZ_ASSERT(!(s & ~f) && !(s & ~VU_NET_PASS_FEATURES), "sanitize added features");
	if (HAS(s, VIRTIO_NET_F_GUEST_TSO4) || HAS(s, VIRTIO_NET_F_GUEST_TSO6) ||
	    HAS(s, VIRTIO_NET_F_GUEST_UFO))
		FZ_ASSERT(HAS(s, VIRTIO_NET_F_GUEST_CSUM), "guest offload without GUEST_CSUM");
	if (HAS(s, VIRTIO_NET_F_HOST_TSO4) || HAS(s, VIRTIO_NET_F_HOST_TSO6) ||
	    HAS(s, VIRTIO_NET_F_HOST_UFO))
		FZ_ASSERT(HAS(s, VIRTIO_NET_F_CSUM), "host offload without CSUM");

	struct virtio_net_config c;
	memset(&c, 0xa5, sizeof(c));
	vu_net_config_make(&c, &f, cfg, len, has_mac ? mac : NULL, fallback);
	FZ_ASSERT(!(f & ~s), "config_make added features");
	if (has_mac)
		FZ_ASSERT(!memcmp(c.mac, mac, 6), "mac= not used");
	else
		FZ_ASSERT(!(c.mac[0] & 1), "a multicast MAC from the back-end");
	FZ_ASSERT(le16toh(c.status) == VIRTIO_NET_S_LINK_UP, "status");
	FZ_ASSERT(le16toh(c.max_virtqueue_pairs) == 1, "pairs");
	uint16_t mtu = le16toh(c.mtu);
	FZ_ASSERT(HAS(f, VIRTIO_NET_F_MTU) ? mtu >= 68 : mtu == 0, "mtu %u", mtu);
	FZ_ASSERT(zero((uint8_t *)&c + offsetof(struct virtio_net_config, mtu) + 2,
		       sizeof(c) - offsetof(struct virtio_net_config, mtu) - 2),
		  "fields past the MTU");
}

static void opts(struct fz_in *in)
{
	enum vu_opts_kind kind = fz_bool(in) ? VU_OPTS_NET : VU_OPTS_BLK;
	size_t len;
	const uint8_t *s = fz_take(in, 512, &len);
	char *arg = malloc(len + 1);
	if (!arg)
		abort();
	memcpy(arg, s, len);
	arg[len] = '\0';
	struct vu_opts o;
	char err[160] = "";
	int rc = vu_opts_parse(arg, kind, &o, err, sizeof(err));
	FZ_ASSERT(rc == 0 || (rc == -EINVAL && err[0]), "rc %d without a reason", rc);
	if (!rc) {
		FZ_ASSERT(o.socket[0] && strlen(o.socket) < sizeof(o.socket), "socket");
		FZ_ASSERT(o.queue_size >= 2 && !(o.queue_size & (o.queue_size - 1)), "queue-size");
		FZ_ASSERT(kind == VU_OPTS_NET ? o.num_queues == 2
					      : o.num_queues >= 1 && o.num_queues <= 16,
			  "num-queues %u", o.num_queues);
		FZ_ASSERT(!o.has_mac || (kind == VU_OPTS_NET && !(o.mac[0] & 1)), "mac");
	}
	free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	switch (fz_u8(&in) % 3) {
	case 0:
		blk(&in);
		break;
	case 1:
		net(&in);
		break;
	default:
		opts(&in);
		break;
	}
	return 0;
}
