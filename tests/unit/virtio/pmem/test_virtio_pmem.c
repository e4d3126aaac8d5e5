/* virtio-pmem (virtio 1.2 section 5.19) driven by a mock driver serving kicks synchronously: the
 * config space, FLUSH answered only after the flush finished and never under the device lock,
 * one fsync for every request waiting, a failed fsync answered with ret 1, a read-only device,
 * bad requests, the limit of held requests, reset and pause with requests held, the snapshot
 * state, a real fsync of a real file, and the option parser. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pmem.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/pmem/pmem.h"
#include "virtio/pmem/pmem_test.h"

#define F(bit)	   (1ull << (bit))
#define MIB(x)	   ((uint64_t)(x) << 20)
#define START	   0x200000000ull
#define RESP_EMPTY 0xeeeeeeeeu

static struct mock_ram ram;
static struct mock_vq mvq;
static struct virtio_dev *dev;

/* The fake flush: counts calls, can block until released, can fail, and notes whether the
 * device lock was free while it ran. */
static struct {
	sem_t go;
	bool gated;
	int calls, result;
	bool lock_was_free, entered;
} fk;

static int fake_flush(void *opaque, int fd)
{
	(void)opaque;
	(void)fd;
	__atomic_store_n(&fk.entered, true, __ATOMIC_RELEASE);
	if (fk.gated)
		sem_wait(&fk.go);
	fk.lock_was_free = pthread_mutex_trylock(&dev->lock) == 0;
	if (fk.lock_was_free)
		pthread_mutex_unlock(&dev->lock);
	fk.calls++;
	return fk.result;
}

static void create(bool read_only, bool fake)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	memset(&fk, 0, sizeof(fk));
	sem_init(&fk.go, 0, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(virtio_pmem_create(&dev, fd, START, MIB(4), read_only), 0);
	if (fake)
		virtio_pmem_set_flush(dev, fake_flush, NULL);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MIB(1)), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

static void driver_up(void)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 1, 1); /* VERSION_1 */
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(mock_vq_init(&mvq, &ram, 32, false, MOCK_RAM_GPA), 0);
	dev->vqs[0].num = mvq.size;
	dev->vqs[0].desc_addr = mvq.desc;
	dev->vqs[0].driver_addr = mvq.driver;
	dev->vqs[0].device_addr = mvq.device;
	virtio_dev_set_queue_ready(dev, 0, true);
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
}

static void up(bool read_only)
{
	create(read_only, true);
	driver_up();
}

static void teardown(void)
{
	if (dev) {
		fk.gated = false;
		sem_post(&fk.go); /* a flush still waiting */
		virtio_dev_destroy(dev);
		free(dev);
		dev = NULL;
	}
	if (mvq.ram)
		mock_vq_free(&mvq);
	memset(&mvq, 0, sizeof(mvq));
	mock_ram_free(&ram);
}

/* Adds a request (type, `req_len` bytes) with `resp_len` bytes of response room and kicks;
 * returns the guest address of the response. */
static uint64_t send(uint32_t type, uint32_t req_len, uint32_t resp_len)
{
	uint32_t t = htole32(type);
	uint64_t resp = mock_alloc(&mvq, 16);
	struct mock_buf b[2] = {{mock_fill(&mvq, &t, req_len), req_len, false},
				{resp, resp_len, true}};

	memset(mock_ram_host(&ram, resp), 0xee, 16);
	cr_assert_geq(mock_split_add(&mvq, b, 2), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, 0);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	return resp;
}

static uint32_t resp_at(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, mock_ram_host(&ram, gpa), 4);
	return le32toh(v);
}

/* The I/O thread's wakeup after the flush thread finished. */
static void complete(void)
{
	virtio_pmem_wait_idle(dev);
	pthread_mutex_lock(&dev->lock);
	virtio_pmem_poll(dev);
	pthread_mutex_unlock(&dev->lock);
}

static int used(uint32_t *len)
{
	uint32_t id, n = 0, l;
	while (mock_split_get_used(&mvq, &id, &l) == 1) {
		n++;
		*len = l;
	}
	return (int)n;
}

TestSuite(virtio_pmem, .fini = teardown);

Test(virtio_pmem, describes_itself)
{
	struct virtio_pmem_config c;

	create(false, true);
	cr_assert_eq(dev->device_id, VIRTIO_ID_PMEM);
	cr_assert_eq(dev->num_queues, 1);
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(le64toh(c.start), START);
	cr_assert_eq(le64toh(c.size), MIB(4));
	cr_assert(virtio_pmem_is(dev));
}

Test(virtio_pmem, refuses_unaligned_windows)
{
	cr_assert_eq(
	    virtio_pmem_create(&dev, open("/dev/null", O_RDONLY), START + 4096, MIB(4), false),
	    -EINVAL);
	cr_assert_eq(virtio_pmem_create(&dev, open("/dev/null", O_RDONLY), START, MIB(3), false),
		     -EINVAL);
	cr_assert_eq(virtio_pmem_create(&dev, open("/dev/null", O_RDONLY), START, 0, false),
		     -EINVAL);
	cr_assert_eq(virtio_pmem_create(&dev, open("/dev/null", O_RDONLY), 0xffffffffffe00000ull,
					MIB(4), false),
		     -EINVAL, "wraps");
	dev = NULL;
}

Test(virtio_pmem, flush_is_answered_after_the_fsync_without_the_device_lock)
{
	uint32_t len = 0;

	up(false);
	fk.gated = true;
	uint64_t r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	cr_assert_eq(used(&len), 0, "held while the fsync runs");
	cr_assert_eq(resp_at(r), RESP_EMPTY);
	sem_post(&fk.go);
	complete();
	cr_assert_eq(fk.calls, 1);
	cr_assert(fk.lock_was_free, "fsync ran without the device lock");
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(len, 4);
	cr_assert_eq(resp_at(r), 0);
}

Test(virtio_pmem, requests_arriving_during_an_fsync_wait_for_the_next_one)
{
	uint32_t len = 0;

	up(false);
	fk.gated = true;
	uint64_t first = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	/* the thread takes the first fsync; these arrive while it runs */
	while (!__atomic_load_n(&fk.entered, __ATOMIC_ACQUIRE))
		usleep(1000);
	uint64_t second = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	uint64_t third = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	sem_post(&fk.go);
	sem_post(&fk.go);
	complete();
	cr_assert_eq(used(&len), 3);
	cr_assert_eq(resp_at(first), 0);
	cr_assert_eq(resp_at(second), 0);
	cr_assert_eq(resp_at(third), 0);
	cr_assert_leq(fk.calls, 2, "one fsync answers every request that waited for it");
	cr_assert_geq(fk.calls, 1);
}

Test(virtio_pmem, a_failed_fsync_answers_ret_1)
{
	uint32_t len = 0;

	up(false);
	fk.result = -EIO;
	uint64_t r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	complete();
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(resp_at(r), 1);
	fk.result = 0;
	r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	complete();
	cr_assert_eq(resp_at(r), 0, "the next fsync worked");
	cr_assert(virtio_dev_running(dev));
}

Test(virtio_pmem, read_only_answers_at_once)
{
	uint32_t len = 0;

	up(true);
	uint64_t r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(resp_at(r), 0);
	cr_assert_eq(fk.calls, 0);
}

/* Firecracker's pmem rate_limiter: a FLUSH takes one op and the window's size in bytes; one the
 * limiter refuses waits in the ring (its timer armed) until a PATCH lifts the limit. */
Test(virtio_pmem, flushes_are_rate_limited)
{
	uint32_t len = 0;
	struct rate_limiter_cfg one_a_day = {.ops = {.size = 1, .refill_ms = 24 * 3600 * 1000ull}};
	struct rate_limiter_patch off = {.has_ops = true};
	struct rate_limiter_cfg now;

	create(false, true);
	cr_assert_eq(virtio_pmem_set_rate_limiter(dev, &one_a_day), 0);
	driver_up();
	uint64_t r1 = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	complete();
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(resp_at(r1), 0);
	uint64_t r2 = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	complete();
	cr_assert_eq(used(&len), 0, "the second FLUSH waits for the limiter");
	cr_assert_eq(fk.calls, 1);
	cr_assert_eq(virtio_pmem_patch_rate_limiter(dev, &off, &now), 0);
	cr_assert_eq(now.ops.size, 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	complete();
	cr_assert_eq(used(&len), 1, "served once the limit is lifted");
	cr_assert_eq(resp_at(r2), 0);
	cr_assert_eq(fk.calls, 2);
}

/* The bandwidth bucket counts the window's size (4 MiB here) per FLUSH. */
Test(virtio_pmem, a_flush_costs_the_window_in_bytes)
{
	uint32_t len = 0;
	struct rate_limiter_cfg bw = {.bw = {.size = MIB(4), .refill_ms = 24 * 3600 * 1000ull}};

	create(true, true);
	cr_assert_eq(virtio_pmem_set_rate_limiter(dev, &bw), 0);
	driver_up();
	send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	cr_assert_eq(used(&len), 1);
	send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	cr_assert_eq(used(&len), 0, "4 MiB a day: the second waits");
}

Test(virtio_pmem, bad_requests)
{
	uint32_t len = 0;

	up(false);
	uint64_t r = send(7, 4, 4);
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(resp_at(r), 1, "unknown type");
	r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 3, 4);
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(resp_at(r), 1, "short request");
	r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 3);
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(len, 0, "no room: nothing written");
	cr_assert_eq(resp_at(r), RESP_EMPTY);
	virtio_pmem_wait_idle(dev);
	cr_assert_eq(fk.calls, 0, "nothing flushed");
	cr_assert(virtio_dev_running(dev));
}

Test(virtio_pmem, at_most_max_held_then_the_rest_waits)
{
	uint32_t len = 0;

	up(false);
	fk.gated = true;
	for (int i = 0; i < VIRTIO_PMEM_MAX_HELD + 3; i++)
		send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	cr_assert_eq(used(&len), 0);
	for (int i = 0; i < 8; i++)
		sem_post(&fk.go);
	for (int i = 0; i < 4; i++)
		complete();
	cr_assert_eq(used(&len), VIRTIO_PMEM_MAX_HELD + 3, "the waiting ones were served too");
}

Test(virtio_pmem, reset_forgets_held_requests)
{
	uint32_t len = 0;

	up(false);
	fk.gated = true;
	send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	sem_post(&fk.go);
	virtio_pmem_wait_idle(dev);
	pthread_mutex_lock(&dev->lock);
	virtio_pmem_poll(dev);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(used(&len), 0, "nothing pushed after the reset");
}

Test(virtio_pmem, pause_answers_held_requests_and_snapshot_state)
{
	uint8_t buf[64];
	size_t len;
	uint32_t ulen = 0;

	up(false);
	fk.gated = true;
	uint64_t r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	pthread_mutex_lock(&dev->lock);
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &len), -EBUSY, "a request is held");
	sem_post(&fk.go);
	dev->ops->quiesce(dev);
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &len), 0);
	cr_assert_eq(dev->ops->save(dev, buf, 4, &len), -ENOSPC);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(used(&ulen), 1);
	cr_assert_eq(resp_at(r), 0);
	cr_assert_eq(dev->ops->restore(dev, buf, len), 0);
	cr_assert_eq(dev->ops->restore(dev, buf, len - 1), -EINVAL);
	buf[16] = 1; /* read_only */
	cr_assert_eq(dev->ops->restore(dev, buf, len), -EINVAL);
	buf[16] = 0;
	buf[0] ^= 0x20; /* start */
	cr_assert_eq(dev->ops->restore(dev, buf, len), -EINVAL);
}

Test(virtio_pmem, a_real_file_is_fsynced)
{
	char path[] = "/tmp/test_pmem_XXXXXX";
	int fd = mkstemp(path);
	uint32_t len = 0;

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(virtio_pmem_create(&dev, fd, START, MIB(2), false), 0);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MIB(1)), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
	driver_up();
	uint64_t r = send(VIRTIO_PMEM_REQ_TYPE_FLUSH, 4, 4);
	complete();
	cr_assert_eq(used(&len), 1);
	cr_assert_eq(resp_at(r), 0);
}

Test(virtio_pmem, options)
{
	struct virtio_pmem_opts o;
	char err[200];

	cr_assert_eq(virtio_pmem_opts_parse("path=/img/root.ext4,ro,root", &o, err, sizeof(err)),
		     0);
	cr_assert_str_eq(o.path, "/img/root.ext4");
	cr_assert(o.read_only && o.root);
	cr_assert_eq(virtio_pmem_opts_parse("path=/a,ro=off", &o, err, sizeof(err)), 0);
	cr_assert_not(o.read_only || o.root);
	cr_assert_str_eq(o.id, "", "no id=: the VMM names it pmemN");
	cr_assert_eq(virtio_pmem_opts_parse("id=data,path=/a", &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.id, "data");
	cr_assert_eq(
	    virtio_pmem_opts_parse("path=/a,bw=1M:100,ops=10:1000:5", &o, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(o.rl.bw.size, MIB(1));
	cr_assert_eq(o.rl.bw.refill_ms, 100);
	cr_assert_eq(o.rl.ops.size, 10);
	cr_assert_eq(o.rl.ops.one_time_burst, 5);
	/* ",," is a comma in the path, not a separator */
	cr_assert_eq(virtio_pmem_opts_parse("path=/a,,ro", &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.path, "/a,ro");
	cr_assert_not(o.read_only);
	const char *bad[] = {"path=/a,bw=1M",
			     "path=/a,ops=x:1",
			     "",
			     "ro",
			     "path=",
			     "path=/a,path=/b",
			     "path=/a,,,",
			     "path=/a,ro=yes",
			     "path=/a,size=4M",
			     "file=/a",
			     "path=/a,id=",
			     "path=/a,id",
			     "path=/a,id=x/y",
			     "path=/a,id=x,id=y"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = '\0';
		cr_assert_eq(virtio_pmem_opts_parse(bad[k], &o, err, sizeof(err)), -EINVAL, "%s",
			     bad[k]);
		cr_assert_neq(err[0], '\0');
	}
}
