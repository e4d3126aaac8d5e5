/* The virtio checklist done wrong on purpose (see hostile.h). Section numbers: virtio 1.2.
 * Ring abuses write split-ring descriptors and indices by hand into the queue's own rings, with
 * buffers in the device's scratch area, so a device that misbehaves cannot hurt the guest. */
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h>

#include "hostile.h"
#include "platform.h"
#include "printf.h"
#include "string.h"
#include "test.h"
#include "virtio_mem.h"
#include "virtio_mmio.h"

#define F(bit)	   (1ULL << (bit))
#define QN	   HOSTILE_QSIZE
#define FAR_AWAY   0xfffffffffffff000ULL /* no RAM up there */
#define IN_THE_GAP 0xd0000000ULL	 /* the PCI hole below 4 GiB: not RAM either */

/* ---- raw split-ring writes ---- */

static struct vq *reqvq(struct hdev *h)
{
	return &h->vq[h->reqq];
}

static uint64_t scratch(struct hdev *h, uint32_t off)
{
	return virt_to_phys(h->scratch + off);
}

static void put_desc(struct vring_desc *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

/* Makes `head` available (2.7.13) and notifies, whatever the descriptors say. */
static void publish_raw(struct vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx % vq->size] = head;
	__atomic_store_n(&vq->avail->idx, ++vq->avail_idx, __ATOMIC_RELEASE);
	vq_notify(vq);
}

/* A request header the device would like: blk IN of sector 0; others ignore the bytes. */
static void fill_header(struct hdev *h)
{
	memset(h->scratch, 0, 64);
}

/* The device's usual queue, up and running, for abuses of its ring contents. */
static struct vq *running(struct hdev *h, uint64_t features)
{
	hdev_prepare(h, features, true);
	fill_header(h);
	return reqvq(h);
}

/* ---- queue setup (2.7, 4.2.2, 4.1.4.3) ---- */

static enum hostile_expect bad_size(struct hdev *h, uint32_t num, enum hostile_expect e)
{
	TEST_ASSERT_EQ(vdev_negotiate(h->d, 0, 0), 0);
	for (uint16_t q = 0; q < h->nq; q++) {
		if (q == h->reqq)
			TEST_ASSERT_EQ(vq_setup_raw(&h->vq[q], h->d, q, num, QN), 0);
		else
			TEST_ASSERT_EQ(vq_setup(&h->vq[q], h->d, q, QN), 0);
	}
	vdev_driver_ok(h->d);
	return e;
}

static enum hostile_expect size_not_power_of_two(struct hdev *h)
{
	return bad_size(h, 3, EXPECT_NEEDS_RESET);
}

/* 0x10000: MMIO's 32-bit QueueNum must not truncate it to 0; PCI's queue_size is 16 bits, so
 * the device sees 0, which ours reads as "keep the maximum". */
static enum hostile_expect size_0x10000(struct hdev *h)
{
	return bad_size(h, 0x10000, hdev_is_pci(h) ? EXPECT_EITHER : EXPECT_NEEDS_RESET);
}

static enum hostile_expect size_zero(struct hdev *h)
{
	return bad_size(h, 0, hdev_is_pci(h) ? EXPECT_EITHER : EXPECT_NEEDS_RESET);
}

static enum hostile_expect size_above_max(struct hdev *h)
{
	bool ready;
	uint32_t max = h->d->ops->queue_max(h->d, h->reqq, &ready);
	uint32_t num = max * 2;
	return bad_size(h, num,
			hdev_is_pci(h) && num > 0xffff ? EXPECT_EITHER : EXPECT_NEEDS_RESET);
}

static enum hostile_expect rings_at(struct hdev *h, uint64_t desc, uint64_t drv, uint64_t dev)
{
	TEST_ASSERT_EQ(vdev_negotiate(h->d, 0, 0), 0);
	for (uint16_t q = 0; q < h->nq; q++) {
		if (q != h->reqq)
			TEST_ASSERT_EQ(vq_setup(&h->vq[q], h->d, q, QN), 0);
	}
	h->d->ops->queue_enable(h->d, h->reqq, QN, desc, drv, dev);
	vdev_driver_ok(h->d);
	return EXPECT_NEEDS_RESET;
}

static enum hostile_expect rings_outside_ram(struct hdev *h)
{
	return rings_at(h, FAR_AWAY, FAR_AWAY + 0x100, FAR_AWAY + 0x200);
}

static enum hostile_expect rings_in_the_gap(struct hdev *h)
{
	return rings_at(h, IN_THE_GAP, IN_THE_GAP + 0x100, IN_THE_GAP + 0x200);
}

static enum hostile_expect rings_misaligned(struct hdev *h)
{
	/* 2.7: descriptor table 16-byte, available ring 2-byte, used ring 4-byte aligned. */
	return rings_at(h, scratch(h, 0x1008), scratch(h, 0x1401), scratch(h, 0x1802));
}

/* A used ring that runs off the end of the address space. */
static enum hostile_expect used_ring_wraps(struct hdev *h)
{
	return rings_at(h, scratch(h, 0x1000), scratch(h, 0x1400), 0xfffffffffffffff0ULL);
}

/* ---- available ring (2.7.6) ---- */

static enum hostile_expect avail_idx_jump(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	put_desc(vq->desc, 0, scratch(h, 0), 16, 0, 0);
	vq->avail->ring[0] = 0;
	vq->avail_idx = (uint16_t)(vq->avail_idx + QN + 5);
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	vq_notify(vq);
	return EXPECT_NEEDS_RESET;
}

static enum hostile_expect head_out_of_range(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	publish_raw(vq, QN + 3);
	return EXPECT_NEEDS_RESET;
}

/* ---- descriptor chains (2.7.5, 2.7.4.1) ---- */

static enum hostile_expect next_out_of_range(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	put_desc(vq->desc, 0, scratch(h, 0), 16, VRING_DESC_F_NEXT, QN + 1);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

static enum hostile_expect descriptor_loop(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	put_desc(vq->desc, 0, scratch(h, 0), 16, VRING_DESC_F_NEXT, 1);
	put_desc(vq->desc, 1, scratch(h, 64), 16, VRING_DESC_F_NEXT, 2);
	put_desc(vq->desc, 2, scratch(h, 128), 16, VRING_DESC_F_NEXT, 0);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

/* Three descriptors of almost 4 GiB each: the sum passes 2^32 (and RAM, whichever is checked
 * first). */
static enum hostile_expect chain_length_overflow(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	for (uint16_t i = 0; i < 3; i++)
		put_desc(vq->desc, i, scratch(h, 0), 0xfffffff0u,
			 (uint16_t)(i < 2 ? VRING_DESC_F_NEXT : 0), (uint16_t)(i + 1));
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

static enum hostile_expect readable_after_writable(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	put_desc(vq->desc, 0, scratch(h, 0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	put_desc(vq->desc, 1, scratch(h, 64), 16, 0, 0);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

/* A chain's buffer outside RAM. */
static enum hostile_expect buffer_outside_ram(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	put_desc(vq->desc, 0, FAR_AWAY, 512, VRING_DESC_F_WRITE, 0);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

/* ---- indirect descriptors (2.7.5.3) ---- */

/* A table of two plausible buffers at scratch + 0x2000: readable, then writable. */
static uint64_t indirect_table(struct hdev *h)
{
	struct vring_desc *t = (struct vring_desc *)(h->scratch + 0x2000);
	put_desc(t, 0, scratch(h, 0), 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, scratch(h, 0x100), 64, VRING_DESC_F_WRITE, 0);
	return scratch(h, 0x2000);
}

static enum hostile_expect indirect_without_feature(struct hdev *h)
{
	struct vq *vq = running(h, 0);
	put_desc(vq->desc, 0, indirect_table(h), 32, VRING_DESC_F_INDIRECT, 0);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

static enum hostile_expect indirect_with_len(struct hdev *h, uint32_t len)
{
	if (!(h->d->offered & F(VIRTIO_RING_F_INDIRECT_DESC)))
		return indirect_without_feature(h);
	struct vq *vq = running(h, F(VIRTIO_RING_F_INDIRECT_DESC));
	put_desc(vq->desc, 0, indirect_table(h), len, VRING_DESC_F_INDIRECT, 0);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

static enum hostile_expect indirect_bad_length(struct hdev *h)
{
	return indirect_with_len(h, 24); /* not a multiple of 16 */
}

static enum hostile_expect indirect_zero_length(struct hdev *h)
{
	return indirect_with_len(h, 0);
}

static enum hostile_expect indirect_nested(struct hdev *h)
{
	if (!(h->d->offered & F(VIRTIO_RING_F_INDIRECT_DESC)))
		return indirect_without_feature(h);
	struct vq *vq = running(h, F(VIRTIO_RING_F_INDIRECT_DESC));
	struct vring_desc *outer = (struct vring_desc *)(h->scratch + 0x3000);
	put_desc(outer, 0, indirect_table(h), 32, VRING_DESC_F_INDIRECT, 0);
	put_desc(vq->desc, 0, scratch(h, 0x3000), 16, VRING_DESC_F_INDIRECT, 0);
	publish_raw(vq, 0);
	return EXPECT_NEEDS_RESET;
}

/* ---- features and status (2.1, 2.2, 3.1.1) ---- */

/* Status bits cleared without a reset: ignored (our device keeps running). */
static enum hostile_expect status_cleared_without_reset(struct hdev *h)
{
	hdev_prepare(h, 0, true);
	uint8_t before = vdev_status(h->d);
	h->d->ops->set_status(h->d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	TEST_ASSERT_MSG(vdev_status(h->d) == before, "%s: status 0x%x -> 0x%x without a reset",
			h->name, before, vdev_status(h->d));
	return EXPECT_WORKING;
}

/* A feature the device did not offer must make it refuse FEATURES_OK (3.1.1 step 6). */
static enum hostile_expect features_outside_offer(struct hdev *h)
{
	struct vdev *d = h->d;
	TEST_ASSERT_EQ(vdev_reset(d), 0);
	vdev_add_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vdev_add_status(d, VIRTIO_CONFIG_S_DRIVER);
	uint64_t offered = (uint64_t)d->ops->get_features(d, 1) << 32 | d->ops->get_features(d, 0);
	uint64_t extra = 0;
	for (unsigned bit = 0; bit < 64 && !extra; bit++) {
		if (!(offered >> bit & 1))
			extra = 1ULL << bit;
	}
	d->ops->set_features(d, 0, (uint32_t)(offered | extra));
	d->ops->set_features(d, 1, (uint32_t)((offered | extra) >> 32));
	vdev_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	TEST_ASSERT_MSG(!(vdev_status(d) & VIRTIO_CONFIG_S_FEATURES_OK),
			"%s accepted feature bit %llx it did not offer", h->name,
			(unsigned long long)extra);
	return EXPECT_EITHER;
}

/* A kick before DRIVER_OK is ignored (2.1.2); the request is served after DRIVER_OK. */
static enum hostile_expect kick_before_driver_ok(struct hdev *h)
{
	hdev_prepare(h, 0, false);
	TEST_ASSERT(hdev_add_good(h));
	vq_notify(reqvq(h));
	delay_us(1000);
	vdev_driver_ok(h->d);
	vq_notify(reqvq(h));
	for (unsigned i = 0; i < 30000 && !vq_has_used(reqvq(h)); i++)
		delay_us(100);
	uint32_t len;
	TEST_ASSERT_MSG(vq_get_used(reqvq(h), &len), "%s: request not served after DRIVER_OK",
			h->name);
	return EXPECT_WORKING;
}

/* ---- registers ---- */

/* MMIO: QueueNotify with queue numbers that do not exist. PCI: writes past the notification
 * region (inside the BAR), and a nonsense value at queue 0's address. */
static enum hostile_expect notify_bad_queue(struct hdev *h)
{
	static const uint32_t bad[] = {5, 8, 0xffff, 0x10000, 0xffffffff};
	hdev_prepare(h, 0, true);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (hdev_is_pci(h))
			mmio_write16(h->d->pci.notify + h->d->pci.notify_len + 4 * i, 0xffff);
		else
			vdev_write(h->d, VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
	}
	return EXPECT_WORKING;
}

/* Config space writes into the (read-only) fields and past the end: nothing changes. */
static enum hostile_expect config_writes_past_end(struct hdev *h)
{
	uint32_t before[4], span = hdev_is_pci(h) ? 0x1000 : 0x100;
	hdev_prepare(h, 0, true);
	if (!h->d->config)
		return EXPECT_WORKING;
	for (int i = 0; i < 4; i++)
		before[i] = mmio_read32(h->d->config + 4 * i);
	for (uint32_t off = h->id == 3 ? 0x10 : 0; off < span; off += 4) { /* console: skip
										      emerg_wr */
		if (h->id == 5 && off == 4)
			continue; /* balloon: `actual` is the driver's to write (5.5.4) */
		mmio_write32(h->d->config + off, 0xffffffff);
	}
	mmio_write8(h->d->config + span - 1, 0xff);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT_MSG(mmio_read32(h->d->config + 4 * i) == before[i],
				"%s: config dword %d changed to 0x%x", h->name, i,
				mmio_read32(h->d->config + 4 * i));
	return EXPECT_WORKING;
}

/* Acknowledging interrupt bits that are not set (MMIO), writing the read-only ISR (PCI). */
static enum hostile_expect ack_unset_bits(struct hdev *h)
{
	hdev_prepare(h, 0, true);
	vdev_ack_isr(h->d);
	if (hdev_is_pci(h)) {
		mmio_write8(h->d->pci.isr, 0xff);
	} else {
		vdev_write(h->d, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
		TEST_ASSERT_EQ(vdev_read(h->d, VIRTIO_MMIO_INTERRUPT_STATUS) & ~3u, 0);
	}
	return EXPECT_WORKING;
}

/* Selecting a queue that does not exist, then programming it: it reads size 0 and ignores
 * the rest (4.1.4.3.1, 4.2.2). */
static enum hostile_expect queue_select_out_of_range(struct hdev *h)
{
	hdev_prepare(h, 0, true);
	if (hdev_is_pci(h)) {
		uint64_t c = h->d->pci.common;
		mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, 200);
		TEST_ASSERT_EQ(mmio_read16(c + VIRTIO_PCI_COMMON_Q_SIZE), 0);
		mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, QN);
		mmio_write32(c + VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)scratch(h, 0x1000));
		mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	} else {
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_SEL, 200);
		TEST_ASSERT_EQ(vdev_read(h->d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_NUM, QN);
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)scratch(h, 0x1000));
		vdev_write(h->d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	return EXPECT_WORKING;
}

const struct hostile_abuse hostile_abuses[] = {
    {"queue size 3 (not a power of two)", size_not_power_of_two},
    {"queue size 0x10000", size_0x10000},
    {"queue size 0", size_zero},
    {"queue size above QueueNumMax", size_above_max},
    {"rings outside RAM", rings_outside_ram},
    {"rings in the MMIO gap", rings_in_the_gap},
    {"rings misaligned", rings_misaligned},
    {"used ring wrapping the address space", used_ring_wraps},
    {"avail idx jumps past the ring", avail_idx_jump},
    {"head index out of range", head_out_of_range},
    {"next index out of range", next_out_of_range},
    {"descriptor loop", descriptor_loop},
    {"chain length overflow", chain_length_overflow},
    {"readable after writable", readable_after_writable},
    {"buffer outside RAM", buffer_outside_ram},
    {"indirect without the feature", indirect_without_feature},
    {"indirect table length 24", indirect_bad_length},
    {"indirect table length 0", indirect_zero_length},
    {"nested indirect table", indirect_nested},
    {"status bits cleared without reset", status_cleared_without_reset},
    {"features outside the offer", features_outside_offer},
    {"kick before DRIVER_OK", kick_before_driver_ok},
    {"notify of a bad queue index", notify_bad_queue},
    {"config writes past the end", config_writes_past_end},
    {"interrupt ACK of unset bits", ack_unset_bits},
    {"queue select out of range", queue_select_out_of_range},
};
const unsigned hostile_nabuses = sizeof(hostile_abuses) / sizeof(hostile_abuses[0]);
