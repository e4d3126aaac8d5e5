/* virtio-blk multiqueue (virtio 1.2 5.2.3 VIRTIO_BLK_F_MQ, 5.2.2 requestq1..N) through virtio-mmio
 * or virtio-pci (transport=pci: one MSI-X table entry per queue): negotiates MQ, checks
 * num_queues against queues=N, sets up every queue, then puts requests on all of them before
 * kicking any, so the device serves the queues at the same time:
 *   - reads of the host's pattern (sectors [0, 2048)), checked here;
 *   - writes of the guest's pattern, queue q to sectors [4096 + 64q, 4096 + 64q + 64), checked
 *     here by reading them back through ANOTHER queue, and by the script on the host file;
 *   - a FLUSH on every queue.
 * Every completion must come back on the queue its request went to (the tokens say which).
 *
 * Command line: [transport=pci] queues=N. */
#include "guest.h"
#include "virtio_blk.h"
#include "virtio_mem.h"

#include <linux/virtio_ids.h>

#define VEC	     0x50
#define MAX_Q	     8
#define QUEUE_SIZE   64
#define PER_Q	     8 /* reads and as many writes per queue */
#define IO_BYTES     4096
#define IO_SECTORS   (IO_BYTES / BLK_SECTOR)
#define HOST_SECTORS 2048
#define GUEST_SECTOR 4096
#define WAIT_MS	     10000

#define F(bit) (1ULL << (bit))

static struct vq vqs[MAX_Q];
static unsigned nq;
static struct blk_req *reqs; /* [MAX_Q][2 * PER_Q] */
static uint8_t *bufs;	     /* one IO_BYTES buffer per request */

static struct blk_req *req_of(unsigned q, unsigned i)
{
	return &reqs[q * 2 * PER_Q + i];
}

static uint8_t *buf_of(unsigned q, unsigned i)
{
	return bufs + (q * 2 * PER_Q + i) * IO_BYTES;
}

static uint64_t read_sector(unsigned q, unsigned i)
{
	return ((q * PER_Q + i) * 29u % (HOST_SECTORS / IO_SECTORS)) * IO_SECTORS;
}

static uint64_t write_sector(unsigned q, unsigned i)
{
	return GUEST_SECTOR + q * PER_Q * IO_SECTORS + i * IO_SECTORS;
}

static void setup(struct vdev *d)
{
	uint64_t want_nq = 0;
	int err = vdev_negotiate(d, F(VIRTIO_BLK_F_FLUSH), F(VIRTIO_BLK_F_MQ));

	TEST_ASSERT_MSG(err == 0, "negotiation (MQ required) failed: %d, offered 0x%llx", err,
			(unsigned long long)d->offered);
	nq = vdev_config16(d, offsetof(struct virtio_blk_config, num_queues));
	TEST_ASSERT_MSG(cmdline_get_u64("queues", &want_nq), "queues=N missing");
	TEST_ASSERT_EQ(nq, want_nq);
	TEST_ASSERT(nq >= 2 && nq <= MAX_Q);
	for (unsigned q = 0; q < nq; q++) {
		err = vq_setup(&vqs[q], d, (uint16_t)q, QUEUE_SIZE);
		TEST_ASSERT_MSG(err == 0, "vq_setup(%u): %d", q, err);
	}
	TEST_ASSERT(vdev_irq_enable(d, VEC));
	vdev_driver_ok(d);
	TEST_ASSERT_MSG(!(vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET), "status 0x%x",
			vdev_status(d));
	printf("MQ negotiated, num_queues %u\n", nq);
}

/* Waits until queue q returned `n` requests, each one of its own. */
static void collect(unsigned q, unsigned n)
{
	unsigned done = 0;
	while (done < n) {
		TEST_ASSERT_MSG(vq_wait(&vqs[q], WAIT_MS) || vq_has_used(&vqs[q]),
				"queue %u: %u of %u completions", q, done, n);
		for (struct blk_req *r; (r = blk_complete(&vqs[q])) != NULL; done++) {
			unsigned idx = (unsigned)(r - reqs);
			TEST_ASSERT_MSG(idx / (2 * PER_Q) == q, "queue %u returned request %u", q,
					idx);
			TEST_ASSERT_EQ(r->status, VIRTIO_BLK_S_OK);
		}
	}
}

/* Reads of the host pattern and writes of the guest pattern on every queue, all added before
 * the first kick. */
static void all_queues_at_once(void)
{
	for (unsigned q = 0; q < nq; q++) {
		for (unsigned i = 0; i < PER_Q; i++) {
			memset(buf_of(q, i), 0, IO_BYTES);
			TEST_ASSERT_EQ(blk_add(&vqs[q], req_of(q, i), VIRTIO_BLK_T_IN,
					       read_sector(q, i), buf_of(q, i), IO_BYTES, 1, 0),
				       0);
			blk_pattern_fill(buf_of(q, PER_Q + i), write_sector(q, i), IO_SECTORS, 'G',
					 "GST");
			TEST_ASSERT_EQ(blk_add(&vqs[q], req_of(q, PER_Q + i), VIRTIO_BLK_T_OUT,
					       write_sector(q, i), buf_of(q, PER_Q + i), IO_BYTES,
					       1, 0),
				       0);
		}
	}
	for (unsigned q = 0; q < nq; q++)
		vq_notify(&vqs[q]);
	for (unsigned q = 0; q < nq; q++) {
		collect(q, 2 * PER_Q);
		for (unsigned i = 0; i < PER_Q; i++) {
			uint32_t bad = blk_pattern_check(buf_of(q, i), read_sector(q, i),
							 IO_SECTORS, 'H', "HST");
			TEST_ASSERT_MSG(bad == IO_SECTORS, "queue %u read %u: sector %u differs", q,
					i, bad);
		}
	}
	printf("%u queues at once: %u reads and %u writes each: ok\n", nq, PER_Q, PER_Q);
}

/* What queue q wrote, read back through queue q+1, after a FLUSH on every queue. */
static void cross_queue_read_back(void)
{
	for (unsigned q = 0; q < nq; q++) {
		TEST_ASSERT_EQ(blk_add(&vqs[q], req_of(q, 0), VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, 0),
			       0);
		vq_notify(&vqs[q]);
	}
	for (unsigned q = 0; q < nq; q++)
		collect(q, 1);
	for (unsigned q = 0; q < nq; q++) {
		unsigned via = (q + 1) % nq;
		for (unsigned i = 0; i < PER_Q; i++) {
			memset(buf_of(via, i), 0, IO_BYTES);
			TEST_ASSERT_EQ(blk_add(&vqs[via], req_of(via, i), VIRTIO_BLK_T_IN,
					       write_sector(q, i), buf_of(via, i), IO_BYTES, 1, 0),
				       0);
		}
		vq_notify(&vqs[via]);
		collect(via, PER_Q);
		for (unsigned i = 0; i < PER_Q; i++) {
			uint32_t bad = blk_pattern_check(buf_of(via, i), write_sector(q, i),
							 IO_SECTORS, 'G', "GST");
			TEST_ASSERT_MSG(bad == IO_SECTORS, "queue %u's write %u read via %u: bad",
					q, i, via);
		}
	}
	printf("flush on every queue, writes read back through another queue: ok\n");
}

int guest_main(void)
{
	struct vdev *d = vdev_find(VIRTIO_ID_BLOCK, 0);

	TEST_ASSERT_MSG(d, "no virtio-blk device (transport %s)", vdev_transport_name());
	vdev_print(d, "disk");
	reqs = virtio_alloc(MAX_Q * 2 * PER_Q * sizeof(*reqs), 64);
	bufs = virtio_alloc(MAX_Q * 2 * PER_Q * IO_BYTES, 4096);
	TEST_ASSERT(reqs && bufs);
	setup(d);
	all_queues_at_once();
	cross_queue_read_back();
	for (unsigned q = 0; q < nq; q++)
		printf("queue %u: %llu requests\n", q, (unsigned long long)vqs[q].completed);
	return 0;
}
