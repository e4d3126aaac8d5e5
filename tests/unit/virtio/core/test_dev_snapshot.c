/* A whole virtio device through a snapshot (virtio/core/dev_snapshot.c, the device models' save
 * and restore ops): a virtio-blk device serves requests, is saved, and a NEW device over a copy of
 * the fake guest RAM and the same disk file continues from the same ring positions; hostile or
 * mismatched states are refused. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/blk_test.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/rng/rng.h"

#define QSIZE	 16
#define SECTORS	 64u
#define RAM_SIZE (4ull << 20)
#define FEATURES                                                                                   \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_RING_F_EVENT_IDX)

static char path[64];
static struct mock_ram ram, ram2;
static struct mock_vq mv;
static uint8_t priv[VIRTIO_DEV_PRIV_MAX];
static char err[256];

static void make_disk(uint64_t sectors)
{
	strcpy(path, "/tmp/test_devsnap.XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)(sectors * 512)), 0);
	close(fd);
}

static struct virtio_dev *open_blk(struct mock_ram *r)
{
	char spec[128], e[128];
	struct virtio_blk_opts opts;
	struct virtio_dev *dev;

	snprintf(spec, sizeof(spec), "%s,aio=sync", path);
	cr_assert_eq(virtio_blk_opts_parse(spec, &opts, e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(virtio_blk_create(&dev, &opts, &r->mem), 0);
	virtio_blk_opts_free(&opts);
	return dev;
}

static void handshake(struct virtio_dev *d)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	virtio_dev_set_status(d, s);
	virtio_dev_set_features(d, 0, (uint32_t)FEATURES);
	virtio_dev_set_features(d, 1, (uint32_t)(FEATURES >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_dev_set_status(d, s);
	cr_assert_eq(mock_vq_init(&mv, &ram, QSIZE, false, MOCK_RAM_GPA), 0);
	d->vqs[0].num = QSIZE;
	d->vqs[0].desc_addr = mv.desc;
	d->vqs[0].driver_addr = mv.driver;
	d->vqs[0].device_addr = mv.device;
	virtio_dev_set_queue_ready(d, 0, true);
	virtio_dev_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(d));
}

static void setup(void)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	make_disk(SECTORS);
}

static void teardown(void)
{
	mock_ram_free(&ram);
	mock_ram_free(&ram2);
	unlink(path);
}

/* One write of 512 bytes of `byte` at `sector`, served synchronously; returns the status. */
static uint8_t blk_write(struct virtio_dev *d, uint64_t sector, uint8_t byte)
{
	struct virtio_blk_outhdr h = {htole32(VIRTIO_BLK_T_OUT), 0, htole64(sector)};
	uint64_t hdr = mock_fill(&mv, &h, sizeof(h));
	uint64_t data = mock_alloc(&mv, 512);
	uint64_t st = mock_alloc(&mv, 1);
	memset(mock_ram_host(mv.ram, data), byte, 512);
	*(uint8_t *)mock_ram_host(mv.ram, st) = 0xee;
	struct mock_buf b[3] = {{hdr, sizeof(h), false}, {data, 512, false}, {st, 1, true}};
	cr_assert_geq(mock_split_add(&mv, b, 3), 0);
	virtio_dev_kick(d, 0);
	pthread_mutex_lock(&d->lock);
	virtio_dev_process_pending(d);
	pthread_mutex_unlock(&d->lock);
	return *(uint8_t *)mock_ram_host(mv.ram, st);
}

/* Saves `d` and restores it into a new device over a copy of the RAM; the driver goes on with the
 * copy too. Returns the new device. */
static struct virtio_dev *move_to_new_device(struct virtio_dev *d)
{
	struct virtio_dev_state st;
	size_t len = 0;

	cr_assert_eq(virtio_dev_snapshot_save(d, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(mock_ram_init(&ram2, MOCK_RAM_GPA, RAM_SIZE), 0);
	memcpy(ram2.host, ram.host, RAM_SIZE);
	virtio_blk_destroy(d);
	memset(ram.host, 0xa5, RAM_SIZE); /* the old RAM is gone */
	mv.ram = &ram2;
	struct virtio_dev *n = open_blk(&ram2);
	cr_assert_eq(virtio_dev_snapshot_restore(n, &st, priv, len, err, sizeof(err)), 0, "%s",
		     err);
	return n;
}

Test(dev_snapshot, blk_continues_from_the_same_ring_positions, .init = setup, .fini = teardown)
{
	struct virtio_dev *d = open_blk(&ram);
	uint32_t id, used_len;

	handshake(d);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(blk_write(d, (uint64_t)i, (uint8_t)(0x10 + i)), VIRTIO_BLK_S_OK);
		cr_assert_eq(mock_split_get_used(&mv, &id, &used_len), 1);
	}
	cr_assert_eq(mock_split_used_idx(&mv), 5);
	d = move_to_new_device(d);
	cr_assert(virtio_dev_running(d), "a running device is live after the restore");
	cr_assert_eq(d->vqs[0].last_avail, 5);
	for (int i = 5; i < 40; i++) { /* past the ring size: indices wrap on the new device */
		cr_assert_eq(blk_write(d, (uint64_t)i, (uint8_t)(0x10 + i)), VIRTIO_BLK_S_OK,
			     "request %d", i);
		cr_assert_eq(mock_split_get_used(&mv, &id, &used_len), 1, "request %d", i);
		cr_assert_eq(used_len, 1);
	}
	cr_assert_eq(mock_split_used_idx(&mv), 40, "the used index continued from 5");
	virtio_blk_destroy(d);
}

Test(dev_snapshot, blk_refuses_a_disk_of_another_size, .init = setup, .fini = teardown)
{
	struct virtio_dev *d = open_blk(&ram), *n;
	struct virtio_dev_state st;
	size_t len = 0;

	handshake(d);
	cr_assert_eq(virtio_dev_snapshot_save(d, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     0);
	virtio_blk_destroy(d);
	cr_assert_eq(truncate(path, SECTORS * 512 * 2), 0);
	n = open_blk(&ram);
	cr_assert_eq(virtio_dev_snapshot_restore(n, &st, priv, len, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "virtio-blk"), "%s", err);
	virtio_blk_destroy(n);
}

Test(dev_snapshot, hostile_queue_and_status_values_are_refused, .init = setup, .fini = teardown)
{
	struct virtio_dev *d = open_blk(&ram), *n;
	struct virtio_dev_state st, bad;
	size_t len = 0;

	handshake(d);
	cr_assert_eq(virtio_dev_snapshot_save(d, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     0);
	virtio_blk_destroy(d);
	n = open_blk(&ram);

	bad = st;
	bad.vqs[0].num = 12; /* not a power of two */
	cr_assert_lt(virtio_dev_snapshot_restore(n, &bad, priv, len, err, sizeof(err)), 0);
	bad = st;
	bad.vqs[0].num = 512; /* beyond the device's maximum (256) */
	cr_assert_lt(virtio_dev_snapshot_restore(n, &bad, priv, len, err, sizeof(err)), 0);
	bad = st;
	bad.vqs[0].desc_addr = MOCK_RAM_GPA + RAM_SIZE - 16; /* runs out of RAM */
	cr_assert_lt(virtio_dev_snapshot_restore(n, &bad, priv, len, err, sizeof(err)), 0);
	bad = st;
	bad.status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK; /* DRIVER_OK without FEATURES_OK */
	cr_assert_eq(virtio_dev_snapshot_restore(n, &bad, priv, len, err, sizeof(err)), -EINVAL);
	bad = st;
	bad.driver_features |= 1ull << 60; /* never offered */
	cr_assert_eq(virtio_dev_snapshot_restore(n, &bad, priv, len, err, sizeof(err)), -EINVAL);
	bad = st;
	bad.num_queues = 2;
	cr_assert_eq(virtio_dev_snapshot_restore(n, &bad, priv, len, err, sizeof(err)), -EINVAL);
	cr_assert_eq(virtio_dev_snapshot_restore(n, &st, priv, len - 1, err, sizeof(err)), -EINVAL);
	priv[sizeof(struct virtio_dev_priv_hdr) + sizeof(struct virtio_blk_config)] = 2; /* wt */
	cr_assert_eq(virtio_dev_snapshot_restore(n, &st, priv, len, err, sizeof(err)), -EINVAL);
	virtio_blk_destroy(n);
}

Test(dev_snapshot, a_device_of_another_kind_is_refused, .init = setup, .fini = teardown)
{
	struct virtio_dev *rng, *blk = open_blk(&ram);
	struct virtio_dev_state st;
	size_t len = 0;

	cr_assert_eq(virtio_rng_create(&rng, NULL), 0);
	cr_assert_eq(virtio_dev_init(rng, &ram.mem), 0);
	cr_assert_eq(virtio_dev_snapshot_save(rng, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     0);
	cr_assert_eq(virtio_dev_snapshot_restore(blk, &st, priv, len, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "type 4"), "%s", err);
	virtio_dev_destroy(rng);
	free(rng);
	virtio_blk_destroy(blk);
}

Test(dev_snapshot, rng_bucket_survives_and_is_checked, .init = setup, .fini = teardown)
{
	struct virtio_rng_opts o = {.rate = 1000, .burst = 4000};
	struct virtio_dev *a, *b;
	struct virtio_dev_state st;
	size_t len = 0;

	cr_assert_eq(virtio_rng_create(&a, &o), 0);
	cr_assert_eq(virtio_dev_init(a, &ram.mem), 0);
	cr_assert_eq(virtio_dev_snapshot_save(a, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     0);
	uint64_t *tokens = (uint64_t *)(priv + sizeof(struct virtio_dev_priv_hdr) + 16);
	cr_assert_eq(*tokens, 4000);
	cr_assert_eq(virtio_rng_create(&b, &o), 0);
	cr_assert_eq(virtio_dev_init(b, &ram.mem), 0);
	*tokens = 4001; /* more than the bucket holds */
	cr_assert_eq(virtio_dev_snapshot_restore(b, &st, priv, len, err, sizeof(err)), -EINVAL);
	*tokens = 10;
	cr_assert_eq(virtio_dev_snapshot_restore(b, &st, priv, len, err, sizeof(err)), 0, "%s",
		     err);
	virtio_dev_destroy(a);
	virtio_dev_destroy(b);
	free(a);
	free(b);
}

static void nop_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev;
	(void)q;
}

Test(dev_snapshot, a_device_without_save_is_refused_with_a_message, .init = setup, .fini = teardown)
{
	static const struct virtio_dev_ops ops = {.queue_notify = nop_notify};
	struct virtio_dev d = {
	    .name = "virtio-gpu", .num_queues = 2, .queue_max_size = QSIZE, .ops = &ops};
	struct virtio_dev_state st;
	size_t len = 0;

	cr_assert_eq(virtio_dev_init(&d, &ram.mem), 0);
	cr_assert_eq(virtio_dev_snapshot_save(&d, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     -ENOTSUP);
	cr_assert_str_eq(err, "virtio-gpu cannot be snapshotted yet");
	virtio_dev_destroy(&d);
}
