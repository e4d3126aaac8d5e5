/* virtio-balloon in a snapshot (virtio/core/dev_snapshot.h). See virtio/balloon/internal.h.
 *
 * Saved: the target, the driver's `actual`, the statistics interval and last values, and the
 * configuration (to be compared). The held statistics buffer is not in flight at a save: the
 * pause gave it back to the ring (balloon_quiesce), and the kick after a restore pops it again.
 * Not saved: the bitmap of released pages (up to 2^20 words; the state must stay small). After a
 * restore the device counts pages from zero: pages ballooned before the snapshot and deflated
 * after it are ignored as never inflated (bookkeeping only), and the refusal of pages past the
 * target counts only the pages inflated since the restore. Nothing else depends on it. */
#include "virtio/balloon/internal.h"

#include <errno.h>
#include <string.h>

struct virtio_balloon_state {
	uint32_t num_pages, actual; /* little endian, as in the config space */
	uint32_t stats_interval_s, configured_interval_s;
	uint8_t deflate_on_oom, free_page_reporting, stats_seen, reserved;
	uint8_t stat_valid[VIRTIO_BALLOON_S_NR];
	uint8_t reserved2[2];
	uint64_t stats[VIRTIO_BALLOON_S_NR];
	uint64_t reported_bytes;
};

int balloon_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vballoon *b = to_balloon(dev);
	struct virtio_balloon_state st;

	if (b->stats_held)
		return -EBUSY; /* not quiesced */
	if (cap < sizeof(st))
		return -ENOSPC;
	memset(&st, 0, sizeof(st));
	st.num_pages = b->config.num_pages;
	st.actual = b->config.actual;
	st.stats_interval_s = b->stats_interval_s;
	st.configured_interval_s = b->opts.stats_interval_s;
	st.deflate_on_oom = b->opts.deflate_on_oom;
	st.free_page_reporting = b->opts.free_page_reporting;
	st.stats_seen = b->stats_seen;
	for (int i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
		st.stat_valid[i] = b->stat_valid[i];
		st.stats[i] = b->stats[i];
	}
	st.reported_bytes = b->reported_bytes;
	memcpy(buf, &st, sizeof(st));
	*len = sizeof(st);
	return 0;
}

/* The same features as this device's (statistics on or off, deflate-on-oom, reporting), a
 * target within its RAM and a usable interval, or none without statistics (GET /balloon would
 * report it, and GET /balloon/statistics answer for a device that has no statistics). */
static bool state_ok(const struct vballoon *b, const struct virtio_balloon_state *st)
{
	bool stats_on = b->opts.stats_interval_s != 0;

	if ((st->configured_interval_s != 0) != stats_on ||
	    st->deflate_on_oom != b->opts.deflate_on_oom ||
	    st->free_page_reporting != b->opts.free_page_reporting || st->stats_seen > 1)
		return false;
	if (le32toh(st->num_pages) > b->ram_pages)
		return false;
	if (stats_on
		? st->stats_interval_s == 0 || st->stats_interval_s > VIRTIO_BALLOON_MAX_STATS_S
		: st->stats_interval_s != 0)
		return false;
	for (int i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
		if (st->stat_valid[i] > 1)
			return false;
	}
	return true;
}

int balloon_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vballoon *b = to_balloon(dev);
	struct virtio_balloon_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st));
	if (!state_ok(b, &st))
		return -EINVAL;
	b->config.num_pages = st.num_pages;
	b->config.actual = st.actual;
	b->opts.target_mib = le32toh(st.num_pages) / VIRTIO_BALLOON_PAGES_PER_MIB;
	b->stats_interval_s = st.stats_interval_s;
	b->stats_seen = st.stats_seen;
	for (int i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
		b->stat_valid[i] = st.stat_valid[i];
		b->stats[i] = st.stats[i];
	}
	b->reported_bytes = st.reported_bytes;
	b->ballooned = 0;
	memset(b->bitmap, 0, b->bitmap_words * sizeof(uint64_t));
	return 0;
}
