/* vhost-user-blk and vhost-user-net (virtio/vhost_user/vu_blk.c, vu_net.c, vu_opts.c) and the
 * device logic they share with virtio-fs (vu_device.c): the option strings; the back-end's
 * config space and feature offer made safe (bad fields drop their feature, dependencies kept);
 * the device against a fake back-end on a listening socket: config from GET_CONFIG, features
 * masked by the offer, SET_FEATURES with the driver's choice of the back-end's features only,
 * the rings handed over at DRIVER_OK, calls as interrupts, a back-end without CONFIG or with too
 * few queues refused with a message, a restarted back-end resumed (a NIC even with rx buffers
 * posted; a disk only drained), snapshots refused. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/guest_mem.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/vhost_user/vu_blk.h"
#include "virtio/vhost_user/vu_device.h"
#include "virtio/vhost_user/vu_msg.h"
#include "virtio/vhost_user/vu_net.h"
#include "virtio/vhost_user/vu_net_test.h"

#define BIT(b) (1ull << (b))

/* ---- option strings ---- */

Test(vu_opts, parses_disk_and_nic)
{
	struct vu_opts o;
	char err[160];
	cr_assert(vu_opts_is_spec("vhost-user=/x"));
	cr_assert_not(vu_opts_is_spec("/disk.img,vhost-user=/x"));
	cr_assert_eq(vu_opts_parse("vhost-user=/tmp/b.sock", VU_OPTS_BLK, &o, err, sizeof(err)), 0);
	cr_assert_str_eq(o.socket, "/tmp/b.sock");
	cr_assert_eq(o.num_queues, 1);
	cr_assert_eq(o.queue_size, VU_OPTS_DEFAULT_QSIZE);
	cr_assert_eq(o.id[0], '\0');
	cr_assert_eq(vu_opts_parse("vhost-user=/s,num-queues=4,queue-size=128,id=data", VU_OPTS_BLK,
				   &o, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(o.num_queues, 4);
	cr_assert_eq(o.queue_size, 128);
	cr_assert_str_eq(o.id, "data");
	cr_assert_eq(vu_opts_parse("vhost-user=/n,mac=02:AB:cd:00:11:22,num-queues=2,id=eth1",
				   VU_OPTS_NET, &o, err, sizeof(err)),
		     0, "%s", err);
	cr_assert(o.has_mac);
	cr_assert_eq(memcmp(o.mac, "\x02\xab\xcd\x00\x11\x22", 6), 0);
	cr_assert_eq(o.num_queues, 2);
	cr_assert_str_eq(o.id, "eth1");
}

Test(vu_opts, a_doubled_comma_is_a_comma_in_the_socket)
{
	struct vu_opts o;
	char err[160] = "";
	cr_assert_eq(vu_opts_parse("vhost-user=/s,,id=a", VU_OPTS_BLK, &o, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(o.socket, "/s,id=a");
	cr_assert_str_eq(o.id, "", "id= is part of the path");
}

Test(vu_opts, refuses_bad_input_with_a_message)
{
	struct vu_opts o;
	char err[160];
	const struct {
		const char *arg;
		enum vu_opts_kind kind;
	} bad[] = {
	    {"", VU_OPTS_BLK},
	    {"/disk.img", VU_OPTS_BLK},
	    {"vhost-user=", VU_OPTS_BLK},
	    {"vhost-user=/s,,,", VU_OPTS_BLK},
	    {"vhost-user=/s,cache=none", VU_OPTS_BLK},
	    {"vhost-user=/s,vhost-user=/t", VU_OPTS_BLK},
	    {"vhost-user=/s,num-queues=0", VU_OPTS_BLK},
	    {"vhost-user=/s,num-queues=17", VU_OPTS_BLK},
	    {"vhost-user=/s,queue-size=100", VU_OPTS_BLK},
	    {"vhost-user=/s,queue-size=4096", VU_OPTS_BLK},
	    {"vhost-user=/s,mac=02:00:00:00:00:01", VU_OPTS_BLK},
	    {"vhost-user=/s,id=a/b", VU_OPTS_BLK},
	    {"vhost-user=/s,id", VU_OPTS_BLK},
	    {"vhost-user=/s,num-queues=4", VU_OPTS_NET},
	    {"vhost-user=/s,mac=01:00:00:00:00:01", VU_OPTS_NET},
	    {"vhost-user=/s,mac=02:00:00:00:00", VU_OPTS_NET},
	    {"vhost-user=/s,mac=02:00:00:00:00:0g", VU_OPTS_NET},
	    {"vhost-user=/s,mac=02:00:00:00:00:011", VU_OPTS_NET},
	    {"vhost-user=/s,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02", VU_OPTS_NET},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(vu_opts_parse(bad[i].arg, bad[i].kind, &o, err, sizeof(err)), -EINVAL,
			     "%s", bad[i].arg);
		cr_assert_neq(err[0], '\0', "a message for %s", bad[i].arg);
	}
}

/* ---- the back-end's config and features made safe ---- */

static struct virtio_blk_config good_blk_config(void)
{
	struct virtio_blk_config c = {0};
	c.capacity = htole64(8192);
	c.size_max = htole32(65536);
	c.seg_max = htole32(126);
	c.blk_size = htole32(4096);
	c.physical_block_exp = 0;
	c.min_io_size = htole16(1);
	c.opt_io_size = htole32(8);
	c.num_queues = htole16(8);
	c.max_discard_sectors = htole32(1u << 20);
	c.max_discard_seg = htole32(1);
	c.max_write_zeroes_sectors = htole32(1u << 20);
	c.max_write_zeroes_seg = htole32(1);
	c.wce = 1;
	return c;
}

#define BLK_OFFER                                                                                  \
	(BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |     \
	 BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_TOPOLOGY) | BIT(VIRTIO_BLK_F_MQ) |             \
	 BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES) |                              \
	 BIT(VIRTIO_BLK_F_CONFIG_WCE))

Test(vu_blk_config, a_good_config_is_kept_and_num_queues_is_ours)
{
	struct virtio_blk_config c = good_blk_config();
	uint64_t f = BLK_OFFER | BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_RING_PACKED);
	char err[128];
	cr_assert_eq(vu_blk_config_sanitize(&c, &f, 2, 256, err, sizeof(err)), 0);
	cr_assert_eq(f, BLK_OFFER & ~BIT(VIRTIO_BLK_F_CONFIG_WCE),
		     "no CONFIG_WCE, no ring bits (the device adds its own)");
	cr_assert_eq(le64toh(c.capacity), 8192);
	cr_assert_eq(le32toh(c.blk_size), 4096);
	cr_assert_eq(le16toh(c.num_queues), 2);
	cr_assert_eq(c.wce, 0, "CONFIG_WCE not passed on: its field reads 0");
}

Test(vu_blk_config, out_of_range_fields_drop_their_feature)
{
	char err[128];
	uint32_t sizes[] = {0, 256, 3000, 131072};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct virtio_blk_config c = good_blk_config();
		uint64_t f = BLK_OFFER;
		c.blk_size = htole32(sizes[i]);
		cr_assert_eq(vu_blk_config_sanitize(&c, &f, 1, 256, err, sizeof(err)), 0);
		cr_assert_not(f & BIT(VIRTIO_BLK_F_BLK_SIZE), "blk_size %u", sizes[i]);
		cr_assert_eq(c.blk_size, 0);
	}
	struct virtio_blk_config c = good_blk_config();
	uint64_t f = BLK_OFFER;
	c.seg_max = 0;
	c.max_discard_seg = 0;
	c.max_write_zeroes_sectors = 0;
	c.physical_block_exp = 16;
	cr_assert_eq(vu_blk_config_sanitize(&c, &f, 1, 256, err, sizeof(err)), 0);
	cr_assert_eq(f & (BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_DISCARD) |
			  BIT(VIRTIO_BLK_F_WRITE_ZEROES) | BIT(VIRTIO_BLK_F_TOPOLOGY)),
		     0);
	cr_assert(f & BIT(VIRTIO_BLK_F_SIZE_MAX));
	cr_assert_eq(c.max_discard_sectors, 0, "a dropped feature's fields read 0");
	cr_assert_eq(c.opt_io_size, 0);
}

/* Limits a guest takes: a logical block at most a 4 KiB page, a segment at least a page, and
 * no more segments than a chain of the VMM's queue size holds (header and status besides). */
Test(vu_blk_config, limits_fit_the_guest_and_the_queue_size)
{
	char err[128];
	struct virtio_blk_config c = good_blk_config();
	uint64_t f = BLK_OFFER;
	c.blk_size = htole32(8192);
	c.size_max = htole32(2048);
	c.seg_max = htole32(1000);
	cr_assert_eq(vu_blk_config_sanitize(&c, &f, 1, 128, err, sizeof(err)), 0);
	cr_assert_not(f & BIT(VIRTIO_BLK_F_BLK_SIZE), "blk_size 8192 dropped");
	cr_assert_eq(c.blk_size, 0);
	cr_assert_not(f & BIT(VIRTIO_BLK_F_SIZE_MAX), "size_max 2048 dropped");
	cr_assert_eq(c.size_max, 0);
	cr_assert(f & BIT(VIRTIO_BLK_F_SEG_MAX));
	cr_assert_eq(le32toh(c.seg_max), 126, "clamped to the queue size - 2");

	c = good_blk_config();
	f = BLK_OFFER;
	c.size_max = htole32(4096);
	cr_assert_eq(vu_blk_config_sanitize(&c, &f, 1, 2, err, sizeof(err)), 0);
	cr_assert(f & BIT(VIRTIO_BLK_F_SIZE_MAX), "a page per segment is fine");
	cr_assert(f & BIT(VIRTIO_BLK_F_BLK_SIZE), "4096 is fine");
	cr_assert_eq(le32toh(c.seg_max), 1, "at least one segment");
}

Test(vu_blk_config, fields_of_features_not_offered_read_zero)
{
	struct virtio_blk_config c = good_blk_config();
	uint64_t f = BIT(VIRTIO_BLK_F_FLUSH);
	char err[128];
	cr_assert_eq(vu_blk_config_sanitize(&c, &f, 1, 256, err, sizeof(err)), 0);
	cr_assert_eq(f, BIT(VIRTIO_BLK_F_FLUSH));
	cr_assert_eq(le64toh(c.capacity), 8192, "capacity needs no feature");
	cr_assert_eq(c.seg_max | c.blk_size | c.num_queues | c.max_discard_sectors, 0);
}

Test(vu_blk_config, more_queues_than_the_offer_allows_is_an_error)
{
	struct virtio_blk_config c = good_blk_config();
	uint64_t f = BLK_OFFER & ~BIT(VIRTIO_BLK_F_MQ);
	char err[128] = "";
	cr_assert_eq(vu_blk_config_sanitize(&c, &f, 2, 256, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "VIRTIO_BLK_F_MQ"), "%s", err);
}

Test(vu_net_config, dependencies_are_kept)
{
	uint64_t f = BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_ECN) |
		     BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN) |
		     BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ);
	cr_assert_eq(vu_net_features_sanitize(f), BIT(VIRTIO_NET_F_MRG_RXBUF),
		     "offloads without their checksum feature, ECN without TSO, the control "
		     "queue's features: dropped");
	f |= BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_CSUM);
	cr_assert_eq(vu_net_features_sanitize(f),
		     f & ~(BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ)));
}

Test(vu_net_config, mac_from_options_then_backend_then_fallback)
{
	struct virtio_net_config c, b = {0};
	const uint8_t opt[6] = {2, 0, 0, 0, 0, 1}, fb[6] = {0x52, 0x54, 0, 1, 2, 3};
	memcpy(b.mac, "\x02\x11\x22\x33\x44\x55", 6);
	b.mtu = htole16(9000);
	uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU);
	vu_net_config_make(&c, &f, (const uint8_t *)&b, 12, opt, fb);
	cr_assert_eq(memcmp(c.mac, opt, 6), 0);
	cr_assert_eq(le16toh(c.status), VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(le16toh(c.max_virtqueue_pairs), 1);
	cr_assert_eq(le16toh(c.mtu), 9000);
	cr_assert(f & BIT(VIRTIO_NET_F_MTU));
	vu_net_config_make(&c, &f, (const uint8_t *)&b, 12, NULL, fb);
	cr_assert_eq(memcmp(c.mac, b.mac, 6), 0, "the back-end's");
	f = BIT(VIRTIO_NET_F_MTU); /* no MAC offered: its bytes are not a MAC */
	vu_net_config_make(&c, &f, (const uint8_t *)&b, 12, NULL, fb);
	cr_assert_eq(memcmp(c.mac, fb, 6), 0);
	b.mac[0] = 1; /* multicast */
	f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU);
	b.mtu = htole16(60);
	vu_net_config_make(&c, &f, (const uint8_t *)&b, 12, NULL, fb);
	cr_assert_eq(memcmp(c.mac, fb, 6), 0, "a multicast MAC is not taken");
	cr_assert_not(f & BIT(VIRTIO_NET_F_MTU), "an MTU below 68 drops the feature");
	cr_assert_eq(c.mtu, 0);
	f = BIT(VIRTIO_NET_F_MTU);
	vu_net_config_make(&c, &f, NULL, 0, NULL, fb);
	cr_assert_not(f & BIT(VIRTIO_NET_F_MTU), "no config read: no MTU");
}

/* ---- a fake back-end on a listening socket ---- */

#define F_PROTO BIT(VU_F_PROTOCOL_FEATURES)
#define NQ	4

struct fake {
	char path[108];
	int lfd, fd;
	pthread_t thread;
	pthread_mutex_t lock;
	/* what it offers */
	uint64_t features, protocol, queue_num;
	uint8_t config[VU_MAX_CONFIG_SIZE];
	bool refuse_config;    /* an empty GET_CONFIG reply (the protocol's failure) */
	int slow_mem_table_ms; /* SET_MEM_TABLE answered this late */
	bool reaccept;	       /* a closed connection: the next one is accepted */
	int connections;       /* accepted after the first, with reaccept */
	/* what arrived */
	int nreq;
	uint32_t req[256];
	uint64_t set_features;
	int kick[NQ], call[NQ];
	uint32_t base[NQ];
};

static void reply(int fd, uint32_t request, const void *p, uint32_t size)
{
	uint8_t buf[VU_MAX_MSG];
	struct vu_hdr h = {request, VU_FLAG_VERSION | VU_FLAG_REPLY, size};
	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + VU_HDR_SIZE, p, size);
	(void)!send(fd, buf, VU_HDR_SIZE + size, MSG_NOSIGNAL); /* the front-end may be gone */
}

static int recv_one(struct fake *f, uint8_t *buf, int *fds, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = {.iov_base = buf, .iov_len = VU_HDR_SIZE};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	if (recvmsg(f->fd, &mh, MSG_WAITALL) != VU_HDR_SIZE)
		return -1;
	*nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds + *nfds, CMSG_DATA(cm), sizeof(int) * (size_t)k);
		*nfds += k;
	}
	struct vu_hdr h;
	vu_msg_read_hdr(buf, &h);
	if (h.size && recv(f->fd, buf + VU_HDR_SIZE, h.size, MSG_WAITALL) != (ssize_t)h.size)
		return -1;
	return 0;
}

static void keep_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

/* GET_CONFIG: the offset and size asked, then the bytes (or nothing: refused). */
static void answer_config(struct fake *f, const uint8_t *payload)
{
	uint32_t off, size;
	memcpy(&off, payload, 4);
	memcpy(&size, payload + 4, 4);
	if (f->refuse_config || off + size > VU_MAX_CONFIG_SIZE) {
		reply(f->fd, VU_GET_CONFIG, NULL, 0);
		return;
	}
	uint8_t out[VU_CONFIG_HDR_SIZE + VU_MAX_CONFIG_SIZE] = {0};
	memcpy(out, payload, VU_CONFIG_HDR_SIZE);
	memcpy(out + VU_CONFIG_HDR_SIZE, f->config + off, size);
	reply(f->fd, VU_GET_CONFIG, out, VU_CONFIG_HDR_SIZE + size);
}

static void record(struct fake *f, const struct vu_hdr *h, const uint8_t *buf, int *fds, int nfds)
{
	uint64_t v = 0;
	uint32_t st[2];
	memcpy(&v, buf + VU_HDR_SIZE, h->size >= 8 ? 8 : 0);
	memcpy(st, &v, 8);
	pthread_mutex_lock(&f->lock);
	f->req[f->nreq++ % 256] = h->request;
	unsigned q = (unsigned)(v & 0xff) % NQ;
	if (h->request == VU_SET_VRING_KICK && nfds)
		keep_fd(&f->kick[q], fds[0]);
	else if (h->request == VU_SET_VRING_CALL && nfds)
		keep_fd(&f->call[q], fds[0]);
	else
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	if (h->request == VU_SET_FEATURES)
		f->set_features = v;
	if (h->request == VU_SET_VRING_BASE)
		f->base[st[0] % NQ] = st[1];
	pthread_mutex_unlock(&f->lock);
}

/* Answers one connection until it closes. */
static void serve(struct fake *f)
{
	uint8_t buf[VU_MAX_MSG];
	int fds[8], nfds;
	while (f->fd >= 0 && recv_one(f, buf, fds, &nfds) == 0) {
		struct vu_hdr h;
		vu_msg_read_hdr(buf, &h);
		record(f, &h, buf, fds, nfds);
		if (h.request == VU_SET_MEM_TABLE && f->slow_mem_table_ms)
			usleep((useconds_t)f->slow_mem_table_ms * 1000);
		uint64_t zero = 0, ans = h.request == VU_GET_FEATURES		 ? f->features
					 : h.request == VU_GET_PROTOCOL_FEATURES ? f->protocol
										 : f->queue_num;
		uint32_t idx;
		memcpy(&idx, buf + VU_HDR_SIZE, 4);
		if (h.request == VU_GET_FEATURES || h.request == VU_GET_PROTOCOL_FEATURES ||
		    h.request == VU_GET_QUEUE_NUM)
			reply(f->fd, h.request, &ans, 8);
		else if (h.request == VU_GET_VRING_BASE)
			reply(f->fd, h.request, (uint32_t[]){idx, 0}, 8);
		else if (h.request == VU_GET_CONFIG)
			answer_config(f, buf + VU_HDR_SIZE);
		else if (h.flags & VU_FLAG_NEED_REPLY)
			reply(f->fd, h.request, &zero, 8);
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	f->fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	serve(f);
	while (f->reaccept && f->fd >= 0) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_mutex_lock(&f->lock);
		close(f->fd);
		f->fd = fd;
		f->connections++;
		pthread_mutex_unlock(&f->lock);
		serve(f);
	}
	return NULL;
}

static void fake_init(struct fake *f, uint64_t features, uint64_t protocol, uint64_t queue_num)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->fd = f->lfd = -1;
	for (int i = 0; i < NQ; i++)
		f->kick[i] = f->call[i] = -1;
	f->features = features;
	f->protocol = protocol;
	f->queue_num = queue_num;
	snprintf(f->path, sizeof(f->path), "/tmp/vud-test-%d.sock", getpid());
}

static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, f->path);
	unlink(f->path);
	f->fd = -1;
	f->nreq = 0;
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 1), 0);
	pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_kill(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	if (f->fd >= 0)
		shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	if (f->fd >= 0)
		close(f->fd);
	close(f->lfd);
	for (int i = 0; i < NQ; i++) {
		if (f->kick[i] >= 0)
			close(f->kick[i]);
		if (f->call[i] >= 0)
			close(f->call[i]);
		f->kick[i] = f->call[i] = -1;
	}
}

static int count(struct fake *f, uint32_t request)
{
	int n = 0;
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->nreq && i < 256; i++)
		n += f->req[i] == request;
	pthread_mutex_unlock(&f->lock);
	return n;
}

#define PROTO_ALL                                                                                  \
	(BIT(VU_PROTOCOL_F_MQ) | BIT(VU_PROTOCOL_F_REPLY_ACK) | BIT(VU_PROTOCOL_F_CONFIG) |        \
	 BIT(VU_PROTOCOL_F_RESET_DEVICE))
#define RING_OFFER                                                                                 \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |                                  \
	 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_F_RING_PACKED) | F_PROTO)

/* ---- the devices, driven as a driver would ---- */

static atomic_int irqs[VIRTIO_DEV_MAX_QUEUES];
static void raise_cb(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q < VIRTIO_DEV_MAX_QUEUES)
		atomic_fetch_add(&irqs[q], 1);
}

static struct guest_mem mem;

static void attach(struct virtio_dev *dev)
{
	cr_assert_eq(virtio_dev_init(dev, &mem), 0);
	cr_assert_eq(vu_device_attach(dev), 0);
	dev->irq = (struct virtio_irq){raise_cb, NULL};
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		atomic_store(&irqs[q], 0);
}

static struct virtio_dev *make_blk(struct fake *f, const char *extra)
{
	struct vu_opts o;
	char arg[200], err[160];
	snprintf(arg, sizeof(arg), "vhost-user=%s%s", f->path, extra);
	cr_assert_eq(vu_opts_parse(arg, VU_OPTS_BLK, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(guest_mem_alloc_shared(&mem, 16 << 20), 0);
	struct virtio_dev *dev = NULL;
	cr_assert_eq(vu_blk_create(&dev, &o, 1000), 0);
	attach(dev);
	return dev;
}

static struct virtio_dev *make_net_timeout(struct fake *f, const char *extra, int timeout_ms)
{
	struct vu_opts o;
	char arg[200], err[160];
	snprintf(arg, sizeof(arg), "vhost-user=%s%s", f->path, extra);
	cr_assert_eq(vu_opts_parse(arg, VU_OPTS_NET, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(guest_mem_alloc_shared(&mem, 16 << 20), 0);
	struct virtio_dev *dev = NULL;
	cr_assert_eq(vu_net_create(&dev, &o, timeout_ms), 0);
	attach(dev);
	return dev;
}

static struct virtio_dev *make_net(struct fake *f, const char *extra)
{
	return make_net_timeout(f, extra, 1000);
}

/* The driver accepts `features` (the offered ones of them), sets up `nq` queues, DRIVER_OK. */
static void driver_start(struct virtio_dev *dev, uint64_t features, uint16_t nq)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	features &= dev->host_features;
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	for (uint16_t q = 0; q < nq; q++) {
		struct virtqueue *vq = &dev->vqs[q];
		vq->num = 64;
		vq->desc_addr = 0x10000 + q * 0x10000;
		vq->driver_addr = vq->desc_addr + 0x1000;
		vq->device_addr = vq->desc_addr + 0x2000;
		virtio_dev_set_queue_ready(dev, q, true);
	}
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&dev->lock);
}

static uint8_t status_of(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	uint8_t s = dev->status;
	pthread_mutex_unlock(&dev->lock);
	return s;
}

static void free_dev(struct virtio_dev *dev, struct fake *f)
{
	virtio_dev_destroy(dev);
	free(dev);
	guest_mem_free(&mem);
	fake_kill(f);
	unlink(f->path);
}

static void blk_fake(struct fake *f, uint64_t queue_num)
{
	fake_init(f, RING_OFFER | BLK_OFFER, PROTO_ALL, queue_num);
	struct virtio_blk_config c = good_blk_config();
	memcpy(f->config, &c, sizeof(c));
	fake_start(f);
}

Test(vu_blk, config_space_comes_from_the_backend)
{
	struct fake f;
	blk_fake(&f, 4);
	struct virtio_dev *dev = make_blk(&f, ",num-queues=2");
	cr_assert_eq(dev->device_id, VIRTIO_ID_BLOCK);
	cr_assert_eq(dev->num_queues, 2);
	cr_assert_eq(count(&f, VU_GET_CONFIG), 1);
	struct virtio_blk_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(le64toh(c.capacity), 8192);
	cr_assert_eq(le32toh(c.seg_max), 126);
	cr_assert_eq(le32toh(c.blk_size), 4096);
	cr_assert_eq(le16toh(c.num_queues), 2, "the queues handed over, not the back-end's 8");
	uint64_t want = (BLK_OFFER & ~BIT(VIRTIO_BLK_F_CONFIG_WCE)) | BIT(VIRTIO_F_VERSION_1) |
			BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);
	cr_assert_eq(dev->host_features, want, "%#llx", (unsigned long long)dev->host_features);
	free_dev(dev, &f);
}

Test(vu_blk, driver_ok_sends_the_drivers_choice_and_calls_become_interrupts)
{
	struct fake f;
	blk_fake(&f, 4);
	struct virtio_dev *dev = make_blk(&f, "");
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH), 1);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(f.set_features, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH) | F_PROTO);
	cr_assert_eq(count(&f, VU_SET_VRING_KICK), 1);
	uint64_t one = 1;
	cr_assert_eq(write(f.call[0], &one, 8), 8);
	for (int i = 0; i < 200 && !atomic_load(&irqs[0]); i++)
		usleep(10000);
	cr_assert_eq(atomic_load(&irqs[0]), 1);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(count(&f, VU_GET_VRING_BASE), 1);
	cr_assert_eq(count(&f, VU_RESET_DEVICE), 1);
	free_dev(dev, &f);
}

Test(vu_blk, a_backend_without_config_or_queues_is_refused)
{
	struct vu_opts o;
	char err[160];
	struct virtio_dev *dev = NULL;
	struct fake f;
	fake_init(&f, RING_OFFER | BLK_OFFER, PROTO_ALL & ~BIT(VU_PROTOCOL_F_CONFIG), 4);
	fake_start(&f);
	snprintf(err, sizeof(err), "vhost-user=%s", f.path);
	cr_assert_eq(vu_opts_parse(err, VU_OPTS_BLK, &o, err, sizeof(err)), 0);
	cr_assert_eq(vu_blk_create(&dev, &o, 1000), -EOPNOTSUPP, "no CONFIG: no capacity");
	cr_assert_null(dev);
	fake_kill(&f);

	blk_fake(&f, 2);
	o.num_queues = 4;
	cr_assert_eq(vu_blk_create(&dev, &o, 1000), -EINVAL, "4 queues on a back-end of 2");
	fake_kill(&f);

	blk_fake(&f, 8);
	f.features &= ~BIT(VIRTIO_BLK_F_MQ);
	cr_assert_eq(vu_blk_create(&dev, &o, 1000), -EINVAL, "4 queues without VIRTIO_BLK_F_MQ");
	fake_kill(&f);

	blk_fake(&f, 8);
	f.refuse_config = true;
	o.num_queues = 1;
	cr_assert_eq(vu_blk_create(&dev, &o, 1000), -EIO, "GET_CONFIG refused");
	fake_kill(&f);
	unlink(f.path);

	cr_assert_eq(vu_blk_create(&dev, &o, 200), -ENOENT, "no back-end");
	cr_assert_null(dev);
}

/* A disk whose back-end died with a request pending: not resumed (it may have completed
 * requests out of order), the device needs a reset; the VMM carries on. */
Test(vu_blk, backend_gone_with_requests_pending_needs_reset, .timeout = 30)
{
	struct fake f;
	blk_fake(&f, 4);
	struct virtio_dev *dev = make_blk(&f, "");
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev, BIT(VIRTIO_F_VERSION_1), 1);
	uint16_t used = 3, avail = 4;
	cr_assert_eq(guest_mem_write(&mem, dev->vqs[0].device_addr + 2, &used, 2), 0);
	cr_assert_eq(guest_mem_write(&mem, dev->vqs[0].driver_addr + 2, &avail, 2), 0);
	fake_kill(&f);
	fake_start(&f);
	for (int i = 0; i < 500 && !(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET); i++)
		usleep(10000);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(count(&f, VU_SET_MEM_TABLE), 0);
	free_dev(dev, &f);
}

Test(vu_blk, snapshot_is_refused_with_a_message)
{
	struct fake f;
	blk_fake(&f, 4);
	struct virtio_dev *dev = make_blk(&f, "");
	struct virtio_dev_state st;
	uint8_t priv[4096];
	size_t len;
	char err[160] = "";
	cr_assert_eq(virtio_dev_snapshot_save(dev, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     -ENOTSUP);
	cr_assert(strstr(err, "vhost-user-blk"), "%s", err);
	free_dev(dev, &f);
}

#define NET_OFFER                                                                                  \
	(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |    \
	 BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) |   \
	 BIT(VIRTIO_NET_F_MQ))

static void net_fake(struct fake *f)
{
	/* like DPDK's vhost PMD: no MAC, no STATUS, no CONFIG protocol feature */
	fake_init(f, RING_OFFER | NET_OFFER, PROTO_ALL & ~BIT(VU_PROTOCOL_F_CONFIG), 2);
	fake_start(f);
}

Test(vu_net, config_and_features)
{
	struct fake f;
	net_fake(&f);
	struct virtio_dev *dev = make_net(&f, ",mac=02:00:00:aa:bb:cc");
	cr_assert_eq(dev->device_id, VIRTIO_ID_NET);
	cr_assert_eq(dev->num_queues, 2);
	cr_assert_eq(count(&f, VU_GET_CONFIG), 0, "no CONFIG: not asked");
	struct virtio_net_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(memcmp(c.mac, "\x02\x00\x00\xaa\xbb\xcc", 6), 0);
	cr_assert_eq(le16toh(c.status), VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(le16toh(c.max_virtqueue_pairs), 1);
	cr_assert(dev->host_features & BIT(VIRTIO_NET_F_MAC), "the VMM's MAC");
	cr_assert(dev->host_features & BIT(VIRTIO_NET_F_STATUS));
	cr_assert_not(dev->host_features & (BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ)),
		      "no control queue");
	cr_assert_not(dev->host_features & BIT(VIRTIO_F_RING_PACKED));

	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev,
		     BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
			 BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CSUM),
		     2);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(f.set_features,
		     BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			 BIT(VIRTIO_NET_F_CSUM) | F_PROTO,
		     "MAC and STATUS are the VMM's, not sent: %#llx",
		     (unsigned long long)f.set_features);
	cr_assert_eq(count(&f, VU_SET_VRING_KICK), 2);
	free_dev(dev, &f);
}

Test(vu_net, without_mac_a_random_local_one)
{
	struct fake f;
	net_fake(&f);
	struct virtio_dev *dev = make_net(&f, "");
	struct virtio_net_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(memcmp(c.mac, "\x52\x54\x00", 3), 0);
	free_dev(dev, &f);
}

Test(vu_net, a_backend_with_config_gives_its_mac)
{
	struct fake f;
	fake_init(&f, RING_OFFER | NET_OFFER | BIT(VIRTIO_NET_F_MAC), PROTO_ALL, 2);
	memcpy(f.config, "\x02\x42\x42\x42\x42\x42", 6);
	fake_start(&f);
	struct virtio_dev *dev = make_net(&f, "");
	struct virtio_net_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(memcmp(c.mac, "\x02\x42\x42\x42\x42\x42", 6), 0);
	free_dev(dev, &f);
}

Test(vu_net, a_driver_set_without_dependencies_is_refused)
{
	struct fake f;
	net_fake(&f);
	struct virtio_dev *dev = make_net(&f, "");
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(dev, 0, (uint32_t)BIT(VIRTIO_NET_F_GUEST_TSO4));
	virtio_dev_set_features(dev, 1, 1);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_FEATURES_OK,
		      "GUEST_TSO4 without GUEST_CSUM (5.1.3.1)");
	free_dev(dev, &f);
}

/* A NIC's back-end restarted while rx buffers are posted (avail ahead of used, as always on an
 * rx ring): resumed at the used index, no reset. */
Test(vu_net, restarted_backend_is_resumed_with_rx_buffers_posted, .timeout = 30)
{
	struct fake f;
	net_fake(&f);
	struct virtio_dev *dev = make_net(&f, "");
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev, BIT(VIRTIO_F_VERSION_1), 2);
	uint16_t used = 10, avail = 74;
	cr_assert_eq(guest_mem_write(&mem, dev->vqs[0].device_addr + 2, &used, 2), 0);
	cr_assert_eq(guest_mem_write(&mem, dev->vqs[0].driver_addr + 2, &avail, 2), 0);
	fake_kill(&f);
	fake_start(&f);
	for (int i = 0; i < 500 && count(&f, VU_SET_VRING_ENABLE) < 2; i++)
		usleep(10000);
	cr_assert_eq(count(&f, VU_SET_VRING_ENABLE), 2);
	cr_assert_eq(f.base[0], 10, "rx resumed at its used index");
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	free_dev(dev, &f);
}

/* A new back-end that needs 1.5 s for SET_MEM_TABLE (a busy-polling DPDK on a loaded host): the
 * first attempt waits for it, and a vCPU reading the device's status meanwhile does not wait for
 * the back-end (the attempt runs without the device lock). */
Test(vu_net, a_slow_restarted_backend_is_resumed_without_holding_the_lock, .timeout = 30)
{
	struct fake f;
	net_fake(&f);
	struct virtio_dev *dev = make_net_timeout(&f, "", 5000);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev, BIT(VIRTIO_F_VERSION_1), 2);
	fake_kill(&f);
	f.slow_mem_table_ms = 1500;
	f.reaccept = true;
	fake_start(&f);
	uint64_t worst = 0;
	for (int i = 0; i < 1000 && count(&f, VU_SET_VRING_ENABLE) < 2; i++) {
		uint64_t t = mono_ms();
		(void)status_of(dev);
		if (mono_ms() - t > worst)
			worst = mono_ms() - t;
		usleep(10000);
	}
	cr_assert_eq(count(&f, VU_SET_VRING_ENABLE), 2, "resumed");
	pthread_mutex_lock(&f.lock);
	int again = f.connections;
	pthread_mutex_unlock(&f.lock);
	cr_assert_eq(again, 0, "on the first attempt (%d more)", again);
	cr_assert_lt(worst, 1000, "the device lock was held %llu ms", (unsigned long long)worst);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	free_dev(dev, &f);
}
