/* Tests of multiqueue: the framework's queue groups (virtio/core: one I/O thread and lock per
 * group, deferred interrupts and failures, pause of every thread, CPU placement) and virtio-blk
 * with num-queues (VIRTIO_BLK_F_MQ), driven by the mock driver over fake guest RAM. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/blk_test.h"
#include "virtio/core/device.h"

#define QSIZE	 64
#define NQ	 3
#define RAM_SIZE (8ull << 20)
#define RING_GAP (1ull << 20) /* queue i's rings and buffers: [GPA + i*GAP, GPA + (i+1)*GAP) */

static struct mock_ram ram;
static struct mock_vq mv[8];

/* Rings of `n` queues, each with its own slice of RAM for buffers. */
static void rings_init(unsigned n)
{
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_SIZE), 0);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(mock_vq_init(&mv[i], &ram, QSIZE, false, MOCK_RAM_GPA + i * RING_GAP),
			     0);
		mv[i].heap_end = MOCK_RAM_GPA + (i + 1) * RING_GAP;
	}
}

static void rings_free(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mock_vq_free(&mv[i]);
	mock_ram_free(&ram);
}

/* The driver side of 3.1.1 with `nq` queues made ready. */
static void handshake(struct virtio_dev *d, unsigned nq, uint64_t want)
{
	uint64_t offered =
	    (uint64_t)virtio_dev_get_features(d, 1) << 32 | virtio_dev_get_features(d, 0);
	uint64_t f = offered & want;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	pthread_mutex_lock(&d->lock);
	virtio_dev_set_status(d, s);
	virtio_dev_set_features(d, 0, (uint32_t)f);
	virtio_dev_set_features(d, 1, (uint32_t)(f >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_dev_set_status(d, s);
	for (unsigned q = 0; q < nq; q++) {
		d->vqs[q].num = QSIZE;
		d->vqs[q].desc_addr = mv[q].desc;
		d->vqs[q].driver_addr = mv[q].driver;
		d->vqs[q].device_addr = mv[q].device;
		virtio_dev_set_queue_ready(d, (uint16_t)q, true);
	}
	virtio_dev_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&d->lock);
	cr_assert(virtio_dev_running(d), "status 0x%x", d->status);
}

/* Waits up to ~10 s (a loaded machine) for cond. */
#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		for (int i_ = 0; i_ < 10000 && !(cond); i_++)                                      \
			usleep(1000);                                                              \
	} while (0)

/* ---- a fake device: 3 queues in 3 groups ---- */

struct fake {
	struct virtio_dev dev;
	struct vq_chain chain;
	_Atomic unsigned served[NQ];
	atomic_bool block1;    /* queue 1's callback waits while this is true */
	atomic_bool in1;       /* queue 1's callback is waiting */
	atomic_bool fail2;     /* queue 2's callback fails the device */
	_Atomic uint32_t irqs; /* bit q: interrupt for queue q; bit 31: config */
	pthread_t cb_thread[NQ];
};

static void fake_notify(struct virtio_dev *dev, uint16_t q)
{
	struct fake *f = (struct fake *)dev;
	f->cb_thread[q] = pthread_self();
	if (q == 1) {
		atomic_store(&f->in1, true);
		for (int i = 0; i < 10000 && atomic_load(&f->block1); i++)
			usleep(1000);
		atomic_store(&f->in1, false);
	}
	if (q == 2 && atomic_load(&f->fail2)) {
		virtio_dev_fail(dev, "test failure");
		cr_assert_not(virtio_dev_running(dev), "a deferred failure stops serving at once");
		return;
	}
	int n = 0;
	while (vq_pop(&dev->vqs[q], dev->mem, &f->chain) > 0) {
		vq_push(&dev->vqs[q], dev->mem, &f->chain);
		n++;
	}
	atomic_fetch_add(&f->served[q], (unsigned)n);
	if (n)
		virtio_dev_notify_used(dev, q);
}

static void fake_raise(void *opaque, uint16_t queue)
{
	struct fake *f = opaque;
	atomic_fetch_or(&f->irqs, queue == VIRTIO_IRQ_CONFIG ? 1u << 31 : 1u << queue);
}

static const struct virtio_dev_ops fake_ops = {.queue_notify = fake_notify};

static struct fake *fake_new(bool start)
{
	struct fake *f = calloc(1, sizeof(*f));
	rings_init(NQ);
	f->dev.name = "fake";
	f->dev.device_id = 0x42;
	f->dev.num_queues = NQ;
	f->dev.queue_max_size = QSIZE;
	f->dev.ops = &fake_ops;
	f->dev.num_groups = NQ;
	for (unsigned q = 0; q < NQ; q++)
		f->dev.queue_group[q] = (uint8_t)q;
	cr_assert_eq(virtio_dev_init(&f->dev, &ram.mem), 0);
	f->dev.irq = (struct virtio_irq){fake_raise, f};
	handshake(&f->dev, NQ, 1ull << VIRTIO_F_VERSION_1);
	if (start)
		cr_assert_eq(virtio_dev_start(&f->dev), 0);
	return f;
}

static void fake_free(struct fake *f)
{
	virtio_dev_destroy(&f->dev);
	free(f);
	rings_free(NQ);
}

/* One 8-byte buffer on queue q, then the kick an ioeventfd would give. */
static void post(struct fake *f, uint16_t q)
{
	struct mock_buf b = {mock_alloc(&mv[q], 8), 8, true};
	cr_assert_geq(mock_split_add(&mv[q], &b, 1), 0);
	uint64_t one = 1;
	cr_assert_eq(write(f->dev.kick_fd[q], &one, sizeof(one)), 8);
}

Test(mq_core, groups_get_their_queues_and_one_thread_each)
{
	struct fake *f = fake_new(true);
	for (unsigned g = 0; g < NQ; g++) {
		cr_assert_eq(f->dev.groups[g].queues, 1u << g);
		cr_assert(f->dev.groups[g].thread_running);
		cr_assert_eq(f->dev.groups[g].lock, &f->dev.groups[g].own_lock);
	}
	for (uint16_t q = 0; q < NQ; q++)
		post(f, q);
	WAIT_FOR(f->served[0] == 1 && f->served[1] == 1 && f->served[2] == 1);
	for (unsigned q = 0; q < NQ; q++)
		cr_assert_eq(f->served[q], 1, "queue %u", q);
	/* each queue was served on its own thread */
	cr_assert_not(pthread_equal(f->cb_thread[0], f->cb_thread[1]));
	cr_assert_not(pthread_equal(f->cb_thread[1], f->cb_thread[2]));
	/* the interrupts the group threads deferred were raised, one per queue */
	WAIT_FOR(f->irqs == 7u);
	cr_assert_eq(f->irqs, 7u);
	fake_free(f);
}

Test(mq_core, one_group_device_keeps_dev_lock_and_no_deferral)
{
	rings_init(1);
	struct fake *f = calloc(1, sizeof(*f));
	f->dev.name = "fake1";
	f->dev.num_queues = 1;
	f->dev.queue_max_size = QSIZE;
	f->dev.ops = &fake_ops;
	cr_assert_eq(virtio_dev_init(&f->dev, &ram.mem), 0);
	cr_assert_eq(f->dev.groups[0].lock, &f->dev.lock);
	cr_assert_eq(f->dev.groups[0].queues, 1u);
	f->dev.irq = (struct virtio_irq){fake_raise, f};
	handshake(&f->dev, 1, 1ull << VIRTIO_F_VERSION_1);
	struct mock_buf b = {mock_alloc(&mv[0], 8), 8, true};
	mock_split_add(&mv[0], &b, 1);
	pthread_mutex_lock(&f->dev.lock);
	virtio_dev_kick(&f->dev, 0);
	virtio_dev_process_pending(&f->dev);
	pthread_mutex_unlock(&f->dev.lock);
	cr_assert_eq(f->served[0], 1);
	cr_assert_eq(f->irqs, 1u, "raised directly by the synchronous path");
	virtio_dev_destroy(&f->dev);
	free(f);
	rings_free(1);
}

/* While group 1's callback is stuck, groups 0 and 2 are still served: the groups do not share a
 * lock or a thread. */
Test(mq_core, a_blocked_group_does_not_stop_the_others)
{
	struct fake *f = fake_new(true);
	atomic_store(&f->block1, true);
	post(f, 1);
	WAIT_FOR(atomic_load(&f->in1));
	cr_assert(atomic_load(&f->in1));
	post(f, 0);
	post(f, 2);
	WAIT_FOR(f->served[0] == 1 && f->served[2] == 1);
	cr_assert_eq(f->served[0], 1);
	cr_assert_eq(f->served[2], 1);
	cr_assert(atomic_load(&f->in1), "queue 1 still blocked meanwhile");
	atomic_store(&f->block1, false);
	WAIT_FOR(f->served[1] == 1);
	cr_assert_eq(f->served[1], 1);
	fake_free(f);
}

/* A failure inside a group's callback is carried out after the pass under dev->lock:
 * DEVICE_NEEDS_RESET and a config interrupt; a reset clears it. */
Test(mq_core, deferred_failure_sets_needs_reset)
{
	struct fake *f = fake_new(true);
	atomic_store(&f->fail2, true);
	post(f, 2);
	WAIT_FOR(f->dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	pthread_mutex_lock(&f->dev.lock);
	cr_assert(f->dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	pthread_mutex_unlock(&f->dev.lock);
	WAIT_FOR(f->irqs & (1u << 31));
	cr_assert(f->irqs & (1u << 31));
	cr_assert_not(virtio_dev_running(&f->dev));
	pthread_mutex_lock(&f->dev.lock);
	virtio_dev_set_status(&f->dev, 0);
	pthread_mutex_unlock(&f->dev.lock);
	cr_assert_not(atomic_load(&f->dev.failing));
	atomic_store(&f->fail2, false);
	handshake(&f->dev, NQ, 1ull << VIRTIO_F_VERSION_1);
	fake_free(f);
}

/* virtio_dev_pause parks every group's thread: kicks wait for the resume. */
Test(mq_core, pause_parks_every_group)
{
	struct fake *f = fake_new(true);
	virtio_dev_pause(&f->dev);
	for (unsigned g = 0; g < NQ; g++)
		cr_assert(f->dev.groups[g].parked, "group %u", g);
	for (uint16_t q = 0; q < NQ; q++)
		post(f, q);
	usleep(50 * 1000);
	for (unsigned q = 0; q < NQ; q++)
		cr_assert_eq(f->served[q], 0, "queue %u served while paused", q);
	virtio_dev_resume(&f->dev);
	WAIT_FOR(f->served[0] == 1 && f->served[1] == 1 && f->served[2] == 1);
	for (unsigned q = 0; q < NQ; q++)
		cr_assert_eq(f->served[q], 1, "queue %u", q);
	fake_free(f);
}

/* The synchronous path (tests, fuzzers) serves every group. */
Test(mq_core, process_pending_serves_every_group)
{
	struct fake *f = fake_new(false);
	for (uint16_t q = 0; q < NQ; q++) {
		struct mock_buf b = {mock_alloc(&mv[q], 8), 8, true};
		mock_split_add(&mv[q], &b, 1);
		pthread_mutex_lock(&f->dev.lock);
		virtio_dev_kick(&f->dev, q);
		pthread_mutex_unlock(&f->dev.lock);
	}
	pthread_mutex_lock(&f->dev.lock);
	virtio_dev_process_pending(&f->dev);
	pthread_mutex_unlock(&f->dev.lock);
	for (unsigned q = 0; q < NQ; q++)
		cr_assert_eq(f->served[q], 1, "queue %u", q);
	cr_assert_eq(f->irqs, 7u);
	fake_free(f);
}

Test(mq_core, bad_group_description_is_refused)
{
	rings_init(1);
	struct virtio_dev d = {.name = "bad",
			       .num_queues = 2,
			       .queue_max_size = QSIZE,
			       .ops = &fake_ops,
			       .num_groups = 2};
	d.queue_group[1] = 2; /* no group 2 */
	cr_assert_eq(virtio_dev_init(&d, &ram.mem), -EINVAL);
	d.queue_group[1] = 1;
	d.num_groups = VIRTIO_DEV_MAX_GROUPS + 1;
	cr_assert_eq(virtio_dev_init(&d, &ram.mem), -EINVAL);
	rings_free(1);
}

/* ---- CPU placement ---- */

Test(mq_cpus, parse)
{
	struct virtio_cpu_list l;
	char err[128];
	cr_assert_eq(virtio_cpu_list_parse("0:2-4:7", &l, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 5);
	uint16_t want[] = {0, 2, 3, 4, 7};
	for (int i = 0; i < 5; i++)
		cr_assert_eq(l.cpu[i], want[i]);
	const char *bad[] = {"", "a", "1:", ":1", "3-1", "1-", "1,2", "0-99", "4096", NULL};
	for (int i = 0; bad[i]; i++)
		cr_assert_eq(virtio_cpu_list_parse(bad[i], &l, err, sizeof(err)), -EINVAL, "'%s'",
			     bad[i]);
}

Test(mq_cpus, threads_are_placed_and_missing_cpus_refused)
{
	struct fake *f = fake_new(false);
	f->dev.iothread_cpus = (struct virtio_cpu_list){1, {4000}};
	cr_assert_eq(virtio_dev_start(&f->dev), -EINVAL, "CPU 4000 does not exist");
	cr_assert_not(f->dev.groups[0].thread_running);
	/* the first CPU this process may use (a test run under taskset may not have CPU 0) */
	cpu_set_t allowed;
	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	uint16_t cpu = 0;
	while (!CPU_ISSET(cpu, &allowed))
		cpu++;
	f->dev.iothread_cpus = (struct virtio_cpu_list){1, {cpu}};
	cr_assert_eq(virtio_dev_start(&f->dev), 0);
	for (unsigned g = 0; g < NQ; g++) {
		cpu_set_t set;
		cr_assert_eq(pthread_getaffinity_np(f->dev.groups[g].thread, sizeof(set), &set), 0);
		cr_assert_eq(CPU_COUNT(&set), 1);
		cr_assert(CPU_ISSET(cpu, &set));
	}
	fake_free(f);
}

/* ---- virtio-blk num-queues ---- */

#define SECTORS 64u

static char disk_path[64];
static int disk_fd = -1;

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 13 + off / 512 + 5);
}

static void make_disk(void)
{
	strcpy(disk_path, "/tmp/test_vmq.XXXXXX");
	disk_fd = mkstemp(disk_path);
	cr_assert_geq(disk_fd, 0);
	uint8_t buf[SECTORS * 512];
	for (uint64_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	cr_assert_eq(pwrite(disk_fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
}

static void drop_disk(void)
{
	if (disk_fd >= 0) {
		close(disk_fd);
		unlink(disk_path);
	}
	disk_fd = -1;
}

static struct virtio_dev *blk_open(const char *extra)
{
	char spec[256], err[128];
	struct virtio_blk_opts o;
	struct virtio_dev *d = NULL;
	snprintf(spec, sizeof(spec), "%s,%s", disk_path, extra);
	cr_assert_eq(virtio_blk_opts_parse(spec, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(virtio_blk_create(&d, &o, &ram.mem), 0);
	virtio_blk_opts_free(&o);
	return d;
}

Test(mq_blk, options)
{
	struct virtio_blk_opts o;
	char err[128];
	cr_assert_eq(
	    virtio_blk_opts_parse("d.img,num-queues=4,iothread-cpus=0:1", &o, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(o.num_queues, 4);
	cr_assert_eq(o.iothread_cpus.n, 2);
	virtio_blk_opts_free(&o);
	const char *bad[] = {"d.img,num-queues=0",
			     "d.img,num-queues=9",
			     "d.img,num-queues=",
			     "d.img,num-queues=2x",
			     "d.img,num-queues",
			     "d.img,iothread-cpus=",
			     "d.img,num-queues=2,num-queues=2",
			     NULL};
	for (int i = 0; bad[i]; i++)
		cr_assert_eq(virtio_blk_opts_parse(bad[i], &o, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
}

Test(mq_blk, config_and_features, .fini = drop_disk)
{
	rings_init(1);
	make_disk();
	struct virtio_dev *d = blk_open("aio=io_uring");
	cr_assert_eq(d->num_queues, 1);
	cr_assert_eq(virtio_dev_groups(d), 1);
	cr_assert_not(virtio_dev_get_features(d, 0) & (1u << VIRTIO_BLK_F_MQ),
		      "one queue: no VIRTIO_BLK_F_MQ, as before");
	virtio_blk_destroy(d);
	d = blk_open("aio=io_uring,num-queues=4");
	cr_assert_eq(d->num_queues, 4);
	cr_assert_eq(virtio_dev_groups(d), 4);
	cr_assert(virtio_dev_get_features(d, 0) & (1u << VIRTIO_BLK_F_MQ));
	uint16_t nq;
	virtio_dev_config_read(d, offsetof(struct virtio_blk_config, num_queues), &nq, 2);
	cr_assert_eq(le16toh(nq), 4);
	/* per queue, with its queue's group: the io_uring completion fd and the rate limiter's
	 * timer */
	cr_assert_eq(d->nfds, 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(d->fds[i].group, i / 2);
	virtio_blk_destroy(d);
	rings_free(1);
}

/* A read on queue q of sector `sector` into a fresh buffer; returns the buffer's address and the
 * status byte's. */
static void blk_read(uint16_t q, uint64_t sector, uint64_t *data, uint64_t *st)
{
	struct virtio_blk_outhdr h = {htole32(VIRTIO_BLK_T_IN), 0, htole64(sector)};
	*data = mock_alloc(&mv[q], 1024);
	*st = mock_alloc(&mv[q], 1);
	memset(mock_ram_host(&ram, *data), 0xee, 1024);
	*(uint8_t *)mock_ram_host(&ram, *st) = 0xee;
	struct mock_buf b[3] = {
	    {mock_fill(&mv[q], &h, sizeof(h)), 16, false}, {*data, 1024, true}, {*st, 1, true}};
	cr_assert_geq(mock_split_add(&mv[q], b, 3), 0);
}

static void blk_write(uint16_t q, uint64_t sector, uint8_t byte, uint64_t *st)
{
	struct virtio_blk_outhdr h = {htole32(VIRTIO_BLK_T_OUT), 0, htole64(sector)};
	uint64_t data = mock_alloc(&mv[q], 512);
	memset(mock_ram_host(&ram, data), byte, 512);
	*st = mock_alloc(&mv[q], 1);
	*(uint8_t *)mock_ram_host(&ram, *st) = 0xee;
	struct mock_buf b[3] = {
	    {mock_fill(&mv[q], &h, sizeof(h)), 16, false}, {data, 512, false}, {*st, 1, true}};
	cr_assert_geq(mock_split_add(&mv[q], b, 3), 0);
}

static void check_read(uint64_t data, uint64_t st, uint64_t sector)
{
	cr_assert_eq(*(uint8_t *)mock_ram_host(&ram, st), VIRTIO_BLK_S_OK);
	const uint8_t *p = mock_ram_host(&ram, data);
	for (unsigned i = 0; i < 1024; i++)
		cr_assert_eq(p[i], pattern(sector * 512 + i), "sector %llu byte %u",
			     (unsigned long long)sector, i);
}

/* Requests on 4 queues at once, served by 4 I/O threads (io_uring each), each completion on the
 * queue it came from with its own interrupt. */
static atomic_uint blk_irqs;
static void blk_raise(void *opaque, uint16_t queue)
{
	(void)opaque;
	if (queue != VIRTIO_IRQ_CONFIG)
		atomic_fetch_or(&blk_irqs, 1u << queue);
}

static void four_queues_at_once(const char *aio)
{
	rings_init(4);
	make_disk();
	char extra[64];
	snprintf(extra, sizeof(extra), "aio=%s,num-queues=4", aio);
	struct virtio_dev *d = blk_open(extra);
	atomic_store(&blk_irqs, 0);
	d->irq = (struct virtio_irq){blk_raise, NULL};
	handshake(d, 4,
		  1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_MQ |
		      1ull << VIRTIO_BLK_F_FLUSH);
	cr_assert(virtio_dev_has_feature(d, VIRTIO_BLK_F_MQ));
	cr_assert_eq(virtio_dev_start(d), 0);
	uint64_t data[4][4], st[4][4];
	for (uint16_t q = 0; q < 4; q++) {
		for (int i = 0; i < 4; i++)
			blk_read(q, (uint64_t)(q * 8 + i * 2), &data[q][i], &st[q][i]);
	}
	for (uint16_t q = 0; q < 4; q++) {
		uint64_t one = 1;
		cr_assert_eq(write(d->kick_fd[q], &one, sizeof(one)), 8);
	}
	for (uint16_t q = 0; q < 4; q++) {
		WAIT_FOR(mock_split_used_idx(&mv[q]) == 4);
		cr_assert_eq(mock_split_used_idx(&mv[q]), 4, "queue %u", q);
		for (int i = 0; i < 4; i++)
			check_read(data[q][i], st[q][i], (uint64_t)(q * 8 + i * 2));
	}
	WAIT_FOR(atomic_load(&blk_irqs) == 0xf);
	cr_assert_eq(atomic_load(&blk_irqs), 0xf);
	/* a write on queue 3, then a read of it on queue 0 after it completed */
	uint64_t wst, rdata, rst;
	blk_write(3, 40, 0x5a, &wst);
	uint64_t one = 1;
	cr_assert_eq(write(d->kick_fd[3], &one, sizeof(one)), 8);
	WAIT_FOR(mock_split_used_idx(&mv[3]) == 5);
	cr_assert_eq(*(uint8_t *)mock_ram_host(&ram, wst), VIRTIO_BLK_S_OK);
	blk_read(0, 40, &rdata, &rst);
	cr_assert_eq(write(d->kick_fd[0], &one, sizeof(one)), 8);
	WAIT_FOR(mock_split_used_idx(&mv[0]) == 5);
	cr_assert_eq(*(uint8_t *)mock_ram_host(&ram, rst), VIRTIO_BLK_S_OK);
	const uint8_t *p = mock_ram_host(&ram, rdata);
	for (int i = 0; i < 512; i++)
		cr_assert_eq(p[i], 0x5a);
	/* pause with every queue quiesced, then a reset from the "vCPU" stops every group */
	virtio_dev_pause(d);
	virtio_dev_resume(d);
	pthread_mutex_lock(&d->lock);
	virtio_dev_set_status(d, 0);
	pthread_mutex_unlock(&d->lock);
	virtio_blk_destroy(d);
	rings_free(4);
}

Test(mq_blk, four_queues_at_once_uring, .fini = drop_disk)
{
	four_queues_at_once("io_uring");
}

Test(mq_blk, four_queues_at_once_sync, .fini = drop_disk)
{
	four_queues_at_once("sync");
}

/* Without VIRTIO_BLK_F_MQ the driver uses queue 0 only (5.2.2); the synchronous path serves it. */
Test(mq_blk, driver_without_mq_uses_queue_0, .fini = drop_disk)
{
	rings_init(1);
	make_disk();
	struct virtio_dev *d = blk_open("aio=sync,num-queues=2");
	handshake(d, 1, 1ull << VIRTIO_F_VERSION_1);
	cr_assert_not(virtio_dev_has_feature(d, VIRTIO_BLK_F_MQ));
	uint64_t data, st;
	blk_read(0, 3, &data, &st);
	pthread_mutex_lock(&d->lock);
	virtio_dev_kick(d, 0);
	virtio_dev_process_pending(d);
	pthread_mutex_unlock(&d->lock);
	check_read(data, st, 3);
	virtio_blk_destroy(d);
	rings_free(1);
}
