/* virtio-balloon (virtio 1.2 section 5.5) driven by a mock driver serving kicks synchronously:
 * inflate and deflate bookkeeping with the host pages really released, hostile page numbers
 * (outside RAM, duplicates, past the target), `actual`, the target and its config interrupt,
 * the statistics queue, free page reporting and its queue number, the snapshot state, and the
 * option parser. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

#include "tests/mock_driver/mock_driver.h"
#include "virtio/balloon/balloon.h"
#include "virtio/balloon/balloon_test.h"
#include "virtio/core/dev_snapshot.h"

#define F(bit)	  (1ull << (bit))
#define RAM_MIB	  4
#define QSPACE	  0x10000ull		       /* ring + heap per queue */
#define PAGES_GPA (MOCK_RAM_GPA + 0x100000ull) /* pages the tests balloon */
#define PFN(gpa)  ((uint32_t)((gpa) >> 12))

static struct mock_ram ram;
static struct mock_vq mvq[4];
static int nq;
static struct virtio_dev *dev;
static unsigned config_irqs, queue_irqs;

static void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q == VIRTIO_IRQ_CONFIG)
		config_irqs++;
	else
		queue_irqs++;
}

static void create(const struct virtio_balloon_opts *o)
{
	config_irqs = queue_irqs = 0;
	cr_assert_eq(virtio_balloon_create(&dev, o, RAM_MIB << 20), 0);
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_MIB << 20), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

/* Negotiates `features` and makes the first `queues` queues ready. */
static void driver_up(uint64_t features, int queues)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	features |= F(VIRTIO_F_VERSION_1);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(dev->status & VIRTIO_CONFIG_S_FEATURES_OK);
	nq = queues;
	for (int q = 0; q < queues; q++) {
		cr_assert_eq(mock_vq_init(&mvq[q], &ram, 64, false, MOCK_RAM_GPA + q * QSPACE), 0);
		mvq[q].heap_end = MOCK_RAM_GPA + (q + 1) * QSPACE;
		dev->vqs[q].num = mvq[q].size;
		dev->vqs[q].desc_addr = mvq[q].desc;
		dev->vqs[q].driver_addr = mvq[q].driver;
		dev->vqs[q].device_addr = mvq[q].device;
		virtio_dev_set_queue_ready(dev, (uint16_t)q, true);
	}
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
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
	for (int q = 0; q < nq; q++)
		mock_vq_free(&mvq[q]);
	nq = 0;
	mock_ram_free(&ram);
}

static void kick(uint16_t q)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, q);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* One chain of PFNs on queue q, kicked; returns whether the device returned it. */
static bool send_pfns(uint16_t q, const uint32_t *pfns, uint32_t n)
{
	struct mock_buf b = {mock_fill(&mvq[q], pfns, n * 4), n * 4, false};
	uint32_t id, len;

	cr_assert_geq(mock_split_add(&mvq[q], &b, 1), 0);
	kick(q);
	return mock_split_get_used(&mvq[q], &id, &len) == 1 && len == 0;
}

static uint8_t *page(uint64_t gpa)
{
	return mock_ram_host(&ram, gpa);
}

static struct virtio_balloon_info info(void)
{
	struct virtio_balloon_info i;
	virtio_balloon_get_info(dev, &i);
	return i;
}

static void fill_pages(unsigned n)
{
	memset(page(PAGES_GPA), 0xaa, n * 4096);
}

TestSuite(virtio_balloon, .fini = teardown);

Test(virtio_balloon, describes_itself)
{
	create(&(struct virtio_balloon_opts){.target_mib = 2});
	cr_assert_eq(dev->device_id, VIRTIO_ID_BALLOON);
	cr_assert_eq(dev->num_queues, 2);
	cr_assert_eq(dev->host_features &
			 (F(VIRTIO_BALLOON_F_STATS_VQ) | F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
			  F(VIRTIO_BALLOON_F_REPORTING) | F(VIRTIO_BALLOON_F_MUST_TELL_HOST)),
		     0);
	uint32_t num_pages = 0;
	virtio_dev_config_read(dev, 0, &num_pages, 4);
	cr_assert_eq(num_pages, 512, "2 MiB of 4 KiB pages");
	teardown();
	create(&(struct virtio_balloon_opts){
	    .stats_interval_s = 1, .deflate_on_oom = true, .free_page_reporting = true});
	cr_assert_eq(dev->num_queues, 4);
	cr_assert(dev->host_features & F(VIRTIO_BALLOON_F_STATS_VQ));
	cr_assert(dev->host_features & F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	cr_assert(dev->host_features & F(VIRTIO_BALLOON_F_REPORTING));
}

Test(virtio_balloon, refuses_a_target_above_ram)
{
	cr_assert_eq(virtio_balloon_create(&dev, &(struct virtio_balloon_opts){.target_mib = 5},
					   RAM_MIB << 20),
		     -EINVAL);
	dev = NULL;
}

Test(virtio_balloon, inflate_releases_pages_and_deflate_takes_them_back)
{
	create(&(struct virtio_balloon_opts){.target_mib = 1});
	driver_up(0, 2);
	fill_pages(4);
	uint32_t pfns[] = {PFN(PAGES_GPA), PFN(PAGES_GPA + 0x1000), PFN(PAGES_GPA + 0x3000)};

	cr_assert(send_pfns(0, pfns, 3));
	cr_assert_eq(page(PAGES_GPA)[0], 0, "released: reads zeros");
	cr_assert_eq(page(PAGES_GPA + 0x1fff)[0], 0);
	cr_assert_eq(page(PAGES_GPA + 0x2000)[0], 0xaa, "not inflated: kept");
	cr_assert_eq(page(PAGES_GPA + 0x3000)[0], 0);
	cr_assert_eq(info().ballooned_pages, 3);

	page(PAGES_GPA)[0] = 0x11; /* the guest may use a deflated page again */
	cr_assert(send_pfns(1, pfns, 2));
	cr_assert_eq(info().ballooned_pages, 1);
	cr_assert_eq(page(PAGES_GPA)[0], 0x11, "deflate is bookkeeping only");
	cr_assert(send_pfns(0, pfns, 1));
	cr_assert_eq(info().ballooned_pages, 2, "inflated again after the deflate");
	cr_assert_eq(page(PAGES_GPA)[0], 0);
}

/* Beside a passed-through device (vmm/descriptors/dev_vfio.c): inflated pages are counted and
 * kept, since the IOMMU pins them for DMA. */
Test(virtio_balloon, keep_pages_counts_without_releasing)
{
	create(&(struct virtio_balloon_opts){.target_mib = 1});
	virtio_balloon_keep_pages(dev);
	driver_up(0, 2);
	fill_pages(4);
	uint32_t pfns[] = {PFN(PAGES_GPA), PFN(PAGES_GPA + 0x1000)};

	cr_assert(send_pfns(0, pfns, 2));
	cr_assert_eq(info().ballooned_pages, 2, "accepted and counted");
	cr_assert_eq(page(PAGES_GPA)[0], 0xaa, "not released: the contents stay");
	cr_assert_eq(page(PAGES_GPA + 0x1000)[0], 0xaa);
	cr_assert(send_pfns(1, pfns, 2));
	cr_assert_eq(info().ballooned_pages, 0);
}

/* Found by fuzz_virtio_balloon (regression virtio_balloon/inflate-run-across-regions): the
 * pages of one run were released with one guest_mem_discard(), which refuses a range across two
 * RAM regions even when they are adjacent: neither page was released. */
Test(virtio_balloon, a_run_of_pages_ends_at_a_region_boundary)
{
	static struct guest_mem two; /* the mock RAM as two adjacent regions of 2 MiB */
	const uint64_t half = (RAM_MIB << 20) / 2;
	cr_assert_eq(virtio_balloon_create(&dev, &(struct virtio_balloon_opts){.target_mib = 1},
					   RAM_MIB << 20),
		     0);
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, RAM_MIB << 20), 0);
	memset(&two, 0, sizeof(two));
	cr_assert_eq(guest_mem_add_region(&two, MOCK_RAM_GPA, ram.host, half), 0);
	cr_assert_eq(guest_mem_add_region(&two, MOCK_RAM_GPA + half, ram.host + half, half), 0);
	cr_assert_eq(virtio_dev_init(dev, &two), 0);
	driver_up(0, 2);
	const uint64_t edge = MOCK_RAM_GPA + half;
	memset(page(edge - 0x2000), 0xaa, 0x4000);
	uint32_t pfns[] = {PFN(edge - 0x2000), PFN(edge - 0x1000), PFN(edge), PFN(edge + 0x1000)};

	cr_assert(send_pfns(0, pfns, 4));
	for (int i = 0; i < 4; i++)
		cr_assert_eq(page(edge - 0x2000 + 0x1000 * i)[0], 0, "page %d released", i);
	cr_assert_eq(info().ballooned_pages, 4);
	virtio_dev_destroy(dev);
	free(dev);
	dev = NULL;
	guest_mem_free(&two);
}

Test(virtio_balloon, hostile_pfns_are_ignored)
{
	create(&(struct virtio_balloon_opts){.target_mib = 1});
	driver_up(0, 2);
	fill_pages(2);
	uint32_t pfns[] = {
	    0,					 /* below RAM */
	    PFN(MOCK_RAM_GPA + (RAM_MIB << 20)), /* just past the end */
	    0xffffffff,				 /* far away */
	    PFN(0xd0000000),			 /* the MMIO hole */
	    PFN(PAGES_GPA),			 /* good */
	    PFN(PAGES_GPA),			 /* the same again */
	};

	cr_assert(send_pfns(0, pfns, 6), "the chain is returned");
	cr_assert_eq(info().ballooned_pages, 1);
	cr_assert(virtio_dev_running(dev), "a bad page number does not fail the device");
	uint32_t stray = PFN(PAGES_GPA + 0x1000);
	cr_assert(send_pfns(1, &stray, 1), "deflating a page never inflated");
	cr_assert_eq(info().ballooned_pages, 1);
	cr_assert_eq(page(PAGES_GPA + 0x1000)[0], 0xaa);
	/* Trailing bytes that make no whole PFN are ignored. */
	struct mock_buf b = {mock_fill(&mvq[0], &stray, 3), 3, false};
	cr_assert_geq(mock_split_add(&mvq[0], &b, 1), 0);
	kick(0);
	cr_assert_eq(info().ballooned_pages, 1);
	cr_assert_eq(page(PAGES_GPA + 0x1000)[0], 0xaa);
}

Test(virtio_balloon, inflating_past_the_target_is_refused)
{
	create(&(struct virtio_balloon_opts){.target_mib = 0});
	driver_up(0, 2);
	fill_pages(1);
	uint32_t pfn = PFN(PAGES_GPA);

	cr_assert(send_pfns(0, &pfn, 1));
	cr_assert_eq(info().ballooned_pages, 0);
	cr_assert_eq(page(PAGES_GPA)[0], 0xaa, "not released: the guest was not asked");
	cr_assert_eq(virtio_balloon_set_target(dev, 1), 0);
	cr_assert(send_pfns(0, &pfn, 1));
	cr_assert_eq(page(PAGES_GPA)[0], 0);
}

Test(virtio_balloon, target_change_interrupts_and_actual_is_the_drivers)
{
	create(&(struct virtio_balloon_opts){.target_mib = 1});
	driver_up(0, 2);
	cr_assert_eq(virtio_balloon_set_target(dev, RAM_MIB + 1), -EINVAL);
	cr_assert_eq(virtio_balloon_set_target(dev, UINT64_MAX / 128), -EINVAL, "no overflow");
	cr_assert_eq(virtio_balloon_set_target(dev, 3), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_balloon_poll(dev, false); /* what the I/O thread does when woken */
	uint32_t v = 700, num_pages;
	virtio_dev_config_write(dev, 4, &v, 4);
	v = 5;
	virtio_dev_config_write(dev, 0, &v, 4); /* num_pages is the device's */
	virtio_dev_config_read(dev, 0, &num_pages, 4);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(config_irqs, 1);
	cr_assert_eq(num_pages, 768);
	cr_assert_eq(info().target_pages, 768);
	cr_assert_eq(info().actual_pages, 700);
}

/* One statistics buffer with these (tag, value) pairs, kicked on queue q. */
static void send_stats(uint16_t q, const uint16_t *tags, const uint64_t *vals, int n)
{
	struct virtio_balloon_stat st[8];
	for (int i = 0; i < n; i++)
		st[i] = (struct virtio_balloon_stat){tags[i], vals[i]};
	struct mock_buf b = {mock_fill(&mvq[q], st, n * sizeof(st[0])),
			     (uint32_t)(n * sizeof(st[0])), false};
	cr_assert_geq(mock_split_add(&mvq[q], &b, 1), 0);
	kick(q);
}

Test(virtio_balloon, statistics_are_kept_and_asked_for_again)
{
	create(&(struct virtio_balloon_opts){.stats_interval_s = 1});
	driver_up(F(VIRTIO_BALLOON_F_STATS_VQ), 3);
	uint16_t tags[] = {VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, 99};
	uint64_t vals[] = {1000, 4000, 7};
	uint32_t id, len;

	send_stats(2, tags, vals, 3);
	struct virtio_balloon_info i = info();
	cr_assert(i.stats_seen);
	cr_assert(i.stat_valid[VIRTIO_BALLOON_S_MEMFREE] && i.stat_valid[VIRTIO_BALLOON_S_MEMTOT]);
	cr_assert_not(i.stat_valid[VIRTIO_BALLOON_S_SWAP_IN]);
	cr_assert_eq(i.stats[VIRTIO_BALLOON_S_MEMFREE], 1000);
	cr_assert_eq(i.stats[VIRTIO_BALLOON_S_MEMTOT], 4000);
	cr_assert_eq(mock_split_get_used(&mvq[2], &id, &len), 0, "held until the interval");

	pthread_mutex_lock(&dev->lock);
	virtio_balloon_poll(dev, true); /* the timer fired */
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(mock_split_get_used(&mvq[2], &id, &len), 1, "returned: fresh values please");
	cr_assert_eq(len, 0);
	vals[0] = 900;
	send_stats(2, tags, vals, 1);
	cr_assert_eq(info().stats[VIRTIO_BALLOON_S_MEMFREE], 900);
	cr_assert_eq(virtio_balloon_set_stats_interval(dev, 0), -EINVAL);
	cr_assert_eq(virtio_balloon_set_stats_interval(dev, 5), 0);
	cr_assert_eq(info().stats_interval_s, 5);
}

Test(virtio_balloon, no_statistics_interval_without_the_queue)
{
	create(&(struct virtio_balloon_opts){.target_mib = 1});
	cr_assert_eq(virtio_balloon_set_stats_interval(dev, 5), -ENOTSUP);
}

/* Free page reporting: its queue follows deflateq directly when statistics are not negotiated. */
static void report_test(uint64_t features, uint16_t q)
{
	fill_pages(4);
	struct mock_buf b[] = {{PAGES_GPA, 0x2000, true}, {PAGES_GPA + 0x3000, 0x1000, true}};
	uint32_t id, len;

	cr_assert_geq(mock_split_add(&mvq[q], b, 2), 0);
	kick(q);
	cr_assert_eq(mock_split_get_used(&mvq[q], &id, &len), 1);
	cr_assert_eq(page(PAGES_GPA)[0], 0);
	cr_assert_eq(page(PAGES_GPA + 0x1000)[0], 0);
	cr_assert_eq(page(PAGES_GPA + 0x2000)[0], 0xaa);
	cr_assert_eq(page(PAGES_GPA + 0x3000)[0], 0);
	cr_assert_eq(info().reported_bytes, 0x3000);
	cr_assert_eq(info().ballooned_pages, 0, "reported pages are not balloon pages");
	(void)features;
}

Test(virtio_balloon, free_page_reporting_without_statistics_is_queue_2)
{
	create(&(struct virtio_balloon_opts){.stats_interval_s = 1, .free_page_reporting = true});
	driver_up(F(VIRTIO_BALLOON_F_REPORTING), 3); /* stats offered, not taken */
	report_test(0, 2);
}

Test(virtio_balloon, free_page_reporting_after_statistics_is_queue_3)
{
	create(&(struct virtio_balloon_opts){.stats_interval_s = 1, .free_page_reporting = true});
	driver_up(F(VIRTIO_BALLOON_F_REPORTING) | F(VIRTIO_BALLOON_F_STATS_VQ), 4);
	report_test(0, 3);
}

Test(virtio_balloon, reported_ranges_outside_ram_are_ignored)
{
	create(&(struct virtio_balloon_opts){.free_page_reporting = true});
	driver_up(F(VIRTIO_BALLOON_F_REPORTING), 3);
	/* The chain walker already refuses a buffer outside RAM: the device fails, the VMM
	 * carries on. A range partly inside one page releases no page. */
	fill_pages(1);
	struct mock_buf b = {PAGES_GPA + 0x10, 0xff0, true};
	uint32_t id, len;
	cr_assert_geq(mock_split_add(&mvq[2], &b, 1), 0);
	kick(2);
	cr_assert_eq(mock_split_get_used(&mvq[2], &id, &len), 1);
	cr_assert_eq(page(PAGES_GPA + 0x10)[0], 0xaa);
	struct mock_buf far = {0xd0000000, 0x1000, true};
	cr_assert_geq(mock_split_add(&mvq[2], &far, 1), 0);
	kick(2);
	cr_assert_eq(info().reported_bytes, 0);
}

Test(virtio_balloon, pause_gives_the_statistics_buffer_back_and_state_restores)
{
	struct virtio_balloon_opts o = {.target_mib = 2, .stats_interval_s = 3};
	create(&o);
	driver_up(F(VIRTIO_BALLOON_F_STATS_VQ), 3);
	uint16_t tag = VIRTIO_BALLOON_S_AVAIL;
	uint64_t val = 1234;
	send_stats(2, &tag, &val, 1);
	uint32_t actual = 512;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_write(dev, 4, &actual, 4);
	uint8_t buf[512];
	size_t len = 0;
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &len), -EBUSY, "a buffer is held");
	dev->ops->quiesce(dev);
	cr_assert_eq(dev->vqs[2].inflight, 0);
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &len), 0);
	virtio_dev_process_pending(dev); /* the resume: popped again */
	cr_assert_eq(dev->vqs[2].inflight, 1);
	pthread_mutex_unlock(&dev->lock);

	struct virtio_dev *other;
	cr_assert_eq(virtio_balloon_create(&other, &o, RAM_MIB << 20), 0);
	cr_assert_eq(other->ops->restore(other, buf, len - 1), -EINVAL);
	cr_assert_eq(other->ops->restore(other, buf, len), 0);
	struct virtio_balloon_info i;
	virtio_balloon_get_info(other, &i);
	cr_assert_eq(i.target_pages, 512);
	cr_assert_eq(i.actual_pages, 512);
	cr_assert_eq(i.stats_interval_s, 3);
	cr_assert_eq(i.stats[VIRTIO_BALLOON_S_AVAIL], 1234);
	other->ops->destroy(other);
	free(other);

	struct virtio_dev *no_stats;
	cr_assert_eq(
	    virtio_balloon_create(&no_stats, &(struct virtio_balloon_opts){0}, RAM_MIB << 20), 0);
	cr_assert_eq(no_stats->ops->restore(no_stats, buf, len), -EINVAL, "other features");
	no_stats->ops->destroy(no_stats);
	free(no_stats);
}

/* Found by fuzz_virtio_balloon (regression virtio_balloon/restore-interval-without-statistics):
 * a state naming a statistics interval for a device without statistics was taken, and GET
 * /balloon then reported the interval. */
Test(virtio_balloon, a_state_without_statistics_names_no_interval)
{
	const struct virtio_balloon_opts o = {.target_mib = 1};
	create(&o);
	uint8_t buf[512];
	size_t len = 0;
	pthread_mutex_lock(&dev->lock);
	cr_assert_eq(dev->ops->save(dev, buf, sizeof(buf), &len), 0);
	pthread_mutex_unlock(&dev->lock);

	struct virtio_dev *other;
	cr_assert_eq(virtio_balloon_create(&other, &o, RAM_MIB << 20), 0);
	cr_assert_eq(other->ops->restore(other, buf, len), 0);
	uint32_t interval = 5; /* stats_interval_s: the state's third 32-bit field (snapshot.c) */
	memcpy(buf + 8, &interval, sizeof(interval));
	cr_assert_eq(other->ops->restore(other, buf, len), -EINVAL);
	struct virtio_balloon_info i;
	virtio_balloon_get_info(other, &i);
	cr_assert_eq(i.stats_interval_s, 0);
	other->ops->destroy(other);
	free(other);
}

Test(virtio_balloon, reset_forgets_the_balloon)
{
	create(&(struct virtio_balloon_opts){.target_mib = 1});
	driver_up(0, 2);
	uint32_t pfn = PFN(PAGES_GPA);
	cr_assert(send_pfns(0, &pfn, 1));
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(info().ballooned_pages, 0);
	cr_assert_eq(info().actual_pages, 0);
}

/* ---- options ---- */

static int parse(const char *s, struct virtio_balloon_opts *o)
{
	char err[200] = "";
	int r = virtio_balloon_opts_parse(s, o, err, sizeof(err));
	cr_assert(r == 0 || err[0], "an error has a message: %s", s);
	return r;
}

Test(virtio_balloon_opts, parses_every_key)
{
	struct virtio_balloon_opts o;
	cr_assert_eq(parse("size=256,stats=5s,deflate-on-oom=on,free-page-reporting=on", &o), 0);
	cr_assert_eq(o.target_mib, 256);
	cr_assert_eq(o.stats_interval_s, 5);
	cr_assert(o.deflate_on_oom && o.free_page_reporting);
	cr_assert_eq(parse("size=1G,stats=2", &o), 0);
	cr_assert_eq(o.target_mib, 1024);
	cr_assert_eq(o.stats_interval_s, 2);
	cr_assert_not(o.deflate_on_oom);
	cr_assert_eq(parse(NULL, &o), 0);
	cr_assert_eq(o.target_mib, 0);
	cr_assert_eq(parse("deflate-on-oom=off", &o), 0);
}

Test(virtio_balloon_opts, refuses_bad_input)
{
	struct virtio_balloon_opts o;
	const char *bad[] = {"size",
			     "size=",
			     "size=-1",
			     "size=1K",
			     "size=x",
			     "stats=1m",
			     "stats=s",
			     "stats=86401",
			     "size=1,,", /* the size "1," */
			     "size=1,,,",
			     "size=1,size=2",
			     "deflate-on-oom=yes",
			     "what=1",
			     ",",
			     "free-page-reporting",
			     "size=17T"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(parse(bad[i], &o), 0, "%s accepted", bad[i]);
}

Test(virtio_balloon, a_second_statistics_buffer_waits_for_the_first)
{
	create(&(struct virtio_balloon_opts){.stats_interval_s = 1});
	driver_up(F(VIRTIO_BALLOON_F_STATS_VQ), 3);
	uint16_t tag = VIRTIO_BALLOON_S_CACHES;
	uint64_t val = 1;
	uint32_t id, len;

	send_stats(2, &tag, &val, 1);
	val = 2;
	send_stats(2, &tag, &val, 1); /* a hostile driver: one buffer too many */
	cr_assert_eq(info().stats[VIRTIO_BALLOON_S_CACHES], 1, "the second one is not read yet");
	pthread_mutex_lock(&dev->lock);
	virtio_balloon_poll(dev, true);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(mock_split_get_used(&mvq[2], &id, &len), 1);
	cr_assert_eq(mock_split_get_used(&mvq[2], &id, &len), 0, "the second one is held now");
	cr_assert_eq(info().stats[VIRTIO_BALLOON_S_CACHES], 2);
}
