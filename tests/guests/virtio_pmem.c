/* virtio-pmem (virtio 1.2 section 5.19) through the runtime's virtio driver, over virtio-mmio or
 * virtio-pci (transport=pci): the config space (a 2 MiB-aligned window past platform_pmem_floor(),
 * the file's size, given as size=BYTES), FLUSH answered with ret 0 (ro=1: at once, the
 * device being read-only), several FLUSHes in flight at once all answered, an unknown request type
 * answered ret 1, a request without room for its response given back unanswered (used len 0),
 * and the device still working after all that. The window itself lies past the runtime's 4 GiB
 * identity map and is not read here (the Linux guest tests use it). Prints "virtio-pmem: all
 * answers ok" and passes. */
#include "guest.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/virtio_ids.h>
#include <linux/virtio_pmem.h>

#define VEC_PMEM 0x55
#define WAIT_MS	 10000
#define NREQ	 4
#define F(bit)	 (1ULL << (bit))

static struct vdev *d;
static struct vq vq;

struct slot {
	struct virtio_pmem_req req;
	struct virtio_pmem_resp resp;
};

/* Adds a request of `type` with `resp_len` bytes of response room. */
static void add(struct slot *s, uint32_t type, uint32_t resp_len)
{
	struct vq_buf b[2] = {{virt_to_phys(&s->req), sizeof(s->req), false},
			      {virt_to_phys(&s->resp), resp_len, true}};

	s->req.type = type;
	s->resp.ret = 0xeeeeeeee;
	TEST_ASSERT_EQ(vq_add(&vq, b, 2, s, 0), 0);
}

/* Waits for `n` answers; returns the used len of the last. */
static uint32_t wait_answers(unsigned n)
{
	uint32_t len = 0;

	for (unsigned got = 0; got < n;) {
		TEST_ASSERT_MSG(vq_wait(&vq, WAIT_MS), "%u of %u answers", got, n);
		while (vq_get_used(&vq, &len))
			got++;
	}
	return len;
}

int guest_main(void)
{
	uint64_t size = 0, start, ro = 0;
	struct slot *s;
	int err;

	cmdline_get_u64("size", &size);
	cmdline_get_u64("ro", &ro);
	d = vdev_find(VIRTIO_ID_PMEM, 0);
	TEST_ASSERT_MSG(d, "no virtio-pmem device (transport %s)", vdev_transport_name());
	vdev_print(d, "pmem");
	err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX), 0);
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d", err);
	TEST_ASSERT_EQ(vq_setup(&vq, d, 0, 0), 0);
	TEST_ASSERT(vdev_irq_enable(d, VEC_PMEM));
	vdev_driver_ok(d);
	start = vdev_config64(d, offsetof(struct virtio_pmem_config, start));
	printf("virtio-pmem at 0x%llx: window 0x%llx+0x%llx\n", (unsigned long long)d->base,
	       (unsigned long long)start,
	       (unsigned long long)vdev_config64(d, offsetof(struct virtio_pmem_config, size)));
	TEST_ASSERT(start >= platform_pmem_floor() && start % (2u << 20) == 0);
	TEST_ASSERT(!size || vdev_config64(d, offsetof(struct virtio_pmem_config, size)) == size);

	s = virtio_alloc(NREQ * sizeof(*s), 64);
	TEST_ASSERT(s);
	for (unsigned i = 0; i < NREQ; i++)
		add(&s[i], VIRTIO_PMEM_REQ_TYPE_FLUSH, sizeof(s[i].resp));
	vq_kick(&vq);
	TEST_ASSERT_EQ(wait_answers(NREQ), sizeof(s[0].resp));
	for (unsigned i = 0; i < NREQ; i++)
		TEST_ASSERT_MSG(s[i].resp.ret == 0, "flush %u: ret %u", i, s[i].resp.ret);
	printf("virtio-pmem: %u flushes answered 0%s\n", NREQ, ro ? " (read-only)" : "");

	add(&s[0], 7, sizeof(s[0].resp));
	vq_kick(&vq);
	wait_answers(1);
	TEST_ASSERT_EQ(s[0].resp.ret, 1);
	add(&s[1], VIRTIO_PMEM_REQ_TYPE_FLUSH, 2);
	vq_kick(&vq);
	TEST_ASSERT_EQ(wait_answers(1), 0);
	add(&s[2], VIRTIO_PMEM_REQ_TYPE_FLUSH, sizeof(s[2].resp));
	vq_kick(&vq);
	wait_answers(1);
	TEST_ASSERT_EQ(s[2].resp.ret, 0);
	TEST_ASSERT(!(vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET));
	printf("virtio-pmem: all answers ok\n");
	return 0;
}
