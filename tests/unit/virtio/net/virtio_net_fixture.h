/* Shared fixture of the virtio-net unit tests: fake guest RAM, a mock driver for the three
 * queues (rx, tx, ctrl), kicks served synchronously (virtio_dev_process_pending), and helpers to
 * add buffers and read completions. Only static functions: include it from one test file each. */
#ifndef TESTS_UNIT_VIRTIO_NET_FIXTURE_H
#define TESTS_UNIT_VIRTIO_NET_FIXTURE_H

#include <criterion/criterion.h>
#include <endian.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "tests/mock_driver/mock_driver.h"
#include "tests/mock_driver/net_loopback.h"
#include "virtio/net/features.h"
#include "virtio/net/net.h"

#define F(bit)	 (1ull << (bit))
#define FEAT	 F(VIRTIO_F_VERSION_1)
#define HDR	 12u
#define RAM_SIZE (64ull << 20)
#define MB	 (1ull << 20)
#define CTRL_FEAT                                                                                  \
	(FEAT | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR))
#define OFFLOAD_FEAT                                                                               \
	(FEAT | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |    \
	 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO6))
#define ALL_CAPS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};

static struct mock_ram ram;
static struct mock_vq vqs[3]; /* rx, tx, ctrl */
static struct virtio_dev *dev;
static struct net_backend *be;
static unsigned irqs[3];
static uint8_t frame[VIRTIO_NET_MAX_FRAME + 16];

#define RXV (&vqs[VIRTIO_NET_RXQ])
#define TXV (&vqs[VIRTIO_NET_TXQ])
#define CTV (&vqs[VIRTIO_NET_CTRLQ])

static inline void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q < 3)
		irqs[q]++;
}

/* Prepares fake RAM and initialises `dev` (made by the caller) (no I/O thread: tests serve kicks
 * themselves). */
static inline void attach(void)
{
	memset(irqs, 0, sizeof(irqs));
	be = virtio_net_pair_backend(dev, 0);
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

/* A device over the loopback backend. */
static inline void create(bool vnet_hdr, unsigned caps)
{
	struct net_backend *lb;

	cr_assert_eq(net_loopback_create(&lb, vnet_hdr, caps), 0);
	cr_assert_eq(virtio_net_create_with_backends(&dev, &lb, 1, MAC), 0);
	attach();
}

static inline void set_status(uint8_t s)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	pthread_mutex_unlock(&dev->lock);
}

/* Features up to FEATURES_OK; returns whether the device kept FEATURES_OK. */
static inline bool negotiate(uint64_t features)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	bool ok = dev->status & VIRTIO_CONFIG_S_FEATURES_OK;
	pthread_mutex_unlock(&dev->lock);
	return ok;
}

/* Three queues of `size`, rings 64 KiB apart, each with its own 20 MiB of buffer heap. */
static inline void driver_up_size(uint64_t features, bool packed, uint16_t size)
{
	if (packed)
		features |= F(VIRTIO_F_RING_PACKED);
	cr_assert(negotiate(features));
	pthread_mutex_lock(&dev->lock);
	for (int q = 0; q < 3; q++) {
		struct mock_vq *mv = &vqs[q];
		mock_vq_free(mv); /* a second driver_up after a reset */
		cr_assert_eq(mock_vq_init(mv, &ram, size, packed, MOCK_RAM_GPA + q * 0x10000ull),
			     0);
		mv->heap = MOCK_RAM_GPA + MB + q * 20 * MB;
		mv->heap_end = mv->heap + 20 * MB;
		dev->vqs[q].num = mv->size;
		dev->vqs[q].desc_addr = mv->desc;
		dev->vqs[q].driver_addr = mv->driver;
		dev->vqs[q].device_addr = mv->device;
		virtio_dev_set_queue_ready(dev, (uint16_t)q, true);
	}
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
}

static inline void driver_up(uint64_t features)
{
	driver_up_size(features, false, 256);
}

static inline void teardown(void)
{
	if (dev) {
		virtio_dev_destroy(dev);
		free(dev);
		dev = NULL;
	}
	for (int q = 0; q < 3; q++)
		mock_vq_free(&vqs[q]);
	mock_ram_free(&ram);
}

static inline void kick(uint16_t q)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, q);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

static inline struct virtio_fd_handler *fd_handler(int fd)
{
	for (int i = 0; i < dev->nfds; i++)
		if (dev->fds[i].fd == fd)
			return &dev->fds[i];
	cr_assert_fail("fd %d is not registered", fd);
	return NULL;
}

static inline struct virtio_fd_handler *rx_handler(void)
{
	return fd_handler(be->rx_fd);
}

/* What the I/O thread does when a backend fd is readable. */
static inline void fd_ready(int fd)
{
	struct virtio_fd_handler *h = fd_handler(fd);
	pthread_mutex_lock(&dev->lock);
	h->ready(dev, h->fd, EPOLLIN);
	pthread_mutex_unlock(&dev->lock);
}

static inline void rx_ready(void)
{
	fd_ready(be->rx_fd);
}

static inline struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;
	virtio_net_get_stats(dev, &s);
	return s;
}

/* A recognisable Ethernet frame of `len` bytes. */
static inline const uint8_t *make_frame(size_t len, uint8_t seed)
{
	memcpy(frame, MAC, 6);
	memset(frame + 6, 0x02, 6);
	frame[12] = 0x08;
	frame[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		frame[i] = (uint8_t)(seed + i * 7);
	return frame;
}

static inline int add(struct mock_vq *mv, const struct mock_buf *b, int n)
{
	return mv->packed ? mock_packed_add(mv, b, n, (uint16_t)(mv->next_avail))
			  : mock_split_add(mv, b, n);
}

static inline int used(struct mock_vq *mv, uint32_t *id, uint32_t *len)
{
	uint16_t pid, flags;
	if (!mv->packed)
		return mock_split_get_used(mv, id, len);
	int r = mock_packed_get_used(mv, &pid, len, &flags);
	*id = pid;
	return r;
}

static inline uint64_t rx_buf(uint32_t len)
{
	uint64_t a = mock_alloc(RXV, len);
	cr_assert(a);
	memset(mock_ram_host(&ram, a), 0xee, len);
	return a;
}

static inline int add_rx(uint64_t addr, uint32_t len)
{
	struct mock_buf b = {addr, len, true};
	return add(RXV, &b, 1);
}

static inline struct virtio_net_hdr_v1 hdr_at(uint64_t gpa)
{
	struct virtio_net_hdr_v1 h;
	memcpy(&h, mock_ram_host(&ram, gpa), sizeof(h));
	return h;
}

static inline void inject(const void *data, size_t len)
{
	cr_assert_eq(net_loopback_inject(be, data, len), 0);
}

/* Injects a frame for a backend without vnet header. */
static inline void inject_frame(size_t len, uint8_t seed)
{
	inject(make_frame(len, seed), len);
}

static inline struct virtio_net_hdr_v1 tx_hdr(uint8_t flags, uint8_t gso, uint16_t gso_size,
					      uint16_t cstart, uint16_t coff)
{
	struct virtio_net_hdr_v1 h = {.flags = flags, .gso_type = gso};
	h.gso_size = htole16(gso_size);
	h.hdr_len = htole16(54);
	h.csum_start = htole16(cstart);
	h.csum_offset = htole16(coff);
	h.num_buffers = htole16(7); /* garbage the device must not pass on */
	return h;
}

/* Header in its own descriptor, frame in another. */
static inline int add_tx(const struct virtio_net_hdr_v1 *h, const void *data, uint32_t len)
{
	struct mock_buf b[2] = {{mock_fill(TXV, h, HDR), HDR, false},
				{mock_fill(TXV, data, len), len, false}};
	return add(TXV, b, 2);
}

#endif
