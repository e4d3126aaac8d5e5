/* virtio-rng (virtio 1.2 section 5.4) driven by a mock driver serving kicks synchronously: fills,
 * used lengths, short reads / EINTR / EAGAIN from the entropy source, the token-bucket rate limit
 * on a fake clock with its timerfd, and the option parser. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/rng/rng.h"
#include "virtio/rng/rng_test.h"

#define F(bit) (1ull << (bit))
#define FEAT   F(VIRTIO_F_VERSION_1)
#define MS     1000000ull

static struct mock_ram ram;
static struct mock_vq mv;
static struct virtio_dev *dev;
static unsigned irqs;

/* The fake entropy source and clock. */
static struct {
	uint64_t now;
	size_t max_chunk; /* 0: no limit; else short reads of at most this */
	int eintr_left;	  /* fail with EINTR this many times first */
	bool eagain;	  /* pool "not ready" */
	int eagain_after; /* > 0: this many successful reads, then EAGAIN */
	uint8_t pattern;
	unsigned calls;
} fake;

static ssize_t fake_read(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	fake.calls++;
	if (fake.eintr_left > 0) {
		fake.eintr_left--;
		errno = EINTR;
		return -1;
	}
	if (fake.eagain) {
		errno = EAGAIN;
		return -1;
	}
	if (fake.eagain_after > 0 && --fake.eagain_after == 0)
		fake.eagain = true;
	if (fake.max_chunk && len > fake.max_chunk)
		len = fake.max_chunk;
	memset(buf, fake.pattern, len);
	return (ssize_t)len;
}

static uint64_t fake_now(void *opaque)
{
	(void)opaque;
	return fake.now;
}

static void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q == 0)
		irqs++;
}

static void create(const struct virtio_rng_opts *o, bool fake_source)
{
	memset(&fake, 0, sizeof(fake));
	fake.now = 1000 * MS;
	fake.pattern = 0xa5;
	irqs = 0;
	cr_assert_eq(virtio_rng_create(&dev, o), 0);
	if (fake_source)
		virtio_rng_set_source(dev, &(struct virtio_rng_source){fake_read, fake_now, NULL});
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

static void driver_up(uint64_t features, bool packed)
{
	if (packed)
		features |= F(VIRTIO_F_RING_PACKED);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(dev->status & VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(mock_vq_init(&mv, &ram, 64, packed, MOCK_RAM_GPA), 0);
	dev->vqs[0].num = mv.size;
	dev->vqs[0].desc_addr = mv.desc;
	dev->vqs[0].driver_addr = mv.driver;
	dev->vqs[0].device_addr = mv.device;
	virtio_dev_set_queue_ready(dev, 0, true);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
}

static void teardown(void)
{
	if (dev) {
		virtio_dev_destroy(dev);
		free(dev);
		dev = NULL;
	}
	mock_vq_free(&mv);
	mock_ram_free(&ram);
}

static void kick(void)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, 0);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* The rng registers one backend fd: its timerfd. */
static int timer_fd(void)
{
	cr_assert_eq(dev->nfds, 1);
	return dev->fds[0].fd;
}

static uint64_t timer_remaining_ns(void)
{
	struct itimerspec its;
	cr_assert_eq(timerfd_gettime(timer_fd(), &its), 0);
	return (uint64_t)its.it_value.tv_sec * 1000000000ull + (uint64_t)its.it_value.tv_nsec;
}

/* What the I/O thread does when the timer expires (the test's clock is fake, so fire it). */
static void fire_timer(void)
{
	pthread_mutex_lock(&dev->lock);
	dev->fds[0].ready(dev, dev->fds[0].fd, EPOLLIN);
	pthread_mutex_unlock(&dev->lock);
}

static int add(const struct mock_buf *b, int n)
{
	static uint16_t next_id;
	next_id = (uint16_t)((next_id + 1) % mv.size); /* packed: a distinct Buffer ID each */
	return mv.packed ? mock_packed_add(&mv, b, n, next_id) : mock_split_add(&mv, b, n);
}

static int used(uint32_t *len)
{
	uint32_t id;
	uint16_t pid, flags;
	return mv.packed ? mock_packed_get_used(&mv, &pid, len, &flags)
			 : mock_split_get_used(&mv, &id, len);
}

static uint64_t zeroed(uint32_t len)
{
	uint64_t a = mock_alloc(&mv, len);
	memset(mock_ram_host(&ram, a), 0, len);
	return a;
}

static bool all_zero(uint64_t gpa, uint32_t len)
{
	const uint8_t *p = mock_ram_host(&ram, gpa);
	for (uint32_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static bool all_byte(uint64_t gpa, uint32_t len, uint8_t v)
{
	const uint8_t *p = mock_ram_host(&ram, gpa);
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

TestSuite(virtio_rng, .fini = teardown);

Test(virtio_rng, description)
{
	create(NULL, false);
	cr_expect_eq(dev->device_id, VIRTIO_ID_RNG);
	cr_expect_eq(dev->num_queues, 1);
	cr_expect_eq(dev->config_len, 0);
	cr_expect_eq(dev->host_features, F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
					     F(VIRTIO_RING_F_INDIRECT_DESC) |
					     F(VIRTIO_F_RING_PACKED));
}

static void fills_one(bool packed, uint64_t features)
{
	create(NULL, false); /* the real getrandom() */
	driver_up(features, packed);
	uint64_t a = zeroed(64);
	struct mock_buf b = {a, 64, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len = 0;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 64);
	cr_expect(!all_zero(a, 64), "64 random bytes all zero");
	cr_expect_eq(irqs, 1);
	cr_expect_eq(used(&len), 0);
}

Test(virtio_rng, fills_split)
{
	fills_one(false, FEAT);
}

Test(virtio_rng, fills_packed_event_idx)
{
	fills_one(true, FEAT | F(VIRTIO_RING_F_EVENT_IDX));
}

Test(virtio_rng, multi_segment_chain_after_readable)
{
	create(NULL, false);
	driver_up(FEAT, false);
	uint64_t ro = mock_fill(&mv, "READONLY", 8);
	uint64_t s[3] = {zeroed(10), zeroed(300), zeroed(7)};
	struct mock_buf b[] = {
	    {ro, 8, false}, {s[0], 10, true}, {s[1], 300, true}, {s[2], 7, true}};
	cr_assert_geq(add(b, 4), 0);
	kick();
	uint32_t len = 0;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 317);
	cr_expect(!all_zero(s[0], 10) && !all_zero(s[1], 300) && !all_zero(s[2], 7));
	cr_expect_eq(memcmp(mock_ram_host(&ram, ro), "READONLY", 8), 0);
}

Test(virtio_rng, indirect_chain)
{
	create(NULL, true);
	driver_up(FEAT | F(VIRTIO_RING_F_INDIRECT_DESC), false);
	uint64_t a = zeroed(40), c = zeroed(24);
	struct mock_buf b[] = {{a, 40, true}, {c, 24, true}};
	cr_assert_geq(mock_split_add_indirect(&mv, b, 2), 0);
	kick();
	uint32_t len = 0;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 64);
	cr_expect(all_byte(a, 40, 0xa5) && all_byte(c, 24, 0xa5));
}

Test(virtio_rng, no_writable_bytes_gives_len_zero)
{
	create(NULL, true);
	driver_up(FEAT, false);
	struct mock_buf b = {mock_fill(&mv, "abc", 3), 3, false};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len = 99;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 0);
	cr_expect_eq(memcmp(mock_ram_host(&ram, b.addr), "abc", 3), 0);
	cr_expect_eq(fake.calls, 0);
}

Test(virtio_rng, short_reads_and_eintr_are_continued)
{
	create(NULL, true);
	fake.max_chunk = 5;
	fake.eintr_left = 3;
	driver_up(FEAT, false);
	uint64_t a = zeroed(1000);
	struct mock_buf b = {a, 1000, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len = 0;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 1000);
	cr_expect(all_byte(a, 1000, 0xa5));
	cr_expect_eq(fake.calls, 3 + 200);
}

Test(virtio_rng, eagain_waits_on_the_timer_then_serves)
{
	create(NULL, true);
	fake.eagain = true;
	driver_up(FEAT, false);
	uint64_t a = zeroed(32);
	struct mock_buf b = {a, 32, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len;
	cr_expect_eq(used(&len), 0, "a chain completed without entropy");
	uint64_t left = timer_remaining_ns();
	cr_expect(left > 0 && left <= VIRTIO_RNG_RETRY_NS, "timer not armed: %llu",
		  (unsigned long long)left);
	unsigned calls = fake.calls;
	kick(); /* while waiting, kicks do not spin on the source */
	cr_expect_eq(fake.calls, calls);
	fake.eagain = false;
	fire_timer();
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 32);
	cr_expect(all_byte(a, 32, 0xa5));
}

Test(virtio_rng, partial_fill_then_eagain_pushes_what_was_written)
{
	create(NULL, true);
	driver_up(FEAT, false);
	fake.max_chunk = 10;
	fake.eagain_after = 1; /* 10 bytes, then the source runs dry */
	uint64_t a = zeroed(100);
	struct mock_buf b = {a, 100, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 10, "used len must be the bytes written");
	cr_expect(all_byte(a, 10, 0xa5) && all_zero(a + 10, 90));
	cr_expect_eq(timer_remaining_ns(), 0, "no wait needed after a partial fill");
}

static void rate_limit(bool packed)
{
	struct virtio_rng_opts o = {.rate = 100, .burst = 100};
	create(&o, true);
	driver_up(FEAT | F(VIRTIO_RING_F_EVENT_IDX), packed);
	uint64_t a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = zeroed(64);
		struct mock_buf b = {a[i], 64, true};
		cr_assert_geq(add(&b, 1), 0);
	}
	kick();
	uint32_t len;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 64);
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 36, "the bucket held 100 bytes");
	cr_expect_eq(used(&len), 0, "served beyond the budget");
	cr_expect(all_zero(a[2], 64));
	/* 64 bytes at 100 B/s: 640 ms. */
	uint64_t left = timer_remaining_ns();
	cr_expect(left > 630 * MS && left <= 640 * MS, "timer %llu ns", (unsigned long long)left);

	kick(); /* a kick while waiting changes nothing */
	cr_expect_eq(used(&len), 0);
	fake.now += 320 * MS; /* an early timer serves what accumulated: 32 bytes */
	fire_timer();
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 32);
	cr_expect_eq(used(&len), 0);
	fake.now += 640 * MS;
	fire_timer();
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 64);
	cr_expect(all_byte(a[3], 64, 0xa5));
	cr_expect_eq(used(&len), 0);
}

Test(virtio_rng, rate_limit_refuses_beyond_budget_then_resumes)
{
	rate_limit(false);
}

Test(virtio_rng, rate_limit_packed)
{
	rate_limit(true);
}

Test(virtio_rng, rate_limit_bucket_caps_at_burst_and_survives_reset)
{
	struct virtio_rng_opts o = {.rate = 1000, .burst = 50};
	create(&o, true);
	driver_up(FEAT, false);
	fake.now += 3600 * 1000 * MS; /* an hour idle still gives only `burst` */
	struct mock_buf b = {zeroed(200), 200, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 50);

	/* A reset must not refill the bucket. */
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	mock_vq_free(&mv);
	memset(ram.host, 0, MOCK_RAM_SIZE);
	driver_up(FEAT, false);
	struct mock_buf c = {zeroed(200), 200, true};
	cr_assert_geq(add(&c, 1), 0);
	kick();
	cr_expect_eq(used(&len), 0, "reset refilled the bucket");
	fake.now += 10 * MS; /* 10 bytes at 1000 B/s */
	fire_timer();
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 10);
}

Test(virtio_rng, unlimited_serves_many_chains_per_kick)
{
	create(NULL, true);
	driver_up(FEAT, false);
	for (int i = 0; i < 64; i++) {
		struct mock_buf b = {zeroed(16), 16, true};
		cr_assert_geq(add(&b, 1), 0);
	}
	kick();
	uint32_t len;
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(used(&len), 1, "chain %d", i);
		cr_expect_eq(len, 16);
	}
	cr_expect_eq(irqs, 1);
}

Test(virtio_rng, broken_ring_fails_the_device)
{
	create(NULL, true);
	driver_up(FEAT, false);
	mock_split_desc(&mv, 0, zeroed(8), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0); /* loop */
	mock_split_avail_entry(&mv, 0, 0);
	mock_split_set_avail_idx(&mv, 1);
	kick();
	cr_expect(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* ---- option parser ---- */

static char perr[256]; /* the parsers' messages */

Test(virtio_rng_opts, parses)
{
	struct virtio_rng_opts o;
	cr_expect_eq(virtio_rng_opts_parse(NULL, &o, perr, sizeof(perr)), 0);
	cr_expect_eq(o.rate, 0);
	cr_expect_eq(virtio_rng_opts_parse("", &o, perr, sizeof(perr)), 0);
	cr_expect_eq(o.rate, 0);
	cr_expect_eq(virtio_rng_opts_parse("rate=4096", &o, perr, sizeof(perr)), 0);
	cr_expect_eq(o.rate, 4096);
	cr_expect_eq(o.burst, 4096);
	cr_expect_eq(virtio_rng_opts_parse("rate=64K,burst=512", &o, perr, sizeof(perr)), 0);
	cr_expect_eq(o.rate, 65536);
	cr_expect_eq(o.burst, 512);
	cr_expect_eq(virtio_rng_opts_parse("burst=1M,rate=1", &o, perr, sizeof(perr)), 0);
	cr_expect_eq(o.rate, 1);
	cr_expect_eq(o.burst, 1 << 20);
}

Test(virtio_rng_opts, rejects)
{
	const char *bad[] = {"rate",	      "rate=",	 "rate=0",	   "rate=abc", "rate=-5",
			     "rate=2G",	      "speed=5", "rate=5,",	   ",rate=5",  "rate=5,,,",
			     "rate=1,rate=2", "burst=5", "rate=5,burst=0", "rate=5 ",  "RATE=5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtio_rng_opts o = {.rate = 77, .burst = 77};
		int err = virtio_rng_opts_parse(bad[i], &o, perr, sizeof(perr));
		cr_expect(err == -EINVAL || err == -ERANGE, "'%s' accepted (%d)", bad[i], err);
		cr_expect_eq(o.rate, 0, "'%s' left opts set", bad[i]);
	}
	struct virtio_rng_opts o;
	cr_expect_eq(virtio_rng_opts_parse("rate=2G", &o, perr, sizeof(perr)), -ERANGE);
}

/* The reason goes to the caller's buffer, once, and nothing is logged (base/errors.h). */
Test(virtio_rng_opts, errors_go_to_the_buffer, .init = cr_redirect_stderr)
{
	struct virtio_rng_opts o;

	cr_assert_eq(virtio_rng_opts_parse("speed=5", &o, perr, sizeof(perr)), -EINVAL);
	cr_expect(strstr(perr, "unknown option 'speed'") && strstr(perr, "rate="), "%s", perr);
	cr_assert_eq(virtio_rng_opts_parse("rate=0", &o, perr, sizeof(perr)), -EINVAL);
	cr_expect(strstr(perr, "bad rate '0'"), "%s", perr);
	cr_assert_eq(virtio_rng_opts_parse("burst=5", &o, perr, sizeof(perr)), -EINVAL);
	cr_expect(strstr(perr, "burst needs a rate"), "%s", perr);
	cr_assert_eq(virtio_rng_opts_parse("rate=1,rate=2", &o, perr, sizeof(perr)), -EINVAL);
	cr_expect(strstr(perr, "given twice"), "%s", perr);
	cr_assert_eq(virtio_rng_opts_parse("rate=5,", &o, perr, sizeof(perr)), -EINVAL);
	cr_expect(strstr(perr, "empty option"), "%s", perr);
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

Test(virtio_rng_opts, create_rejects_inconsistent_opts)
{
	struct virtio_rng_opts o = {.rate = 0, .burst = 5};
	struct virtio_dev *d = NULL;
	cr_expect_eq(virtio_rng_create(&d, &o), -EINVAL);
	o = (struct virtio_rng_opts){.rate = VIRTIO_RNG_MAX_RATE + 1};
	cr_expect_eq(virtio_rng_create(&d, &o), -EINVAL);
	cr_expect_null(d);
}

/* ---- the real I/O thread, clock and timerfd ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

Test(virtio_rng_thread, rate_limit_resumes_from_the_timerfd_without_spinning)
{
	struct virtio_rng_opts o = {.rate = 2000, .burst = 100};
	create(&o, false);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_up(FEAT, false);
	/* 500 bytes: 100 at once, 400 more at 2000 B/s = 200 ms. */
	for (int i = 0; i < 5; i++) {
		struct mock_buf b = {zeroed(100), 100, true};
		cr_assert_geq(add(&b, 1), 0);
	}
	uint64_t t0 = mono_ns(), c0 = cpu_ns();
	kick();
	uint32_t len, total = 0;
	while (total < 500 && mono_ns() - t0 < 5000 * MS) {
		if (used(&len) == 1)
			total += len;
		else
			usleep(2000);
	}
	uint64_t took = mono_ns() - t0, cpu = cpu_ns() - c0;
	cr_expect_eq(total, 500);
	cr_expect(took >= 190 * MS && took < 1000 * MS, "took %llu ms",
		  (unsigned long long)(took / MS));
	cr_expect(cpu < took / 4, "busy wait? %llu ms CPU over %llu ms",
		  (unsigned long long)(cpu / MS), (unsigned long long)(took / MS));
}

/* ---- Firecracker's buckets: bw= and ops= ---- */

Test(virtio_rng, ops_bucket_limits_the_requests)
{
	struct virtio_rng_opts o = {.rl.ops = {.size = 2, .refill_ms = 1000, .one_time_burst = 1}};
	create(&o, true);
	driver_up(FEAT, false);
	for (int i = 0; i < 4; i++) {
		struct mock_buf b = {zeroed(32), 32, true};
		cr_assert_geq(add(&b, 1), 0);
	}
	kick();
	uint32_t len;
	for (int i = 0; i < 3; i++) { /* 2 in the bucket + 1 of the one-time burst */
		cr_assert_eq(used(&len), 1, "chain %d", i);
		cr_expect_eq(len, 32, "a whole chain: the bytes are not limited");
	}
	cr_expect_eq(used(&len), 0, "the fourth waits for an operation token");
	uint64_t wait = timer_remaining_ns();
	cr_expect(wait > 0 && wait <= 500 * MS, "%llu", (unsigned long long)wait);
	fake.now += 500 * MS; /* one token: 2 per second */
	fire_timer();
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 32);
}

Test(virtio_rng, bandwidth_bucket_with_one_time_burst)
{
	struct virtio_rng_opts o = {
	    .rl.bw = {.size = 100, .refill_ms = 1000, .one_time_burst = 50}};
	create(&o, true);
	driver_up(FEAT, false);
	struct mock_buf b = {zeroed(400), 400, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len;
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 150, "the bucket and the one-time burst");
	struct mock_buf c = {zeroed(400), 400, true};
	cr_assert_geq(add(&c, 1), 0);
	kick();
	cr_expect_eq(used(&len), 0, "empty");
	fake.now += 200 * MS; /* 20 bytes at 100 B/s */
	fire_timer();
	cr_assert_eq(used(&len), 1);
	cr_expect_eq(len, 20, "the burst is not refilled");
}

Test(virtio_rng, buckets_survive_a_snapshot)
{
	struct virtio_rng_opts o = {.rl = {.bw = {100, 0, 1000}, .ops = {10, 5, 1000}}};
	create(&o, true);
	driver_up(FEAT, false);
	struct mock_buf b = {zeroed(30), 30, true};
	cr_assert_geq(add(&b, 1), 0);
	kick();
	uint32_t len;
	cr_assert_eq(used(&len), 1);
	uint8_t buf[512];
	size_t n = 0;
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &n), 0);
	cr_expect_gt(n, 3 * sizeof(uint64_t), "the limiter's state follows the short form");
	cr_expect_eq(dev->ops->restore(dev, buf, n), 0);
	cr_expect_eq(dev->ops->restore(dev, buf, 3 * sizeof(uint64_t)), -EINVAL, "short form");
	struct rate_limiter_state st;
	memcpy(&st, buf + 3 * sizeof(uint64_t), sizeof(st));
	cr_expect_eq(st.bw.budget, 70);
	cr_expect_eq(st.ops.burst, 4);
	st.bw.size = 101; /* another limit than this device's */
	memcpy(buf + 3 * sizeof(uint64_t), &st, sizeof(st));
	cr_expect_eq(dev->ops->restore(dev, buf, n), -EINVAL);
}

Test(virtio_rng, rate_form_keeps_its_short_snapshot)
{
	struct virtio_rng_opts o = {.rate = 1000, .burst = 50};
	create(&o, true);
	uint8_t buf[512];
	size_t n = 0;
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &n), 0);
	cr_expect_eq(n, 3 * sizeof(uint64_t), "as before the buckets: old snapshots restore");
	cr_expect_eq(dev->ops->restore(dev, buf, n), 0);
}

Test(virtio_rng_opts, parses_buckets)
{
	struct virtio_rng_opts o;
	cr_assert_eq(virtio_rng_opts_parse("bw=1K:100:2K,ops=10:1000", &o, perr, sizeof(perr)), 0,
		     "%s", perr);
	cr_expect_eq(o.rate, 0);
	cr_expect_eq(o.rl.bw.size, 1024);
	cr_expect_eq(o.rl.bw.refill_ms, 100);
	cr_expect_eq(o.rl.bw.one_time_burst, 2048);
	cr_expect_eq(o.rl.ops.size, 10);
	cr_expect_eq(o.rl.ops.refill_ms, 1000);
	cr_expect_eq(o.rl.ops.one_time_burst, 0);
	cr_assert_eq(virtio_rng_opts_parse("ops=1:1", &o, perr, sizeof(perr)), 0, "%s", perr);
	cr_expect_eq(o.rl.bw.size, 0);
	const char *bad[] = {
	    "bw=",	    "bw=5", "bw=0:100", "ops=5:0", "rate=5,bw=5:100", "ops=1:1,burst=5",
	    "bw=1:1,bw=2:2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(virtio_rng_opts_parse(bad[i], &o, perr, sizeof(perr)), -EINVAL,
			     "'%s' accepted", bad[i]);
		cr_expect_eq(o.rl.bw.size + o.rl.ops.size, 0, "'%s' left opts set", bad[i]);
	}
	cr_assert_eq(virtio_rng_opts_parse("rate=5,bw=5:100", &o, perr, sizeof(perr)), -EINVAL);
	cr_expect(strstr(perr, "do not mix"), "%s", perr);
}
