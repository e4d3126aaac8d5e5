/* virtio-mem (virtio 1.2 section 5.15) through the runtime's virtio driver, over virtio-mmio or
 * virtio-pci (transport=pci): a driver that speaks the request protocol directly and checks
 * every answer the device gives. The VMM runs it with --memory-hotplug total=256M,requested=8M
 * (2 MiB blocks) and --mem 64M: the region lies at 128 MiB (arm64: 2 GiB + 128 MiB), cached memory.
 *
 *   1. the config: block 2 MiB, region 256 MiB, requested 8 MiB, nothing plugged, the usable
 *      region covering the request; UNPLUGGED_INACCESSIBLE offered and negotiated;
 *   2. UNPLUG_ALL: ACK; STATE of 4 blocks: UNPLUGGED;
 *   3. ERROR: PLUG of an unaligned address, of 0 blocks, below the region, past the usable
 *      region; an unknown request type; STATE of 0 blocks;
 *   4. NACK: PLUG of 5 blocks (10 MiB > 8 MiB requested);
 *   5. ACK: PLUG of 4 blocks; plugged_size 8 MiB; the blocks hold what is written; STATE
 *      PLUGGED, and MIXED over 5 blocks; PLUG of a plugged block: ERROR; one more block: NACK;
 *   6. a request whose buffers lie in plugged memory is answered;
 *   7. UNPLUG of block 1: ACK; again: ERROR; PLUG of it again: ACK, and it reads zeros (the old
 *      contents are gone);
 *   8. UNPLUG_ALL: ACK, plugged_size 0;
 *   9. a request whose buffers lie in the (now unplugged) region: the device may not read it, so
 *      it fails the queue (DEVICE_NEEDS_RESET) instead of answering.
 * Prints "virtio-mem: all answers ok" and passes. [wait_ms=N]: how long step 9 waits for the
 * answer that must not come (default WAIT_MS; arm64's L1 runs give 1000). */
#include "virtio_mem.h"
#include "guest.h"
#include "virtio_vq.h"

#include <linux/virtio_ids.h>
#include <linux/virtio_mem.h>

#define VEC_MEM 0x54
#define WAIT_MS 5000
#define MIB	(1ull << 20)
#define F(bit)	(1ULL << (bit))

#define CFG(field) offsetof(struct virtio_mem_config, field)

static struct vdev *d;
static struct vq vq;
static uint64_t base, bs;

/* Sends one request from `req` (answer into `resp`, which is left as it is: it may lie in
 * unplugged memory, which the driver must not touch, UNPLUGGED_INACCESSIBLE, 5.15.3; on arm64
 * such a store is not even decodable: no memory behind it, a post-indexed str), waits for it;
 * returns the response type, or 0xffff when the device gave no answer within `wait_ms`. */
static uint16_t submit(struct virtio_mem_req *req, struct virtio_mem_resp *resp, uint64_t wait_ms)
{
	struct vq_buf b[2] = {{virt_to_phys(req), sizeof(*req), false},
			      {virt_to_phys(resp), sizeof(*resp), true}};
	uint32_t len;

	TEST_ASSERT_EQ(vq_add(&vq, b, 2, req, 0), 0);
	vq_kick(&vq);
	if (!vq_wait(&vq, (uint32_t)wait_ms) || vq_get_used(&vq, &len) != req)
		return 0xffff;
	TEST_ASSERT_EQ(len, sizeof(*resp));
	return resp->type;
}

/* submit() with `resp` filled with 0xff first, so a stale answer cannot pass. */
static uint16_t send_at(struct virtio_mem_req *req, struct virtio_mem_resp *resp)
{
	memset(resp, 0xff, sizeof(*resp));
	return submit(req, resp, WAIT_MS);
}

static struct virtio_mem_req *req;
static struct virtio_mem_resp *resp;

static uint16_t ask(uint16_t type, uint64_t addr, uint16_t nb)
{
	memset(req, 0, sizeof(*req));
	req->type = type;
	req->u.plug.addr = addr;
	req->u.plug.nb_blocks = nb;
	return send_at(req, resp);
}

static uint16_t state(uint64_t addr, uint16_t nb)
{
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_STATE, addr, nb), VIRTIO_MEM_RESP_ACK);
	return resp->u.state.state;
}

static void check_config(void)
{
	bs = vdev_config64(d, CFG(block_size));
	base = vdev_config64(d, CFG(addr));
	printf("virtio-mem at 0x%llx: region 0x%llx+%llu MiB, block %llu MiB, usable %llu MiB, "
	       "requested %llu MiB\n",
	       (unsigned long long)d->base, (unsigned long long)base,
	       (unsigned long long)(vdev_config64(d, CFG(region_size)) / MIB),
	       (unsigned long long)(bs / MIB),
	       (unsigned long long)(vdev_config64(d, CFG(usable_region_size)) / MIB),
	       (unsigned long long)(vdev_config64(d, CFG(requested_size)) / MIB));
	TEST_ASSERT_EQ(bs, 2 * MIB);
	TEST_ASSERT_EQ(vdev_config64(d, CFG(region_size)), 256 * MIB);
	TEST_ASSERT_EQ(vdev_config64(d, CFG(requested_size)), 8 * MIB);
	TEST_ASSERT_EQ(vdev_config64(d, CFG(plugged_size)), 0);
	TEST_ASSERT(vdev_config64(d, CFG(usable_region_size)) >= 8 * MIB);
	TEST_ASSERT(base % bs == 0 && platform_mem_map(base, 256 * MIB));
}

static void errors_and_nacks(void)
{
	uint64_t usable = vdev_config64(d, CFG(usable_region_size));

	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base + 4096, 1), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base, 0), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base - bs, 1), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base + usable, 1), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(9, base, 1), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_STATE, base, 0), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base, 5), VIRTIO_MEM_RESP_NACK);
	printf("virtio-mem: ERROR and NACK answers ok\n");
}

static void plug_and_use(void)
{
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base, 4), VIRTIO_MEM_RESP_ACK);
	TEST_ASSERT_EQ(vdev_config64(d, CFG(plugged_size)), 8 * MIB);
	for (uint64_t a = base; a < base + 8 * MIB; a += 4096)
		*(volatile uint64_t *)phys_ptr(a) = a ^ 0x5a5a;
	for (uint64_t a = base; a < base + 8 * MIB; a += 4096)
		TEST_ASSERT_EQ(*(volatile uint64_t *)phys_ptr(a), a ^ 0x5a5a);
	TEST_ASSERT_EQ(state(base, 4), VIRTIO_MEM_STATE_PLUGGED);
	TEST_ASSERT_EQ(state(base, 5), VIRTIO_MEM_STATE_MIXED);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base + bs, 1), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base + 4 * bs, 1), VIRTIO_MEM_RESP_NACK);
	/* A request whose buffers are in plugged memory: the device reads and answers it. */
	struct virtio_mem_req *r2 = phys_ptr(base + 6 * MIB);
	struct virtio_mem_resp *p2 = phys_ptr(base + 6 * MIB + 64);
	memset(r2, 0, sizeof(*r2));
	r2->type = VIRTIO_MEM_REQ_STATE;
	r2->u.state.addr = base;
	r2->u.state.nb_blocks = 1;
	TEST_ASSERT_EQ(send_at(r2, p2), VIRTIO_MEM_RESP_ACK);
	TEST_ASSERT_EQ(p2->u.state.state, VIRTIO_MEM_STATE_PLUGGED);
	printf("virtio-mem: plugged 8 MiB, used, a request from plugged memory answered\n");
}

static void unplug_and_replug(void)
{
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_UNPLUG, base + bs, 1), VIRTIO_MEM_RESP_ACK);
	TEST_ASSERT_EQ(vdev_config64(d, CFG(plugged_size)), 6 * MIB);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_UNPLUG, base + bs, 1), VIRTIO_MEM_RESP_ERROR);
	TEST_ASSERT_EQ(state(base, 2), VIRTIO_MEM_STATE_MIXED);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_PLUG, base + bs, 1), VIRTIO_MEM_RESP_ACK);
	for (uint64_t a = base + bs; a < base + 2 * bs; a += 4096)
		TEST_ASSERT_MSG(*(volatile uint64_t *)phys_ptr(a) == 0,
				"0x%llx kept its old contents after unplug and plug",
				(unsigned long long)a);
	TEST_ASSERT_EQ(*(volatile uint64_t *)phys_ptr(base), base ^ 0x5a5a);
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_ACK);
	TEST_ASSERT_EQ(vdev_config64(d, CFG(plugged_size)), 0);
	TEST_ASSERT_EQ(state(base, 4), VIRTIO_MEM_STATE_UNPLUGGED);
	printf("virtio-mem: unplugged block reads zeros once plugged again; unplug-all ok\n");
}

/* The buffers of this request are in unplugged memory: not guest memory for the device. */
static void request_from_unplugged_memory(void)
{
	struct virtio_mem_req *r2 = phys_ptr(base);
	struct virtio_mem_resp *p2 = phys_ptr(base + 64);
	uint64_t wait_ms = WAIT_MS;

	cmdline_get_u64("wait_ms", &wait_ms);
	TEST_ASSERT_EQ(submit(r2, p2, wait_ms), 0xffff);
	TEST_ASSERT_MSG(vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET,
			"status 0x%x: the device should have failed the queue", vdev_status(d));
	printf("virtio-mem: a request in unplugged memory failed the device\n");
}

int guest_main(void)
{
	int err;

	d = vdev_find(VIRTIO_ID_MEM, 0);
	TEST_ASSERT_MSG(d, "no virtio-mem device (transport %s)", vdev_transport_name());
	vdev_print(d, "mem");
	err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX), F(VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE));
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d (offered 0x%llx)", err,
			(unsigned long long)d->offered);
	TEST_ASSERT_EQ(vq_setup(&vq, d, 0, 0), 0);
	TEST_ASSERT(vdev_irq_enable(d, VEC_MEM));
	vdev_driver_ok(d);
	req = virtio_alloc(sizeof(*req), 64);
	resp = virtio_alloc(sizeof(*resp), 64);
	TEST_ASSERT(req && resp);
	check_config();
	TEST_ASSERT_EQ(ask(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_ACK);
	TEST_ASSERT_EQ(state(base, 4), VIRTIO_MEM_STATE_UNPLUGGED);
	errors_and_nacks();
	plug_and_use();
	unplug_and_replug();
	request_from_unplugged_memory();
	printf("virtio-mem: all answers ok\n");
	return 0;
}
