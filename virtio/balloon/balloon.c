/* virtio-balloon (virtio 1.2 section 5.5): queues, page release, statistics. See
 * virtio/balloon/balloon.h. */
#include <sys/syscall.h>

#include "virtio/balloon/internal.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/serve.h"

#define PAGE_SHIFT   VIRTIO_BALLOON_PFN_SHIFT
#define PFN_BATCH    256 /* PFNs read from a chain at a time (Linux sends 256 per chain) */
#define PFN_BUDGET   64	 /* chains per wakeup on inflateq / deflateq */
#define STAT_MAX     64	 /* entries read from one statistics buffer */
#define REPORT_CHAIN 16	 /* chains per wakeup on reporting_vq */

enum queue_role { ROLE_NONE, ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORT };

struct vballoon *to_balloon(struct virtio_dev *dev)
{
	return dev->priv;
}

/* 5.5.2: queues after deflateq exist only for negotiated features and take the next index. */
static enum queue_role queue_role(const struct virtio_dev *dev, uint16_t q)
{
	uint16_t next = 2;

	if (q == 0)
		return ROLE_INFLATE;
	if (q == 1)
		return ROLE_DEFLATE;
	if (virtio_dev_has_feature(dev, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return ROLE_STATS;
	if (virtio_dev_has_feature(dev, VIRTIO_BALLOON_F_REPORTING) && q == next)
		return ROLE_REPORT;
	return ROLE_NONE;
}

/* Index of statsq when STATS_VQ was negotiated, else VIRTIO_DEV_MAX_QUEUES. */
static uint16_t balloon_stats_queue(const struct virtio_dev *dev)
{
	return virtio_dev_has_feature(dev, VIRTIO_BALLOON_F_STATS_VQ) ? 2 : VIRTIO_DEV_MAX_QUEUES;
}

/* ---- inflate and deflate (5.5.6.1, 5.5.6.2) ---- */

static bool page_bit(const struct vballoon *b, uint64_t i)
{
	return (b->bitmap[i / 64] >> (i % 64)) & 1;
}

static void flip_bit(struct vballoon *b, uint64_t i)
{
	b->bitmap[i / 64] ^= 1ull << (i % 64);
}

/* Gives [gpa, +len) back to the host, or only counts it (virtio_balloon_keep_pages()). */
static int64_t release(struct vballoon *b, uint64_t gpa, uint64_t len)
{
	if (__atomic_load_n(&b->keep_pages, __ATOMIC_ACQUIRE))
		return (int64_t)len;
	return b->discard(b->dev.mem, gpa, len);
}

/* Releases the run of guest pages [b->run_gpa, +b->run_len) gathered by inflate_pfn(). */
static void flush_run(struct vballoon *b)
{
	int64_t done;

	if (!b->run_len)
		return;
	done = release(b, b->run_gpa, b->run_len);
	if (done < 0)
		log_guest_warn("virtio-balloon: cannot release 0x%llx+0x%llx: %s",
			       (unsigned long long)b->run_gpa, (unsigned long long)b->run_len,
			       strerror((int)-done));
	b->run_len = 0;
}

/* One inflated page: ignored outside RAM, twice, or beyond the target; else marked and added to
 * the run of contiguous pages released together (one madvise for a whole run). A run stays
 * inside one RAM region: guest_mem_discard() refuses a range across two, even adjacent ones. */
static void inflate_pfn(struct vballoon *b, uint32_t pfn)
{
	uint64_t gpa = (uint64_t)pfn << PAGE_SHIFT, i;

	if (guest_mem_page_index(b->dev.mem, gpa, &i) < 0 || i >= b->ram_pages) {
		b->bad_pfns++;
		log_guest_warn("virtio-balloon: pfn 0x%x is not guest RAM; ignored", pfn);
		return;
	}
	if (page_bit(b, i)) {
		b->bad_pfns++; /* already released: nothing to do twice */
		return;
	}
	if (b->ballooned >= b->config.num_pages) {
		b->refused_pfns++;
		log_guest_warn("virtio-balloon: inflating past the target of %u pages; refused",
			       b->config.num_pages);
		return;
	}
	flip_bit(b, i);
	b->ballooned++;
	if (b->run_len && gpa == b->run_gpa + b->run_len && b->run_len < (1ull << 30) &&
	    guest_mem_valid(b->dev.mem, b->run_gpa, b->run_len + (1u << PAGE_SHIFT))) {
		b->run_len += 1u << PAGE_SHIFT;
		return;
	}
	flush_run(b);
	b->run_gpa = gpa;
	b->run_len = 1u << PAGE_SHIFT;
}

/* A deflated page is the guest's again: it faults in a fresh page on its next access. */
static void deflate_pfn(struct vballoon *b, uint32_t pfn)
{
	uint64_t i;

	if (guest_mem_page_index(b->dev.mem, (uint64_t)pfn << PAGE_SHIFT, &i) < 0 ||
	    i >= b->ram_pages || !page_bit(b, i)) {
		b->bad_pfns++; /* never inflated (or not RAM): bookkeeping only, so ignored */
		return;
	}
	flip_bit(b, i);
	b->ballooned--;
}

/* A chain of 32-bit little-endian PFNs (4 KiB frames, VIRTIO_BALLOON_PFN_SHIFT). Trailing bytes
 * that make no whole PFN are ignored; at most VIRTIO_BALLOON_MAX_CHAIN_PFNS are looked at. */
static int handle_pfns(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
		       uint64_t *bytes)
{
	struct vballoon *b = to_balloon(dev);
	bool inflate = opaque != NULL;
	uint32_t left = vq_chain_readable(chain) / 4, pfns[PFN_BATCH];

	if (left > VIRTIO_BALLOON_MAX_CHAIN_PFNS)
		left = VIRTIO_BALLOON_MAX_CHAIN_PFNS;
	while (left) {
		uint32_t n = left < PFN_BATCH ? left : PFN_BATCH;

		if (vq_chain_read(chain, dev->mem, pfns, n * 4) < 0)
			break;
		for (uint32_t i = 0; i < n; i++) {
			if (inflate)
				inflate_pfn(b, le32toh(pfns[i]));
			else
				deflate_pfn(b, le32toh(pfns[i]));
		}
		left -= n;
		*bytes += n * 4;
	}
	flush_run(b);
	return VIRTIO_CHAIN_PUSH; /* used len 0: the device writes nothing (5.5.6) */
}

/* ---- free page reporting (5.5.6.7) ---- */

/* Each buffer of the chain is a free range (Linux hands them as device-writable buffers, one
 * per reported block); the device releases the whole pages inside and returns the chain. */
static int handle_report(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
			 uint64_t *bytes)
{
	struct vballoon *b = to_balloon(dev);

	(void)opaque;
	for (uint16_t i = 0; i < chain->nsegs; i++) {
		int64_t done = release(b, chain->segs[i].addr, chain->segs[i].len);

		if (done < 0) {
			log_guest_warn("virtio-balloon: cannot release reported range 0x%llx+%u",
				       (unsigned long long)chain->segs[i].addr, chain->segs[i].len);
			continue;
		}
		b->reported_bytes += (uint64_t)done;
		*bytes += (uint64_t)done;
	}
	return VIRTIO_CHAIN_PUSH;
}

/* ---- statistics (5.5.6.3) ---- */

/* The driver's buffer: struct virtio_balloon_stat entries (le16 tag, le64 value, packed). The
 * device keeps the chain until the next interval: returning it asks for fresh values. */
static int handle_stats(struct virtio_dev *dev, struct vq_chain *chain, void *opaque,
			uint64_t *bytes)
{
	struct vballoon *b = to_balloon(dev);
	struct virtio_balloon_stat st;

	(void)opaque;
	for (unsigned n = 0; n < STAT_MAX && vq_chain_readable(chain) >= sizeof(st); n++) {
		uint16_t tag;

		if (vq_chain_read(chain, dev->mem, &st, sizeof(st)) < 0)
			break;
		*bytes += sizeof(st);
		tag = le16toh(st.tag);
		if (tag >= VIRTIO_BALLOON_S_NR)
			continue; /* a newer driver's statistic: not ours to report */
		b->stats[tag] = le64toh(st.val);
		b->stat_valid[tag] = true;
	}
	b->stats_seen = true;
	b->stats_held = true;
	return VIRTIO_CHAIN_HOLD;
}

static void serve(struct vballoon *b, uint16_t q);

/* Returns the held statistics buffer: the driver refills it and adds it again (5.5.6.3). */
static void request_stats(struct vballoon *b)
{
	struct virtio_dev *dev = &b->dev;
	uint16_t q = balloon_stats_queue(dev);
	int err;

	if (!b->stats_held || q >= dev->num_queues || !virtio_dev_running(dev))
		return;
	b->stats_held = false;
	b->stats_chain.written = 0;
	err = vq_push(&dev->vqs[q], dev->mem, &b->stats_chain);
	if (err < 0) {
		virtio_dev_fail(dev, "statistics queue broken");
		return;
	}
	virtio_dev_count_requests(dev, 1, 0);
	virtio_dev_notify_used(dev, q);
	serve(b, q); /* a buffer the driver added meanwhile is held now */
}

/* ---- serving ---- */

static void serve(struct vballoon *b, uint16_t q)
{
	struct virtio_server s = {.chain = &b->chain};

	switch (queue_role(&b->dev, q)) {
	case ROLE_INFLATE:
	case ROLE_DEFLATE:
		s.max_chains = PFN_BUDGET;
		s.handle = handle_pfns;
		s.opaque = queue_role(&b->dev, q) == ROLE_INFLATE ? b : NULL;
		break;
	case ROLE_STATS:
		if (b->stats_held)
			return; /* one buffer at a time; the next is served after the timer */
		s.chain = &b->stats_chain;
		s.max_chains = 1;
		s.handle = handle_stats;
		break;
	case ROLE_REPORT:
		s.max_chains = REPORT_CHAIN;
		s.handle = handle_report;
		break;
	default:
		return;
	}
	virtio_serve_queue(&b->dev, q, &s);
}

static void balloon_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	serve(to_balloon(dev), q);
}

/* The statistics timer: periodic while the driver has a statistics queue. */
static void arm_timer(struct vballoon *b)
{
	struct itimerspec its = {0};

	if (virtio_dev_running(&b->dev) &&
	    virtio_dev_has_feature(&b->dev, VIRTIO_BALLOON_F_STATS_VQ) && b->stats_interval_s) {
		its.it_value.tv_sec = b->stats_interval_s;
		its.it_interval.tv_sec = b->stats_interval_s;
	}
	if (timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		log_error("virtio-balloon: timerfd_settime: %s", strerror(errno));
}

/* Changes asked for by the API (virtio_balloon_set_target / _set_stats_interval). */
static void apply_requests(struct vballoon *b)
{
	if (b->target_changed) {
		b->target_changed = false;
		virtio_dev_config_changed(&b->dev); /* 5.5.6: the driver rereads num_pages */
	}
	if (b->interval_changed) {
		b->interval_changed = false;
		arm_timer(b);
	}
}

void virtio_balloon_poll(struct virtio_dev *dev, bool timer_fired)
{
	struct vballoon *b = to_balloon(dev);

	if (timer_fired)
		request_stats(b);
	apply_requests(b);
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("virtio-balloon: read: %s", strerror(errno));
}

static void timer_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)revents;
	drain(fd);
	virtio_balloon_poll(dev, true);
}

static void ctl_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)revents;
	drain(fd);
	virtio_balloon_poll(dev, false);
}

static int balloon_activate(struct virtio_dev *dev)
{
	struct vballoon *b = to_balloon(dev);

	if (!b->fds_added) {
		int err = virtio_dev_add_fd(dev, b->timer_fd, EPOLLIN, timer_ready);

		if (!err)
			err = virtio_dev_add_fd(dev, b->ctl_fd, EPOLLIN, ctl_ready);
		if (err) {
			log_error("virtio-balloon: cannot watch its timer: %s", strerror(-err));
			return err;
		}
		b->fds_added = true;
	}
	b->target_changed = b->interval_changed = false;
	arm_timer(b);
	for (uint16_t q = 0; q < dev->num_queues; q++)
		serve(b, q);
	return 0;
}

/* 2.4: the queues are reset by the framework, the held statistics buffer with them. Released
 * pages stay released: the driver starts with an empty balloon and `actual` 0, and a page it
 * never inflates again is simply faulted back in on its next access. */
static void balloon_reset(struct virtio_dev *dev)
{
	struct vballoon *b = to_balloon(dev);

	b->stats_held = false;
	b->config.actual = 0;
	b->ballooned = 0;
	memset(b->bitmap, 0, b->bitmap_words * sizeof(uint64_t));
	arm_timer(b); /* not running: disarms */
}

/* A pause (snapshot, PATCH /vm): give the held statistics buffer back to the ring (vq_unpop: the
 * driver sees nothing) so the queue is quiescent; the next pass pops it again. */
static void balloon_quiesce(struct virtio_dev *dev)
{
	struct vballoon *b = to_balloon(dev);
	uint16_t q = balloon_stats_queue(dev);

	if (!b->stats_held || q >= dev->num_queues)
		return;
	if (vq_unpop(&dev->vqs[q], dev->mem, &b->stats_chain) == 0) {
		b->stats_held = false;
		virtio_dev_reschedule(dev, q);
	}
}

/* 5.5.4: the driver writes only `actual`; other writes are ignored. */
static void balloon_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
				 uint32_t len)
{
	struct vballoon *b = to_balloon(dev);
	const uint32_t at = offsetof(struct virtio_balloon_config, actual);

	if (offset < at || offset + len > at + sizeof(b->config.actual))
		return;
	memcpy((uint8_t *)&b->config + offset, data, len);
}

static void balloon_destroy(struct virtio_dev *dev)
{
	struct vballoon *b = to_balloon(dev);

	if (b->timer_fd >= 0)
		close(b->timer_fd);
	if (b->ctl_fd >= 0)
		close(b->ctl_fd);
	b->timer_fd = b->ctl_fd = -1;
	free(b->bitmap);
	b->bitmap = NULL;
}

static const struct virtio_dev_ops balloon_ops = {
    .activate = balloon_activate,
    .queue_notify = balloon_queue_notify,
    .reset = balloon_reset,
    .config_write = balloon_config_write,
    .quiesce = balloon_quiesce,
    .destroy = balloon_destroy,
    .save = balloon_save,
    .restore = balloon_restore,
};

/* Releasing pages, the statistics timer (sandbox.h). */
static const struct sandbox_rule balloon_rules[] = {
    SB_ALLOW(SYS_madvise),
    SB_ALLOW(SYS_timerfd_settime),
};
static const struct sandbox_list balloon_sandbox = SANDBOX_LIST("virtio-balloon", balloon_rules);

void virtio_balloon_keep_pages(struct virtio_dev *dev)
{
	__atomic_store_n(&to_balloon(dev)->keep_pages, true, __ATOMIC_RELEASE);
}

void virtio_balloon_set_discard(struct virtio_dev *dev, virtio_balloon_discard_fn fn)
{
	to_balloon(dev)->discard = fn ? fn : guest_mem_discard;
}

bool virtio_balloon_is(const struct virtio_dev *dev)
{
	return dev && dev->ops == &balloon_ops;
}

static int make_fds(struct vballoon *b)
{
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	b->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->timer_fd < 0 || b->ctl_fd < 0) {
		int err = -errno;

		log_error("virtio-balloon: %s", strerror(-err));
		return err;
	}
	return 0;
}

static uint64_t offered(const struct virtio_balloon_opts *o)
{
	uint64_t f = VIRTIO_DEV_RING_FEATURES;

	if (o->stats_interval_s)
		f |= 1ull << VIRTIO_BALLOON_F_STATS_VQ;
	if (o->deflate_on_oom)
		f |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (o->free_page_reporting)
		f |= 1ull << VIRTIO_BALLOON_F_REPORTING;
	return f;
}

static void describe(struct vballoon *b, const struct virtio_balloon_opts *o)
{
	b->dev = (struct virtio_dev){
	    .name = "virtio-balloon",
	    .device_id = VIRTIO_ID_BALLOON,
	    .host_features = offered(o),
	    .num_queues = 2 + (o->stats_interval_s ? 1 : 0) + (o->free_page_reporting ? 1 : 0),
	    .queue_max_size = VIRTIO_BALLOON_QUEUE_SIZE,
	    .config = &b->config,
	    .config_len = sizeof(b->config),
	    .ops = &balloon_ops,
	    .sandbox = &balloon_sandbox,
	    .priv = b,
	};
}

int virtio_balloon_create(struct virtio_dev **out, const struct virtio_balloon_opts *o,
			  uint64_t ram_bytes)
{
	struct vballoon *b;

	if (o->target_mib > (ram_bytes >> 20) || o->stats_interval_s > VIRTIO_BALLOON_MAX_STATS_S) {
		log_error("virtio-balloon: a target of %llu MiB is more than the guest's %llu MiB",
			  (unsigned long long)o->target_mib, (unsigned long long)(ram_bytes >> 20));
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->timer_fd = b->ctl_fd = -1;
	b->ram_pages = ram_bytes >> PAGE_SHIFT;
	b->bitmap_words = (b->ram_pages + 63) / 64;
	b->bitmap = calloc(b->bitmap_words ? b->bitmap_words : 1, sizeof(uint64_t));
	if (!b->bitmap || make_fds(b) < 0) {
		b->dev.priv = b;
		balloon_destroy(&b->dev);
		free(b);
		return -ENOMEM;
	}
	b->opts = *o;
	b->discard = guest_mem_discard;
	b->stats_interval_s = o->stats_interval_s;
	b->config.num_pages = htole32((uint32_t)(o->target_mib * VIRTIO_BALLOON_PAGES_PER_MIB));
	describe(b, o);
	*out = &b->dev;
	return 0;
}
