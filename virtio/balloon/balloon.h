/* virtio-balloon, the memory balloon (virtio 1.2 section 5.5): the host asks the guest to give
 * back `num_pages` 4 KiB pages; the driver lists the pages it gave (inflateq) or took back
 * (deflateq) and writes the count it holds to `actual`. Pages given back are released on the
 * host (guest_mem_discard(): MADV_DONTNEED, MADV_REMOVE for shared memory), so the VMM's RSS
 * really drops; a page taken back is faulted in again (zeroed) on its next access, so deflating
 * is bookkeeping only (VIRTIO_BALLOON_F_MUST_TELL_HOST is not offered).
 *
 * Optional features, each offered only when configured:
 *   STATS_VQ         the driver's memory statistics, asked for every `stats_interval_s`
 *                    seconds (5.5.6.3): the device keeps the driver's buffer and returns it
 *                    (from a timerfd on the I/O thread) to ask for fresh values;
 *   DEFLATE_ON_OOM   the guest may deflate on its own when it runs out of memory;
 *   REPORTING        free page reporting (5.5.6.7): each chain on reporting_vq lists free
 *                    ranges, which are released like balloon pages.
 *
 * Queues (5.5.2): inflateq 0, deflateq 1, then statsq if STATS_VQ and reporting_vq if
 * REPORTING were negotiated, numbered without gaps (Linux's find_vqs() skips an absent queue
 * without using its index, as QEMU and Firecracker expect): with REPORTING but not STATS_VQ,
 * reporting_vq is queue 2. The device has 2 + (one per such feature offered) queues.
 *
 * A hostile driver: page frame numbers outside RAM or in the MMIO hole are ignored (never
 * madvised), so is a page inflated twice, and pages beyond the target (a driver inflating more
 * than asked) are refused (not released). A bitmap of the ballooned pages keeps this exact.
 *
 * Locking: the API thread calls virtio_balloon_set_target() / _set_stats_interval() /
 * _get_info(), which take dev->lock; changes that must reach the driver (a config interrupt,
 * the stats timer) are carried out on the device's I/O thread, woken through an eventfd. */
#ifndef VIRTIO_BALLOON_H
#define VIRTIO_BALLOON_H

#include <linux/virtio_balloon.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"

#define VIRTIO_BALLOON_QUEUE_SIZE    256   /* Linux needs >= 32 for page reporting */
#define VIRTIO_BALLOON_MAX_STATS_S   86400 /* a day */
#define VIRTIO_BALLOON_PAGES_PER_MIB 256u

struct virtio_balloon_opts {
	uint64_t target_mib;	   /* initial target (Firecracker's amount_mib) */
	uint32_t stats_interval_s; /* 0: no statistics queue */
	bool deflate_on_oom;
	bool free_page_reporting;
};

/* Parses "size=MIB[,stats=SECONDSs][,deflate-on-oom=on|off][,free-page-reporting=on|off]" (size
 * takes M/G suffixes; a bare number is MiB; "stats=5" and "stats=5s" mean the same). Every key
 * is optional, none may repeat. Returns 0 or -EINVAL with the reason in `err`. */
int virtio_balloon_opts_parse(const char *arg, struct virtio_balloon_opts *o, char *err,
			      size_t errlen);
/* The same from items (base/options.h), and `o` as the items that make it again (a record:
 * vmm/descriptors/device_record.h; only what differs from the default). from: as
 * virtio_balloon_opts_parse(); to: 0 or -ENOMEM. */
struct opt_items;
int virtio_balloon_opts_from_items(const struct opt_items *items, struct virtio_balloon_opts *o,
				   char *err, size_t errlen);
int virtio_balloon_opts_to_items(const struct virtio_balloon_opts *o, struct opt_items *out);

/* Allocates the device (free() it after virtio_dev_destroy()) for a guest of `ram_bytes` of RAM
 * (its bitmap of released pages has a bit per 4 KiB page of it; pages past it are refused). The
 * target may not exceed the RAM. Returns 0, -EINVAL (logged) or -ENOMEM / -errno. */
int virtio_balloon_create(struct virtio_dev **out, const struct virtio_balloon_opts *o,
			  uint64_t ram_bytes);

/* What the API reports: the target, the driver's `actual`, the pages released by the device
 * and the last statistics the driver sent (stat_valid[tag] tells which tags it sent). */
struct virtio_balloon_info {
	uint32_t target_pages, actual_pages;
	uint64_t ballooned_pages; /* pages the device holds released (its bitmap) */
	uint64_t reported_bytes;  /* released by free page reporting, in total */
	uint32_t stats_interval_s;
	bool deflate_on_oom, free_page_reporting;
	bool stats_seen; /* the driver sent statistics at least once */
	uint64_t stats[VIRTIO_BALLOON_S_NR];
	bool stat_valid[VIRTIO_BALLOON_S_NR];
};

/* Any thread; takes dev->lock. */
void virtio_balloon_get_info(struct virtio_dev *dev, struct virtio_balloon_info *info);
/* A new target (num_pages); a running driver is told by a config interrupt. Returns 0 or
 * -EINVAL (more than the guest's RAM). Any thread; takes dev->lock. */
int virtio_balloon_set_target(struct virtio_dev *dev, uint64_t mib);
/* A new statistics interval (1 s or more). Returns 0, -EINVAL (0 or too long) or -ENOTSUP (the
 * device has no statistics queue: the interval was 0 at creation). Takes dev->lock. */
int virtio_balloon_set_stats_interval(struct virtio_dev *dev, uint32_t seconds);
/* From now on inflated and reported pages are counted but never given back to the host: a
 * passed-through device's IOMMU pins guest RAM for DMA (vmm/vm/vm_vfio.h), so a page released
 * here would stay pinned anyway, and one faulted in again would no longer be the page the IOMMU
 * maps (QEMU's virtio-balloon does the same beside VFIO). Any thread. */
void virtio_balloon_keep_pages(struct virtio_dev *dev);
/* True when `dev` is a virtio-balloon (the API looks for it among the VM's devices). */
bool virtio_balloon_is(const struct virtio_dev *dev);

/* Test seam: replaces guest_mem_discard() (the fuzzer checks each range instead of releasing its
 * heap). NULL restores the default. Call before the device is used. */
typedef int64_t (*virtio_balloon_discard_fn)(const struct guest_mem *mem, uint64_t gpa,
					     uint64_t len);

#endif
