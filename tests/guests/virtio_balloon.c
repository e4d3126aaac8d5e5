/* virtio-balloon (virtio 1.2 section 5.5) through the runtime's virtio driver, over virtio-mmio or
 * virtio-pci (transport=pci): a driver that follows the host's target so that the host can
 * measure the VMM's RSS at each step.
 *
 *   1. touches every 4 KiB page of [start, start + touch) from ring 3 (the host now holds them),
 *      sets up inflateq, deflateq, statsq (when offered: one statistics buffer, refilled each
 *      time the device returns it, with a refresh counter as minor_faults) and reporting_vq
 *      (report=SIZE and the feature offered); prints "BALLOON ready target=N";
 *   2. each time num_pages changes: inflates pages of the touched range (sequential PFNs, 256 per
 *      chain, several chains in flight) or deflates the last ones and touches them again, writes
 *      `actual`, prints "BALLOON actual=N";
 *   3. after `changes` (default 2) changes: with report=SIZE, touches [report_at, +SIZE) and
 *      prints "BALLOON report-ready", waits for one more change, reports that range as free
 *      pages (2 MiB device-writable buffers, 5.5.6.7) and prints "BALLOON reported=BYTES";
 *   4. waits for one last change and passes.
 * Every wait is bounded by wait=SECONDS (default 300). Command line: touch=SIZE (default 128M),
 * start=ADDR (default 64M: above the runtime's virtio pool), changes=N, report=SIZE, report_at=ADDR
 * (default start + touch). */
#include "guest.h"
#include "user.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>

#define VEC_BALLOON 0x53
#define PAGE	    4096ull
#define PFNS	    256 /* per chain, as Linux */
#define INFLIGHT    32	/* chains per batch */
#define REPORT_SEG  (2ull << 20)
#define REPORT_SEGS 16

#define F(bit) (1ULL << (bit))

struct range {
	uint64_t start, len;
};

static struct vdev *d;
static struct vq inflateq, deflateq, statsq, reportq;
static uint32_t *pfn_bufs;
static struct virtio_balloon_stat *stats;
static uint64_t stat_refreshes;
static uint64_t wait_s = 300;
static struct range touched;
static uint32_t held; /* pages in the balloon: the first `held` pages of `touched` */

static uint64_t touch_pages(void *arg)
{
	const struct range *r = arg;

	for (uint64_t a = r->start; a < r->start + r->len; a += PAGE)
		*(volatile uint64_t *)phys_ptr(a) = a | 1;
	return 0;
}

static void touch(uint64_t start, uint64_t len)
{
	struct range r = {start, len};
	run_user(touch_pages, &r);
}

/* ---- statistics: one buffer, refilled whenever the device hands it back (5.5.6.3) ---- */

static void add_stats(void)
{
	struct vq_buf b;

	stats[0] = (struct virtio_balloon_stat){VIRTIO_BALLOON_S_MEMTOT, touched.len};
	stats[1] = (struct virtio_balloon_stat){VIRTIO_BALLOON_S_MEMFREE,
						touched.len - (uint64_t)held * PAGE};
	stats[2] = (struct virtio_balloon_stat){VIRTIO_BALLOON_S_MINFLT, stat_refreshes};
	b = (struct vq_buf){virt_to_phys(stats), 3 * sizeof(*stats), false};
	TEST_ASSERT_EQ(vq_add(&statsq, &b, 1, stats, 0), 0);
	vq_kick(&statsq);
}

static void serve_stats(void)
{
	uint32_t len;

	if (!vdev_has(d, VIRTIO_BALLOON_F_STATS_VQ))
		return;
	while (vq_get_used(&statsq, &len)) {
		stat_refreshes++;
		add_stats();
	}
}

/* ---- following the target ---- */

static uint32_t target(void)
{
	return vdev_config32(d, offsetof(struct virtio_balloon_config, num_pages));
}

/* Waits until num_pages differs from `old`, serving statistics meanwhile. */
static uint32_t wait_change(uint32_t old)
{
	uint64_t polls = wait_s * 50;

	for (uint64_t i = 0; i < polls; i++) {
		uint32_t t = target();

		if (t != old)
			return t;
		serve_stats();
		delay_us(20000);
	}
	TEST_ASSERT_MSG(false, "num_pages stayed %u for %llu s", old, (unsigned long long)wait_s);
	return old;
}

/* Sends `n` pages starting at page `first` of the touched range on `q`, INFLIGHT chains at a
 * time, and waits until the device has returned them all. */
static void send_pages(struct vq *q, uint32_t first, uint32_t n)
{
	while (n) {
		unsigned chains = 0;

		for (; chains < INFLIGHT && n; chains++) {
			uint32_t *buf = pfn_bufs + chains * PFNS, k = n < PFNS ? n : PFNS;
			struct vq_buf b = {virt_to_phys(buf), k * 4, false};

			for (uint32_t i = 0; i < k; i++)
				buf[i] = (uint32_t)((touched.start >> 12) + first + i);
			TEST_ASSERT_EQ(vq_add(q, &b, 1, buf, 0), 0);
			first += k;
			n -= k;
		}
		vq_kick(q);
		for (unsigned done = 0; done < chains;) {
			uint32_t len;

			TEST_ASSERT_MSG(vq_wait(q, 10000), "balloon chains not returned (%u of %u)",
					done, chains);
			while (vq_get_used(q, &len))
				done++;
		}
	}
}

static void follow(uint32_t want)
{
	uint32_t max = (uint32_t)(touched.len / PAGE);

	if (want > max)
		want = max; /* a driver gives what it can; `actual` says how much */
	if (want > held) {
		send_pages(&inflateq, held, want - held);
	} else if (want < held) {
		send_pages(&deflateq, want, held - want);
		touch(touched.start + want * PAGE, (uint64_t)(held - want) * PAGE); /* ours again */
	}
	held = want;
	mmio_write32(d->config + offsetof(struct virtio_balloon_config, actual), held);
	printf("BALLOON actual=%u stats-refreshes=%llu\n", held,
	       (unsigned long long)stat_refreshes);
}

/* ---- free page reporting (5.5.6.7) ---- */

static void report(uint64_t start, uint64_t len)
{
	static uint32_t token;
	uint64_t sent = 0;

	while (sent < len) {
		struct vq_buf b[REPORT_SEGS];
		unsigned n = 0;
		uint32_t used_len;

		for (; n < REPORT_SEGS && sent < len; n++) {
			uint64_t k = len - sent < REPORT_SEG ? len - sent : REPORT_SEG;

			b[n] = (struct vq_buf){start + sent, (uint32_t)k, true};
			sent += k;
		}
		TEST_ASSERT_EQ(vq_add(&reportq, b, n, &token, 0), 0);
		vq_kick(&reportq);
		TEST_ASSERT_MSG(vq_wait(&reportq, 10000), "report not returned");
		TEST_ASSERT(vq_get_used(&reportq, &used_len) == &token);
	}
	printf("BALLOON reported=%llu\n", (unsigned long long)len);
}

/* ---- set-up ---- */

static void setup(bool want_report)
{
	uint16_t q = 2;

	d = vdev_find(VIRTIO_ID_BALLOON, 0);
	TEST_ASSERT_MSG(d, "no virtio-balloon device (transport %s)", vdev_transport_name());
	vdev_print(d, "balloon");
	TEST_ASSERT_EQ(vdev_negotiate(d,
				      F(VIRTIO_BALLOON_F_STATS_VQ) |
					  (want_report ? F(VIRTIO_BALLOON_F_REPORTING) : 0),
				      0),
		       0);
	TEST_ASSERT_EQ(vq_setup(&inflateq, d, 0, 0), 0);
	TEST_ASSERT_EQ(vq_setup(&deflateq, d, 1, 0), 0);
	/* 5.5.2: statsq and reporting_vq take the next free index, only when negotiated. */
	if (vdev_has(d, VIRTIO_BALLOON_F_STATS_VQ))
		TEST_ASSERT_EQ(vq_setup(&statsq, d, q++, 0), 0);
	if (vdev_has(d, VIRTIO_BALLOON_F_REPORTING))
		TEST_ASSERT_EQ(vq_setup(&reportq, d, q, 0), 0);
	TEST_ASSERT(vdev_irq_enable(d, VEC_BALLOON));
	pfn_bufs = virtio_alloc(INFLIGHT * PFNS * 4, 64);
	stats = virtio_alloc(4 * sizeof(*stats), 64);
	TEST_ASSERT(pfn_bufs && stats);
	vdev_driver_ok(d);
	if (vdev_has(d, VIRTIO_BALLOON_F_STATS_VQ))
		add_stats();
	printf("virtio-balloon at 0x%llx irq %u: features 0x%llx\n", (unsigned long long)d->base,
	       d->irq, (unsigned long long)d->features);
}

int guest_main(void)
{
	uint64_t changes = 2, report_len = 0, report_at;
	uint32_t t;

	touched = (struct range){64ull << 20, 128ull << 20};
	cmdline_get_u64("touch", &touched.len);
	cmdline_get_u64("start", &touched.start);
	cmdline_get_u64("changes", &changes);
	cmdline_get_u64("report", &report_len);
	cmdline_get_u64("wait", &wait_s);
	touched.start &= ~(PAGE - 1);
	touched.len &= ~(PAGE - 1);
	report_at = touched.start + touched.len;
	cmdline_get_u64("report_at", &report_at);
	TEST_ASSERT_MSG(touched.start + touched.len + report_len <= (3ull << 30),
			"the ranges run off the low 3 GiB");

	touch(touched.start, touched.len);
	setup(report_len != 0);
	t = target();
	printf("BALLOON ready target=%u touched=%llu\n", t, (unsigned long long)touched.len);
	if (t)
		follow(t); /* the target given at start (--balloon size=) */
	for (uint64_t i = 0; i < changes; i++) {
		t = wait_change(t);
		follow(t);
	}
	if (report_len) {
		TEST_ASSERT_MSG(vdev_has(d, VIRTIO_BALLOON_F_REPORTING),
				"free page reporting not offered");
		touch(report_at, report_len);
		printf("BALLOON report-ready\n");
		t = wait_change(t);
		report(report_at, report_len);
	}
	printf("BALLOON done stats-refreshes=%llu\n", (unsigned long long)stat_refreshes);
	wait_change(t);
	return 0;
}
