/* virtio-rng (virtio 1.2 section 5.4) through the runtime's virtio driver over virtio-mmio or
 * virtio-pci (transport=pci [pci_irq=intx]): negotiation
 * (EVENT_IDX and INDIRECT_DESC when offered; RING_PACKED with ring=packed), one request queue,
 * several device-writable buffers of different sizes added at once (one of them through an
 * indirect table when INDIRECT_DESC was negotiated), one kick, completions waited for with
 * sti; hlt on the device's interrupt. Each buffer must come back with 0 < len <= its size, its
 * bytes not all equal, and different from the other buffers. */
#include "guest.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/virtio_ids.h>

#define VEC_RNG 0x52
#define NBUFS	5
#define WAIT_MS 5000

#define F(bit) (1ULL << (bit))

static const uint32_t sizes[NBUFS] = {16, 64, 256, 1024, 4096};

static bool all_equal(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		if (b[i] != b[0])
			return false;
	}
	return true;
}

int guest_main(void)
{
	static struct vq vq;
	uint8_t *buf[NBUFS];
	uint32_t got[NBUFS] = {0};
	char ring[16] = "split";
	struct vdev *d;
	unsigned done = 0;
	int err;

	cmdline_get_str("ring", ring, sizeof(ring));
	d = vdev_find(VIRTIO_ID_RNG, 0);
	TEST_ASSERT_MSG(d, "no virtio-rng device (transport %s)", vdev_transport_name());
	vdev_print(d, "rng");
	err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC),
			     !strcmp(ring, "packed") ? F(VIRTIO_F_RING_PACKED) : 0);
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d (offered 0x%llx)", err,
			(unsigned long long)d->offered);
	/* The device's own size: QEMU's virtio-rng-pci offers only 8 entries. */
	TEST_ASSERT_EQ(vq_setup(&vq, d, 0, 0), 0);
	TEST_ASSERT(vdev_irq_enable(d, VEC_RNG));
	vdev_driver_ok(d);
	printf("virtio-rng at 0x%llx irq %u: %s ring, features 0x%llx\n",
	       (unsigned long long)d->base, d->irq, vq.packed ? "packed" : "split",
	       (unsigned long long)d->features);

	for (unsigned i = 0; i < NBUFS; i++) {
		struct vq_buf b;

		buf[i] = virtio_alloc(sizes[i], 64);
		TEST_ASSERT(buf[i]);
		memset(buf[i], 0, sizes[i]);
		b = (struct vq_buf){virt_to_phys(buf[i]), sizes[i], true};
		TEST_ASSERT_EQ(
		    vq_add(&vq, &b, 1, buf[i], i == 2 && vq.indirect ? VQ_ADD_INDIRECT : 0), 0);
	}
	vq_kick(&vq);
	while (done < NBUFS) {
		uint32_t len;
		uint8_t *p;

		TEST_ASSERT_MSG(vq_wait(&vq, WAIT_MS), "no interrupt after %u of %u buffers", done,
				NBUFS);
		while ((p = vq_get_used(&vq, &len)) != NULL) {
			for (unsigned i = 0; i < NBUFS; i++) {
				if (p == buf[i])
					got[i] = len;
			}
			done++;
		}
	}
	for (unsigned i = 0; i < NBUFS; i++) {
		TEST_ASSERT_MSG(got[i] > 0 && got[i] <= sizes[i], "buffer %u: len %u of %u", i,
				got[i], sizes[i]);
		TEST_ASSERT_MSG(got[i] < 4 || !all_equal(buf[i], got[i]),
				"buffer %u: %u bytes all 0x%x", i, got[i], buf[i][0]);
		for (unsigned j = 0; j < i; j++)
			TEST_ASSERT_MSG(got[j] < 8 || memcmp(buf[i], buf[j], 8),
					"buffers %u and %u start alike", j, i);
		printf("buffer %u: %u of %u bytes, starting %02x %02x %02x %02x\n", i, got[i],
		       sizes[i], buf[i][0], buf[i][1], buf[i][2], buf[i][3]);
	}
	printf("random bytes: %u buffers ok, %llu interrupt(s)\n", NBUFS,
	       (unsigned long long)d->irqs);
	return 0;
}
