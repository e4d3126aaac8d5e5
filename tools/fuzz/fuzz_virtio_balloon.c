/* libFuzzer target: virtio-balloon (virtio/balloon/balloon.c) behind virtio-mmio. The inflate,
 * deflate, statistics and free page reporting queues get whatever the input builds; page
 * release goes through a checking stand-in for guest_mem_discard() that aborts when the device
 * asks for a range that is not guest RAM (the fake RAM is heap memory, not to be madvised), and
 * the special operation fires the statistics timer, changes the target and the interval,
 * writes `actual`, and saves and restores the state of the quiesced device. After each special
 * operation the API reads the device's state (GET /balloon: virtio_balloon_get_info), which must
 * agree with the options it was created with and stay within guest RAM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/balloon/balloon.h"
#include "virtio/balloon/balloon_test.h"

#define FAKE_RAM_BYTES (4ull << 20) /* what the device is told: targets up to 4 MiB */
#define FAKE_RAM_PAGES (FAKE_RAM_BYTES / 4096)

static struct virtio_balloon_opts created; /* the options of the device being fuzzed */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t check_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!guest_mem_valid(mem, gpa, len)) {
		fprintf(stderr, "virtio-balloon released 0x%llx+0x%llx outside guest RAM\n",
			(unsigned long long)gpa, (unsigned long long)len);
		abort();
	}
	return (int64_t)len;
}

static int balloon_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t cfg = fz_u8(in);
	struct virtio_balloon_opts o = {
	    .target_mib = cfg % 5,
	    .stats_interval_s = cfg & 8 ? 1 : 0,
	    .deflate_on_oom = cfg & 16,
	    .free_page_reporting = cfg & 32,
	};

	if (virtio_balloon_create(out, &o, FAKE_RAM_BYTES))
		return -1;
	created = o;
	virtio_balloon_set_discard(*out, check_discard);
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void balloon_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
}

/* A pause (the held statistics buffer goes back), a save, and the state put back. */
static void save_restore(struct virtio_dev *dev)
{
	uint8_t buf[1024];
	size_t len = 0;

	dev->ops->quiesce(dev);
	if (dev->ops->save(dev, buf, sizeof(buf), &len) == 0 &&
	    dev->ops->restore(dev, buf, len) != 0)
		abort(); /* a device's own state must restore into it */
	virtio_dev_process_pending(dev);
}

static void special_op(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t op = fz_u8(in), arg = fz_u8(in);
	uint32_t actual;

	switch (op % 6) {
	case 0:
		fz_dev_run_fds(dev); /* whatever the timer and the control eventfd say */
		return;
	case 1:
		virtio_balloon_set_target(dev, arg % 6); /* 5 MiB is refused */
		break;
	case 2:
		virtio_balloon_set_stats_interval(dev, arg);
		break;
	case 3:
		actual = (uint32_t)arg * 97;
		pthread_mutex_lock(&dev->lock);
		virtio_dev_config_write(dev, arg % 16, &actual, 1 + arg % 4);
		pthread_mutex_unlock(&dev->lock);
		return;
	case 4:
		pthread_mutex_lock(&dev->lock);
		save_restore(dev);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	virtio_balloon_poll(dev, op % 6 == 5); /* the I/O thread's wakeup; 5: the timer fired */
	pthread_mutex_unlock(&dev->lock);
}

/* What GET /balloon reports: the creation's options, a target and ballooned pages within RAM,
 * an interval of 1 s to a day exactly when statistics are on. */
static void check_info(struct virtio_dev *dev)
{
	struct virtio_balloon_info i;
	virtio_balloon_get_info(dev, &i);
	FZ_ASSERT(i.deflate_on_oom == created.deflate_on_oom &&
		      i.free_page_reporting == created.free_page_reporting,
		  "options changed");
	FZ_ASSERT(i.target_pages <= FAKE_RAM_PAGES && i.ballooned_pages <= FAKE_RAM_PAGES,
		  "target %u / ballooned %llu pages of %llu", i.target_pages,
		  (unsigned long long)i.ballooned_pages, (unsigned long long)FAKE_RAM_PAGES);
	FZ_ASSERT(created.stats_interval_s
		      ? i.stats_interval_s >= 1 && i.stats_interval_s <= VIRTIO_BALLOON_MAX_STATS_S
		      : i.stats_interval_s == 0,
		  "statistics interval %u", i.stats_interval_s);
}

static void balloon_special(struct virtio_dev *dev, struct fz_in *in)
{
	special_op(dev, in);
	check_info(dev);
}

static const struct fz_dev_hooks balloon_hooks = {.create = balloon_create,
						  .destroy = balloon_destroy,
						  .special = balloon_special,
						  .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &balloon_hooks);
}
