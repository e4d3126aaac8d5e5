/* virtio-mem (virtio 1.2 section 5.15) driven by a mock driver serving kicks synchronously, with
 * a fake backend that records what the device asks the VMM to plug and unplug and can fail:
 * every answer of every request (ACK, NACK, BUSY, ERROR; STATE's three states), the usable
 * region, requested_size and its config interrupt, the feature the device requires, a driver
 * reset, the snapshot state (saved, restored, replugged; hostile states refused) and the option
 * parser. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mem.h>
#include <stdlib.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/mem/mem.h"

#define F(bit) (1ull << (bit))
#define MIB(x) ((uint64_t)(x) << 20)
#define BASE   0x100000000ull /* the region: 512 MiB of 2 MiB blocks, 128 MiB slots */
#define BLOCK  MIB(2)
#define SLOT   MIB(128)

static struct mock_ram ram;
static struct mock_vq mvq;
static struct virtio_dev *dev;
static unsigned config_irqs;

/* The fake backend: the calls it got, and a failure to give. */
static struct {
	uint64_t gpa[16], len[16];
	bool plug[16];
	int n, fail;
} be;

static int be_call(bool plug, uint64_t gpa, uint64_t len)
{
	if (be.fail)
		return be.fail;
	if (be.n < 16) {
		be.gpa[be.n] = gpa;
		be.len[be.n] = len;
		be.plug[be.n] = plug;
	}
	be.n++;
	return 0;
}

static int be_plug(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return be_call(true, gpa, len);
}

static int be_unplug(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return be_call(false, gpa, len);
}

static const struct virtio_mem_backend backend = {be_plug, be_unplug, NULL};
static const struct virtio_mem_opts opts = {MIB(512), BLOCK, SLOT, 0};

static void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q == VIRTIO_IRQ_CONFIG)
		config_irqs++;
}

static void create(void)
{
	memset(&be, 0, sizeof(be));
	config_irqs = 0;
	cr_assert_eq(virtio_mem_create(&dev, &opts, BASE, &backend), 0);
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MIB(1)), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

/* Offers `features` (+ VERSION_1); returns whether FEATURES_OK stuck; with it, starts queue 0. */
static bool driver_up(uint64_t features)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	bool ok;

	features |= F(VIRTIO_F_VERSION_1);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	ok = dev->status & VIRTIO_CONFIG_S_FEATURES_OK;
	if (ok) {
		cr_assert_eq(mock_vq_init(&mvq, &ram, 64, false, MOCK_RAM_GPA), 0);
		dev->vqs[0].num = mvq.size;
		dev->vqs[0].desc_addr = mvq.desc;
		dev->vqs[0].driver_addr = mvq.driver;
		dev->vqs[0].device_addr = mvq.device;
		virtio_dev_set_queue_ready(dev, 0, true);
		virtio_dev_set_status(dev,
				      s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
		cr_assert(virtio_dev_running(dev));
	}
	pthread_mutex_unlock(&dev->lock);
	return ok;
}

static void up(void)
{
	create();
	cr_assert(driver_up(F(VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE)));
}

static void teardown(void)
{
	free(ram.mem.hotplug.plugged); /* mock_ram_free() knows nothing of it */
	ram.mem.hotplug = (struct guest_hotplug){0};
	if (dev) {
		virtio_dev_destroy(dev);
		free(dev);
		dev = NULL;
	}
	if (mvq.ram)
		mock_vq_free(&mvq);
	memset(&mvq, 0, sizeof(mvq));
	mock_ram_free(&ram);
}

struct answer {
	uint16_t type, state;
	uint32_t used_len;
	bool returned;
};

/* Sends `req_len` bytes of a request and `resp_len` bytes of response room; returns the answer. */
static struct answer send_raw(const struct virtio_mem_req *req, uint32_t req_len, uint32_t resp_len)
{
	struct virtio_mem_resp resp;
	uint64_t resp_gpa = mock_alloc(&mvq, 64);
	struct mock_buf b[2] = {{mock_fill(&mvq, req, req_len), req_len, false},
				{resp_gpa, resp_len, true}};
	struct answer a = {0};
	uint32_t id;

	memset(mock_ram_host(&ram, resp_gpa), 0xee, 64);
	cr_assert_geq(mock_split_add(&mvq, b, 2), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, 0);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	a.returned = mock_split_get_used(&mvq, &id, &a.used_len) == 1;
	memcpy(&resp, mock_ram_host(&ram, resp_gpa), sizeof(resp));
	a.type = le16toh(resp.type);
	a.state = le16toh(resp.u.state.state);
	return a;
}

static struct answer send(uint16_t type, uint64_t addr, uint16_t nb)
{
	struct virtio_mem_req req;

	memset(&req, 0, sizeof(req));
	req.type = htole16(type);
	req.u.plug.addr = htole64(addr);
	req.u.plug.nb_blocks = htole16(nb);
	struct answer a = send_raw(&req, sizeof(req), sizeof(struct virtio_mem_resp));
	cr_assert(a.returned);
	cr_assert_eq(a.used_len, sizeof(struct virtio_mem_resp));
	return a;
}

static uint16_t ask(uint16_t type, uint64_t addr, uint16_t nb)
{
	return send(type, addr, nb).type;
}

static struct virtio_mem_info info(void)
{
	struct virtio_mem_info i;
	virtio_mem_get_info(dev, &i);
	return i;
}

static uint64_t config64(size_t off)
{
	uint64_t v;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, (uint32_t)off, &v, 8);
	pthread_mutex_unlock(&dev->lock);
	return le64toh(v);
}

/* requested_size through the API, and the I/O thread's wakeup. */
static void request(uint64_t bytes)
{
	cr_assert_eq(virtio_mem_set_requested(dev, bytes), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_mem_poll(dev);
	pthread_mutex_unlock(&dev->lock);
}

TestSuite(virtio_mem, .fini = teardown);

Test(virtio_mem, describes_itself)
{
	create();
	cr_assert_eq(dev->device_id, VIRTIO_ID_MEM);
	cr_assert_eq(dev->num_queues, 1);
	cr_assert(dev->host_features & F(VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE));
	cr_assert_not(dev->host_features & F(VIRTIO_MEM_F_ACPI_PXM));
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, block_size)), BLOCK);
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, addr)), BASE);
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, region_size)), MIB(512));
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, usable_region_size)), SLOT,
		     "one slot of room while nothing is requested");
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, plugged_size)), 0);
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, requested_size)), 0);
}

Test(virtio_mem, starts_with_the_configured_requested_size)
{
	struct virtio_mem_opts o = opts;

	o.requested = MIB(200);
	cr_assert_eq(virtio_mem_create(&dev, &o, BASE, &backend), 0);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MIB(1)), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
	cr_assert_eq(info().requested_size, MIB(200));
	cr_assert_eq(info().usable_size, MIB(384));
	teardown();
	o.requested = MIB(3);
	cr_assert_eq(virtio_mem_create(&dev, &o, BASE, &backend), -EINVAL);
	dev = NULL;
}

Test(virtio_mem, refuses_bad_geometry)
{
	struct virtio_mem_opts o = opts;

	cr_assert_eq(virtio_mem_create(&dev, &o, BASE + MIB(1), &backend), -EINVAL, "unaligned");
	o.block_size = MIB(3);
	cr_assert_eq(virtio_mem_create(&dev, &o, BASE, &backend), -EINVAL);
	cr_assert_eq(virtio_mem_create(&dev, &opts, BASE, NULL), -EINVAL, "no backend");
	cr_assert_eq(virtio_mem_create(&dev, &opts, 0xfffffffff0000000ull, &backend), -EINVAL,
		     "wraps");
	dev = NULL;
}

Test(virtio_mem, requires_unplugged_inaccessible)
{
	create();
	cr_assert_not(driver_up(0), "FEATURES_OK refused");
}

Test(virtio_mem, plug_acks_and_calls_the_backend)
{
	up();
	request(MIB(8));
	cr_assert_eq(config_irqs, 1);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(4), 3), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(be.n, 1);
	cr_assert(be.plug[0]);
	cr_assert_eq(be.gpa[0], BASE + MIB(4));
	cr_assert_eq(be.len[0], MIB(6));
	cr_assert_eq(info().plugged_size, MIB(6));
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, plugged_size)), MIB(6));
	cr_assert_eq(config_irqs, 1, "plugged_size changes without a notification");
}

Test(virtio_mem, plug_past_the_requested_size_is_nacked)
{
	up();
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 1), VIRTIO_MEM_RESP_NACK, "nothing requested");
	request(MIB(4));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 3), VIRTIO_MEM_RESP_NACK);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(4), 1), VIRTIO_MEM_RESP_NACK,
		     "plugged_size reached requested_size");
	cr_assert_eq(be.n, 1);
	cr_assert_eq(info().nacks, 3);
}

Test(virtio_mem, bad_ranges_are_errors)
{
	up();
	request(MIB(512));
	cr_assert_eq(info().usable_size, MIB(512));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + 4096, 1), VIRTIO_MEM_RESP_ERROR, "unaligned");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 0), VIRTIO_MEM_RESP_ERROR, "no blocks");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE - BLOCK, 1), VIRTIO_MEM_RESP_ERROR, "below");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(510), 2), VIRTIO_MEM_RESP_ERROR,
		     "runs past the end");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(512), 1), VIRTIO_MEM_RESP_ERROR,
		     "just past the end");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, UINT64_MAX - BLOCK + 1, 0xffff),
		     VIRTIO_MEM_RESP_ERROR, "no wrap-around");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG, BASE + 4096, 1), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG, BASE, 0), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_STATE, BASE + MIB(511), 1), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_STATE, BASE, 0), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(7, BASE, 1), VIRTIO_MEM_RESP_ERROR, "unknown request type");
	cr_assert_eq(be.n, 0, "the backend was never asked");
	cr_assert_eq(info().errors, 11);
	cr_assert(virtio_dev_running(dev), "bad requests do not fail the device");
}

Test(virtio_mem, blocks_outside_the_usable_region_are_errors)
{
	up();
	request(MIB(4)); /* usable: one slot + one slot of room */
	cr_assert_eq(info().usable_size, 2 * SLOT);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + 2 * SLOT, 1), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + 2 * SLOT - BLOCK, 2), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_STATE, BASE + 2 * SLOT, 1), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + 2 * SLOT - BLOCK, 1), VIRTIO_MEM_RESP_ACK);
}

Test(virtio_mem, plugging_twice_and_unplugging_unplugged_blocks_are_errors)
{
	up();
	request(MIB(16));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(2), 2), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(2), 2), VIRTIO_MEM_RESP_ERROR, "again");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ERROR, "overlaps");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG, BASE, 2), VIRTIO_MEM_RESP_ERROR, "half unplugged");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG, BASE + MIB(8), 1), VIRTIO_MEM_RESP_ERROR);
	cr_assert_eq(info().plugged_size, MIB(4));
	cr_assert_eq(be.n, 1);
}

Test(virtio_mem, unplug_acks_releases_and_lets_the_blocks_be_plugged_again)
{
	up();
	request(MIB(8));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 4), VIRTIO_MEM_RESP_ACK);
	request(0);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG, BASE + MIB(2), 2), VIRTIO_MEM_RESP_ACK,
		     "unplugging needs no requested size");
	cr_assert_eq(be.n, 2);
	cr_assert_not(be.plug[1]);
	cr_assert_eq(be.gpa[1], BASE + MIB(2));
	cr_assert_eq(be.len[1], MIB(4));
	cr_assert_eq(info().plugged_size, MIB(4));
	request(MIB(8));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(2), 2), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(info().plugged_size, MIB(8));
}

Test(virtio_mem, state_answers_plugged_unplugged_or_mixed)
{
	up();
	request(MIB(8));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(2), 2), VIRTIO_MEM_RESP_ACK);
	struct answer a = send(VIRTIO_MEM_REQ_STATE, BASE + MIB(2), 2);
	cr_assert_eq(a.type, VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(a.state, VIRTIO_MEM_STATE_PLUGGED);
	a = send(VIRTIO_MEM_REQ_STATE, BASE + MIB(6), 5);
	cr_assert_eq(a.state, VIRTIO_MEM_STATE_UNPLUGGED);
	a = send(VIRTIO_MEM_REQ_STATE, BASE, 3);
	cr_assert_eq(a.type, VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(a.state, VIRTIO_MEM_STATE_MIXED);
}

Test(virtio_mem, unplug_all_releases_every_run_and_shrinks_the_usable_region)
{
	up();
	request(MIB(256));
	cr_assert_eq(info().usable_size, MIB(384));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(300), 3), VIRTIO_MEM_RESP_ACK);
	request(0);
	unsigned irqs = config_irqs;
	be.n = 0;
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(be.n, 2, "one backend call per run");
	cr_assert_eq(be.gpa[0], BASE);
	cr_assert_eq(be.len[0], MIB(4));
	cr_assert_eq(be.gpa[1], BASE + MIB(300));
	cr_assert_eq(be.len[1], MIB(6));
	cr_assert_eq(info().plugged_size, 0);
	cr_assert_eq(info().usable_size, SLOT, "shrunk to fit requested_size 0");
	cr_assert_eq(config_irqs, irqs, "without a notification (5.15.4)");
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_ACK, "nothing left");
}

Test(virtio_mem, backend_failures_answer_busy_and_change_nothing)
{
	up();
	request(MIB(8));
	be.fail = -ENOMEM;
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_BUSY);
	cr_assert_eq(info().plugged_size, 0);
	be.fail = 0;
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ACK, "the retry works");
	be.fail = -EIO;
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG, BASE, 2), VIRTIO_MEM_RESP_BUSY);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_BUSY);
	cr_assert_eq(info().plugged_size, MIB(4), "still plugged");
	cr_assert_eq(info().busy, 3);
	be.fail = 0;
	cr_assert_eq(ask(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_ACK);
}

Test(virtio_mem, short_requests_and_missing_response_room)
{
	up();
	request(MIB(8));
	struct virtio_mem_req req = {.type = htole16(VIRTIO_MEM_REQ_PLUG)};
	req.u.plug.addr = htole64(BASE);
	req.u.plug.nb_blocks = htole16(1);

	struct answer a = send_raw(&req, sizeof(req) - 1, sizeof(struct virtio_mem_resp));
	cr_assert(a.returned);
	cr_assert_eq(a.type, VIRTIO_MEM_RESP_ERROR, "a request cut short");
	a = send_raw(&req, sizeof(req), sizeof(struct virtio_mem_resp) - 1);
	cr_assert(a.returned, "given back");
	cr_assert_eq(a.used_len, 0, "nothing written");
	cr_assert_eq(info().plugged_size, 0, "and not carried out");
	cr_assert_eq(be.n, 0);
	a = send_raw(&req, sizeof(req), 64);
	cr_assert_eq(a.type, VIRTIO_MEM_RESP_ACK, "a larger response buffer is fine");
	cr_assert_eq(a.used_len, sizeof(struct virtio_mem_resp));
	cr_assert(virtio_dev_running(dev));
}

Test(virtio_mem, requested_size_rules)
{
	create();
	cr_assert_eq(virtio_mem_set_requested(dev, MIB(512) + BLOCK), -EINVAL, "past the region");
	cr_assert_eq(virtio_mem_set_requested(dev, MIB(3)), -EINVAL, "not whole blocks");
	cr_assert_eq(virtio_mem_set_requested(dev, UINT64_MAX), -EINVAL);
	request(MIB(200));
	cr_assert_eq(info().requested_size, MIB(200));
	cr_assert_eq(info().usable_size, MIB(384));
	request(MIB(2));
	cr_assert_eq(info().usable_size, MIB(384), "grows only");
	request(MIB(510));
	cr_assert_eq(info().usable_size, MIB(512), "capped at the region");
}

Test(virtio_mem, a_driver_reset_keeps_the_blocks_plugged)
{
	up();
	request(MIB(8));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ACK);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(info().plugged_size, MIB(4));
	cr_assert_eq(config64(offsetof(struct virtio_mem_config, plugged_size)), MIB(4));
	cr_assert_eq(be.n, 1, "nothing unplugged behind the driver's back");
}

/* The device's own buffers in hotplugged memory (base/guest_mem.h): a chain in plugged
 * blocks is served, one in an unplugged block fails the bounds check and the device. */
Test(virtio_mem, buffers_in_plugged_memory_work_and_in_unplugged_memory_fail)
{
	static uint8_t hp[4 << 20] __attribute__((aligned(4096)));
	const uint64_t hp_gpa = 0x80000000ull;
	struct virtio_mem_req req = {.type = htole16(VIRTIO_MEM_REQ_STATE)};
	struct virtio_mem_resp resp;
	uint32_t id, len;

	up();
	cr_assert_eq(guest_mem_hotplug_attach(&ram.mem, hp_gpa, hp, sizeof(hp), MIB(2)), 0);
	guest_mem_hotplug_mark(&ram.mem, hp_gpa, MIB(2), true);
	req.u.state.addr = htole64(BASE);
	req.u.state.nb_blocks = htole16(1);
	memcpy(hp, &req, sizeof(req));
	struct mock_buf in_plugged[2] = {{hp_gpa, sizeof(req), false},
					 {hp_gpa + 64, sizeof(resp), true}};
	cr_assert_geq(mock_split_add(&mvq, in_plugged, 2), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, 0);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(mock_split_get_used(&mvq, &id, &len), 1);
	memcpy(&resp, hp + 64, sizeof(resp));
	cr_assert_eq(le16toh(resp.type), VIRTIO_MEM_RESP_ACK, "served from plugged memory");
	cr_assert_eq(le16toh(resp.u.state.state), VIRTIO_MEM_STATE_UNPLUGGED);

	memcpy(hp + MIB(2), &req, sizeof(req));
	struct mock_buf in_unplugged[2] = {{hp_gpa + MIB(2), sizeof(req), false},
					   {hp_gpa + MIB(2) + 64, sizeof(resp), true}};
	cr_assert_geq(mock_split_add(&mvq, in_unplugged, 2), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, 0);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_not(virtio_dev_running(dev), "a buffer in unplugged memory is no guest memory");
	cr_assert(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(hp[MIB(2) + 64], 0, "nothing written there");
}

/* The state of the running device; then a fresh device of the same region restored from it. */
static void save_and_restore_into_fresh(uint8_t *buf, size_t cap, size_t *len)
{
	cr_assert_eq(dev->ops->save(dev, buf, cap, len), 0);
	teardown();
	create();
}

Test(virtio_mem, snapshot_restores_and_replugs)
{
	static uint8_t buf[VIRTIO_DEV_PRIV_MAX];
	size_t len;

	up();
	request(MIB(256));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE + MIB(200), 1), VIRTIO_MEM_RESP_ACK);
	cr_assert_eq(dev->ops->save_size(dev), 64 + 4 * 8, "256 blocks: four words");
	cr_assert_eq(dev->ops->save(dev, buf, 10, &len), -ENOSPC);
	save_and_restore_into_fresh(buf, sizeof(buf), &len);
	cr_assert_eq(dev->ops->restore(dev, buf, len), 0);
	cr_assert_eq(be.n, 2, "each run plugged again");
	cr_assert_eq(be.gpa[0], BASE);
	cr_assert_eq(be.len[0], MIB(4));
	cr_assert_eq(be.gpa[1], BASE + MIB(200));
	struct virtio_mem_info i = info();
	cr_assert_eq(i.plugged_size, MIB(6));
	cr_assert_eq(i.requested_size, MIB(256));
	cr_assert_eq(i.usable_size, MIB(384));
	cr_assert_eq(dev->ops->restore(dev, buf, len), -EINVAL, "only into a fresh device");
}

Test(virtio_mem, snapshot_restore_refuses_hostile_states)
{
	static uint8_t buf[VIRTIO_DEV_PRIV_MAX], bad[VIRTIO_DEV_PRIV_MAX];
	size_t len;

	up();
	request(MIB(8));
	cr_assert_eq(ask(VIRTIO_MEM_REQ_PLUG, BASE, 2), VIRTIO_MEM_RESP_ACK);
	save_and_restore_into_fresh(buf, sizeof(buf), &len);
	cr_assert_eq(dev->ops->restore(dev, buf, len - 1), -EINVAL, "length");
	/* field offsets: addr 0, region 8, block 16, slot 24, usable 32, plugged 40, requested 48,
	 * nblocks 56, bitmap 64 */
	const struct {
		size_t off;
		uint64_t v;
	} edits[] = {
	    {0, BASE + BLOCK}, {8, MIB(256)}, {16, MIB(4)},	{24, MIB(256)},
	    {32, MIB(1024)},   {32, MIB(3)},  {40, MIB(2)},	{48, MIB(300)},
	    {56, 255},	       {64, 0x7},     {64, 1ull << 63},
	};
	for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++) {
		memcpy(bad, buf, len);
		memcpy(bad + edits[k].off, &edits[k].v, 8);
		cr_assert_eq(dev->ops->restore(dev, bad, len), -EINVAL, "edit %zu", k);
		cr_assert_eq(info().plugged_size, 0, "nothing changed by edit %zu", k);
	}
	cr_assert_eq(be.n, 0);
	be.fail = -ENOMEM;
	cr_assert_eq(dev->ops->restore(dev, buf, len), -EINVAL, "the backend cannot plug");
	be.fail = 0;
	cr_assert_eq(dev->ops->restore(dev, buf, len), 0);
	cr_assert_eq(info().plugged_size, MIB(4));
}

Test(virtio_mem, options)
{
	struct virtio_mem_opts o;
	char err[200];

	cr_assert_eq(virtio_mem_opts_parse("total=1G", &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(o.total, MIB(1024));
	cr_assert_eq(o.block_size, MIB(2));
	cr_assert_eq(o.slot_size, MIB(128));
	cr_assert_eq(virtio_mem_opts_parse("total=2048,block=4M,slot=256", &o, err, sizeof(err)),
		     0);
	cr_assert_eq(o.block_size, MIB(4));
	cr_assert_eq(o.slot_size, MIB(256));
	cr_assert_eq(o.requested, 0);
	cr_assert_eq(virtio_mem_opts_parse("total=1G,requested=256M", &o, err, sizeof(err)), 0);
	cr_assert_eq(o.requested, MIB(256));
	cr_assert_eq(virtio_mem_opts_parse("total=1G,requested=0", &o, err, sizeof(err)), 0);
	const char *bad[] = {
	    "",
	    "block=2M",
	    "total=1G,total=1G",
	    "total=1G,,block=2M", /* ",," is a comma in the size: "1G,block=2M" */
	    "total=1G,,,",	  /* "1G," and an empty item */
	    "total=0",
	    "total=x",
	    "size=1G",
	    "total=1G,block=1M",
	    "total=1G,block=6M",
	    "total=1G,slot=64M",
	    "total=1G,slot=130M",
	    "total=100M",
	    "total=1000M",
	    "total=2T",
	    "total=1G,requested=3M",
	    "total=1G,requested=2G",
	    "total",
	    "total=1G,block=",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = '\0';
		cr_assert_eq(virtio_mem_opts_parse(bad[k], &o, err, sizeof(err)), -EINVAL, "%s",
			     bad[k]);
		cr_assert_neq(err[0], '\0', "a reason for '%s'", bad[k]);
	}
	virtio_mem_opts_parse("total=1G,slot=64M", &o, err, sizeof(err));
	cr_assert(strstr(err, "slot size"), "%s", err);
}
