/* virtio-blk through virtio-mmio or virtio-pci (transport=pci [pci_irq=intx]), with the runtime's
 * guest-side driver (virtio_*.h): probe and feature negotiation (VERSION_1, EVENT_IDX,
 * INDIRECT_DESC, FLUSH; RING_PACKED with ring=packed), config space (capacity, generation-checked),
 * GET_ID, reads of the host's pattern, writes of the guest's pattern (checked on the host file by
 * the script), FLUSH, 32 requests in flight, indirect chains, interrupt suppression (EVENT_IDX
 * used_event on a split ring, the DISABLE flag on a packed one), WRITE_ZEROES and DISCARD, an
 * unknown type, requests past the end (IOERR); on a second, read-only disk: RO offered, reads work,
 * writes are refused with IOERR; with bad_queue (our VMM only): a queue of size 3 makes that device
 *   report DEVICE_NEEDS_RESET with a config interrupt while the first disk keeps working, and a
 *   reset revives it. Every completion is waited for with sti; hlt on the device's interrupt
 *   unless the step says it polls.
 *
 * Command line: [transport=pci [pci_irq=intx]] sectors=N (capacity of disk 0), id=SERIAL (its
 * GET_ID), [ring=packed] [ro_disk] (a second disk, read-only, same host pattern) [discard] (disk 0
 * offers DISCARD/WRITE_ZEROES) [bad_queue].
 *
 * Disk layout agreed with tests/integration/storage/test_virtio_blk.py:
 *   sectors [0, 2048)      host pattern 'H' "HST" (read here)
 *   sectors [4096, 4168)   guest pattern 'G' "GST" (written here, checked by the script)
 *   sectors [6000, 6016)   written 'G', then WRITE_ZEROES: zeros on the host
 *   sectors [8000, 8008)   DISCARD (status only: contents undefined afterwards) */
#include "virtio_blk.h"
#include "guest.h"
#include "virtio_mem.h"
#include "virtio_pci.h"

#include <linux/virtio_ids.h>

#define VEC_DISK0    0x50
#define VEC_DISK1    0x51
#define QUEUE_SIZE   128
#define WAIT_MS	     5000
#define HOST_SECTORS 2048
#define GUEST_SECTOR 4096
#define ZERO_SECTOR  6000
#define DISCARD_SECT 8000
#define INFLIGHT     32
#define SUPPRESS_N   8
#define IO_BYTES     4096
#define IO_SECTORS   (IO_BYTES / BLK_SECTOR)

#define F(bit) (1ULL << (bit))

static bool packed;
static uint8_t *bufs; /* INFLIGHT * IO_BYTES */
static struct blk_req *reqs;

static void setup_disk(struct vdev *d, struct vq *vq, uint8_t vector, uint64_t extra_required)
{
	uint64_t wanted = F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_BLK_SIZE) |
			  F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_RO) |
			  F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES);
	uint64_t required = F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC) |
			    (packed ? F(VIRTIO_F_RING_PACKED) : 0) | extra_required;
	int err = vdev_negotiate(d, wanted, required);

	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d (offered 0x%llx)", err,
			(unsigned long long)d->offered);
	TEST_ASSERT_EQ(vdev_has(d, VIRTIO_F_RING_PACKED), packed);
	err = vq_setup(vq, d, 0, QUEUE_SIZE);
	TEST_ASSERT_MSG(err == 0, "vq_setup failed: %d", err);
	TEST_ASSERT(vdev_irq_enable(d, vector));
	vdev_driver_ok(d);
	TEST_ASSERT_EQ(vdev_status(d), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static uint8_t do_irq(struct vq *vq, uint32_t type, uint64_t sector, void *data, uint32_t len,
		      unsigned nseg, unsigned flags)
{
	return blk_do(vq, type, sector, data, len, nseg, flags, true);
}

static void check_config(struct vdev *d)
{
	uint64_t want, cap = vdev_config64(d, offsetof(struct virtio_blk_config, capacity));

	TEST_ASSERT_MSG(cmdline_get_u64("sectors", &want), "sectors=N missing");
	TEST_ASSERT_EQ(cap, want);
	printf("config: capacity %llu sectors, blk_size %u, seg_max %u, features 0x%llx\n",
	       (unsigned long long)cap,
	       vdev_config32(d, offsetof(struct virtio_blk_config, blk_size)),
	       vdev_config32(d, offsetof(struct virtio_blk_config, seg_max)),
	       (unsigned long long)d->features);
}

static void check_get_id(struct vq *vq)
{
	char want[VIRTIO_BLK_ID_BYTES + 1] = {0};
	char *id = virtio_alloc(VIRTIO_BLK_ID_BYTES, 16);

	TEST_ASSERT(id && cmdline_get_str("id", want, sizeof(want)));
	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, 1, 0),
		       VIRTIO_BLK_S_OK);
	TEST_ASSERT_MSG(!strncmp(id, want, VIRTIO_BLK_ID_BYTES), "GET_ID \"%.20s\", want \"%s\"",
			id, want);
	printf("GET_ID: \"%.20s\": ok\n", id);
}

static void check_host_pattern(const void *buf, uint64_t sector, uint32_t n)
{
	uint32_t bad = blk_pattern_check(buf, sector, n, 'H', "HST");

	TEST_ASSERT_MSG(bad == n, "sector %llu does not hold the host pattern",
			(unsigned long long)(sector + bad));
}

/* Reads and writes with the data split over several descriptors, then FLUSH. */
static void check_read_write(struct vq *vq)
{
	uint8_t *w = bufs, *r = bufs + 8 * IO_BYTES;
	const uint32_t n = 64, len = n * BLK_SECTOR;

	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, 0, r, IO_BYTES, 1, 0), VIRTIO_BLK_S_OK);
	check_host_pattern(r, 0, IO_SECTORS);
	blk_pattern_fill(w, GUEST_SECTOR, n, 'G', "GST");
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_OUT, GUEST_SECTOR, w, len, 8, 0), VIRTIO_BLK_S_OK);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, 0), VIRTIO_BLK_S_OK);
	memset(r, 0, len);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, GUEST_SECTOR, r, len, 4, 0), VIRTIO_BLK_S_OK);
	TEST_ASSERT_MSG(!memcmp(r, w, len), "read back differs from what was written");
	printf("read, write (8 segments), flush, read back (4 segments): ok\n");
}

/* Indirect chains (2.7.5.3 / 2.8.8): a read in 8 pieces and a write in 8 pieces. */
static void check_indirect(struct vq *vq)
{
	uint8_t *b = bufs;

	memset(b, 0, IO_BYTES);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, 16, b, IO_BYTES, 8, VQ_ADD_INDIRECT),
		       VIRTIO_BLK_S_OK);
	check_host_pattern(b, 16, IO_SECTORS);
	blk_pattern_fill(b, GUEST_SECTOR + 64, 8, 'G', "GST");
	TEST_ASSERT_EQ(
	    do_irq(vq, VIRTIO_BLK_T_OUT, GUEST_SECTOR + 64, b, IO_BYTES, 8, VQ_ADD_INDIRECT),
	    VIRTIO_BLK_S_OK);
	printf("indirect read and write (8 segments each): ok\n");
}

/* 32 reads added at once, one kick; completions taken in batches, each announced by an
 * interrupt. */
static void check_inflight(struct vq *vq)
{
	uint64_t irqs0 = vq->dev->irqs, kicks0 = vq->kicks;
	unsigned done = 0, batches = 0;

	for (unsigned i = 0; i < INFLIGHT; i++) {
		uint64_t sector = (i * 37u % (HOST_SECTORS / IO_SECTORS)) * IO_SECTORS;

		memset(bufs + i * IO_BYTES, 0, IO_BYTES);
		TEST_ASSERT_EQ(blk_add(vq, &reqs[i], VIRTIO_BLK_T_IN, sector, bufs + i * IO_BYTES,
				       IO_BYTES, 1, 0),
			       0);
	}
	vq_kick(vq);
	while (done < INFLIGHT) {
		TEST_ASSERT_MSG(vq_wait(vq, WAIT_MS), "no interrupt after %u of %u completions",
				done, INFLIGHT);
		batches++;
		for (struct blk_req *r; (r = blk_complete(vq)) != NULL; done++) {
			unsigned i = (unsigned)(r - reqs);

			TEST_ASSERT_EQ(r->status, VIRTIO_BLK_S_OK);
			TEST_ASSERT_EQ(r->used_len, IO_BYTES + 1);
			check_host_pattern(bufs + i * IO_BYTES,
					   (i * 37u % (HOST_SECTORS / IO_SECTORS)) * IO_SECTORS,
					   IO_SECTORS);
		}
	}
	printf("%u requests in flight: ok (%llu kick(s), %u batch(es), %llu interrupt(s))\n",
	       INFLIGHT, (unsigned long long)(vq->kicks - kicks0), batches,
	       (unsigned long long)(vq->dev->irqs - irqs0));
}

/* Adds one 512-byte read of sector i at reqs[i], kicks. */
static void add_read(struct vq *vq, unsigned i)
{
	TEST_ASSERT_EQ(
	    blk_add(vq, &reqs[i], VIRTIO_BLK_T_IN, i, bufs + i * IO_BYTES, BLK_SECTOR, 1, 0), 0);
	vq_kick(vq);
}

/* Interrupt suppression (2.7.10 / 2.8.10): the first N-1 completions must come without an
 * interrupt (found by polling; InterruptStatus stays 0; a 50 ms sleep sees none), the N-th with
 * one. Split + EVENT_IDX: used_event = start + N - 1 ("interrupt when used->idx passes it").
 * Packed: driver event flags DISABLE, then ENABLE before the N-th. */
static void check_suppression(struct vq *vq)
{
	struct vdev *d = vq->dev;
	uint64_t seen = irq_count(d->vector), irqs0;
	unsigned done = 0;

	irq_wait(d->vector, &seen, 10); /* let a late (spurious) interrupt of earlier work in */
	if (packed)
		vq_disable_interrupts(vq);
	else
		vq_set_used_event(vq, (uint16_t)(vq->last_used + SUPPRESS_N - 1));
	irqs0 = d->irqs;
	for (unsigned i = 0; i < SUPPRESS_N - 1; i++)
		add_read(vq, i);
	while (done < SUPPRESS_N - 1) {
		if (blk_complete(vq))
			done++;
		else
			cpu_relax();
	}
	if (!d->msix) /* with MSI-X the ISR is unused (QEMU sets it anyway) */
		TEST_ASSERT_EQ(vdev_ack_isr(d), 0);
	seen = irq_count(d->vector);
	irq_wait(d->vector, &seen, 50);
	TEST_ASSERT_MSG(d->irqs == irqs0, "%llu interrupt(s) came for suppressed completions",
			(unsigned long long)(d->irqs - irqs0));
	if (packed)
		vq_enable_interrupts(vq);
	/* Only an interrupt from now on counts: an earlier one (counted before irqs0) must not
	 * satisfy the wait while the real one is still on its way (seen on a loaded QEMU). */
	vq->irq_mark = d->irqs;
	add_read(vq, SUPPRESS_N - 1);
	TEST_ASSERT_MSG(vq_wait(vq, WAIT_MS), "no interrupt for completion %u", SUPPRESS_N);
	TEST_ASSERT(blk_complete(vq) == &reqs[SUPPRESS_N - 1]);
	TEST_ASSERT_EQ(d->irqs - irqs0, 1);
	vq_enable_interrupts(vq);
	printf("interrupt suppression (%s): %u completions without an interrupt, then 1: ok\n",
	       packed ? "packed DISABLE/ENABLE" : "EVENT_IDX used_event", SUPPRESS_N - 1);
}

static void check_errors(struct vq *vq, uint64_t cap)
{
	uint8_t *b = bufs;

	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, cap, b, BLK_SECTOR, 1, 0), VIRTIO_BLK_S_IOERR);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, cap - 1, b, 2 * BLK_SECTOR, 1, 0),
		       VIRTIO_BLK_S_IOERR);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_OUT, cap, b, BLK_SECTOR, 1, 0), VIRTIO_BLK_S_IOERR);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, ~0ULL, b, BLK_SECTOR, 1, 0), VIRTIO_BLK_S_IOERR);
	TEST_ASSERT_EQ(do_irq(vq, 0x7f, 0, b, BLK_SECTOR, 1, 0), VIRTIO_BLK_S_UNSUPP);
	printf("past the end -> IOERR, unknown type -> UNSUPP: ok\n");
}

static void check_discard_zeroes(struct vq *vq)
{
	struct virtio_blk_discard_write_zeroes *seg = virtio_alloc(sizeof(*seg), 16);
	uint8_t *b = bufs;

	TEST_ASSERT(vdev_has(vq->dev, VIRTIO_BLK_F_WRITE_ZEROES));
	TEST_ASSERT(vdev_has(vq->dev, VIRTIO_BLK_F_DISCARD));
	blk_pattern_fill(b, ZERO_SECTOR, 16, 'G', "GST");
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_OUT, ZERO_SECTOR, b, 16 * BLK_SECTOR, 1, 0),
		       VIRTIO_BLK_S_OK);
	*seg = (struct virtio_blk_discard_write_zeroes){.sector = ZERO_SECTOR, .num_sectors = 16};
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, sizeof(*seg), 1, 0),
		       VIRTIO_BLK_S_OK);
	memset(b, 0xa5, 16 * BLK_SECTOR);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, ZERO_SECTOR, b, 16 * BLK_SECTOR, 1, 0),
		       VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 16 * BLK_SECTOR; i++)
		TEST_ASSERT_MSG(b[i] == 0, "byte %u after WRITE_ZEROES is 0x%x", i, b[i]);
	*seg = (struct virtio_blk_discard_write_zeroes){.sector = DISCARD_SECT, .num_sectors = 8};
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_DISCARD, 0, seg, sizeof(*seg), 1, 0),
		       VIRTIO_BLK_S_OK);
	printf("WRITE_ZEROES (read back zeros), DISCARD: ok\n");
}

static void check_ro_disk(struct vdev *d, struct vq *vq)
{
	uint8_t *b = bufs;

	setup_disk(d, vq, VEC_DISK1, F(VIRTIO_BLK_F_RO));
	TEST_ASSERT(vdev_has(d, VIRTIO_BLK_F_RO));
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, 8, b, IO_BYTES, 2, 0), VIRTIO_BLK_S_OK);
	check_host_pattern(b, 8, IO_SECTORS);
	blk_pattern_fill(b, 0, 1, 'X', "RO!");
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_OUT, 0, b, BLK_SECTOR, 1, 0), VIRTIO_BLK_S_IOERR);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, 0), VIRTIO_BLK_S_OK);
	TEST_ASSERT_EQ(do_irq(vq, VIRTIO_BLK_T_IN, 0, b, BLK_SECTOR, 1, 0), VIRTIO_BLK_S_OK);
	check_host_pattern(b, 0, 1);
	printf("read-only disk: RO offered, read ok, write -> IOERR: ok\n");
}

/* A split queue of size 3 (not a power of two, 2.7) must fail the device at DRIVER_OK with
 * DEVICE_NEEDS_RESET and a config interrupt (2.1.2), leave disk 0 alone, and be cured by a
 * reset. */
static void check_bad_queue(struct vdev *d1, struct vq *vq1, struct vq *vq0)
{
	uint64_t seen;
	int err;

	TEST_ASSERT_EQ(vdev_negotiate(d1, F(VIRTIO_BLK_F_RO), 0), 0);
	TEST_ASSERT_EQ(vq_setup_raw(vq1, d1, 0, 3, QUEUE_SIZE), 0);
	seen = irq_count(d1->config_vector);
	d1->isr_seen = 0;
	vdev_driver_ok(d1);
	TEST_ASSERT_MSG(vdev_status(d1) & VIRTIO_CONFIG_S_NEEDS_RESET,
			"status 0x%x after DRIVER_OK with a size-3 queue", vdev_status(d1));
	TEST_ASSERT_MSG(irq_wait(d1->config_vector, &seen, WAIT_MS), "no config-change interrupt");
	TEST_ASSERT_MSG(d1->isr_seen & VIRTIO_MMIO_INT_CONFIG, "isr 0x%x", d1->isr_seen);
	printf("bad queue size: status 0x%x (DEVICE_NEEDS_RESET), config interrupt: ok\n",
	       vdev_status(d1));
	TEST_ASSERT_EQ(do_irq(vq0, VIRTIO_BLK_T_IN, 0, bufs, IO_BYTES, 1, 0), VIRTIO_BLK_S_OK);
	check_host_pattern(bufs, 0, IO_SECTORS);
	err = vdev_reset(d1);
	TEST_ASSERT_EQ(err, 0);
	setup_disk(d1, vq1, VEC_DISK1, 0);
	TEST_ASSERT_EQ(do_irq(vq1, VIRTIO_BLK_T_IN, 0, bufs, IO_BYTES, 1, 0), VIRTIO_BLK_S_OK);
	check_host_pattern(bufs, 0, IO_SECTORS);
	printf("the other disk kept working; reset revived the failed one: ok\n");
}

int guest_main(void)
{
	static struct vq vq0, vq1;
	char ring[16] = "split";
	struct vdev *d0, *d1 = NULL;
	uint64_t irqs;

	cmdline_get_str("ring", ring, sizeof(ring));
	packed = !strcmp(ring, "packed");
	d0 = vdev_find(VIRTIO_ID_BLOCK, 0);
	TEST_ASSERT_MSG(d0, "no virtio-blk device (transport %s)", vdev_transport_name());
	vdev_print(d0, "disk 0");
	if (d0->ops != &virtio_pci_ops)
		TEST_ASSERT_EQ(d0->version, 2);
	bufs = virtio_alloc(INFLIGHT * IO_BYTES, 4096);
	reqs = virtio_alloc(INFLIGHT * sizeof(*reqs), 64);
	TEST_ASSERT(bufs && reqs);

	setup_disk(d0, &vq0, VEC_DISK0, F(VIRTIO_BLK_F_FLUSH));
	printf("disk 0: %s ring, features 0x%llx\n", ring, (unsigned long long)d0->features);
	check_config(d0);
	check_get_id(&vq0);
	check_read_write(&vq0);
	check_indirect(&vq0);
	check_inflight(&vq0);
	check_suppression(&vq0);
	check_errors(&vq0, vdev_config64(d0, offsetof(struct virtio_blk_config, capacity)));
	if (cmdline_has("discard"))
		check_discard_zeroes(&vq0);
	TEST_ASSERT_EQ(do_irq(&vq0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, 0), VIRTIO_BLK_S_OK);
	if (cmdline_has("ro_disk")) {
		d1 = vdev_find(VIRTIO_ID_BLOCK, 1);
		TEST_ASSERT_MSG(d1, "no second virtio-blk device");
		vdev_print(d1, "disk 1");
		check_ro_disk(d1, &vq1);
		if (cmdline_has("bad_queue"))
			check_bad_queue(d1, &vq1, &vq0);
	}
	irqs = d0->irqs;
	printf("disk 0: %llu requests, %llu kicks, %llu interrupts (+%llu spurious)\n",
	       (unsigned long long)vq0.completed, (unsigned long long)vq0.kicks,
	       (unsigned long long)irqs, (unsigned long long)d0->spurious);
	TEST_ASSERT(irqs > 0 && vq0.kicks > 0);
	return 0;
}
