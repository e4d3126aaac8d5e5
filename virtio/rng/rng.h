/* virtio-rng, the entropy device (virtio 1.2 section 5.4): one queue (requestq, 0); each chain's
 * device-writable bytes are filled from getrandom() and the used len is the number of bytes
 * written (5.4.6.2 lets the device write fewer than offered, never zero unless the chain has no
 * writable byte). Offered: EVENT_IDX, INDIRECT_DESC, RING_PACKED.
 *
 * getrandom() runs with GRND_NONBLOCK, so the I/O thread never blocks: when the kernel's pool is
 * not initialised yet (EAGAIN) the device retries from a timer. An optional limit (the shared token
 * bucket, virtio/core/rate_limiter.h) caps the bytes: when the bucket is empty the device stops
 * serving and its rl_timer brings it back when tokens have accumulated (no busy wait); a chain
 * gets what the bucket holds, at most. Resetting the device does not refill the bucket.
 *
 * Use:
 *   struct virtio_rng_opts o;
 *   virtio_rng_opts_parse(arg_after_equals_or_NULL, &o, err, errlen);   (--rng=rate=64K,burst=4K)
 *   virtio_rng_create(&dev, &o);
 *   virtio_dev_init(dev, mem); <transport attach>; virtio_dev_start(dev);
 *   ...
 *   virtio_dev_destroy(dev); free(dev); */
#ifndef VIRTIO_RNG_H
#define VIRTIO_RNG_H

#include <stdint.h>
#include <sys/types.h>

#include "virtio/core/device.h"
#include "virtio/core/rate_limiter.h"

#define VIRTIO_RNG_QUEUE_SIZE 256
#define VIRTIO_RNG_MAX_FILL   65536u	/* bytes given to one chain at most */
#define VIRTIO_RNG_RETRY_NS   10000000u /* retry after EAGAIN (entropy pool not ready) */
#define VIRTIO_RNG_MAX_RATE   (1ull << 30)

struct virtio_rng_opts {
	uint64_t rate;	/* bytes per second; 0 = unlimited */
	uint64_t burst; /* bucket size in bytes (default: one second's worth, `rate`) */
	/* bw=, ops=: Firecracker's buckets (bytes, requests), instead of rate=/burst=; all zero:
	 * none. Each chain served is one operation. */
	struct rate_limiter_cfg rl;
};

/* Parses "rate=BYTES_PER_SEC[,burst=BYTES]" or
 * "bw=SIZE:REFILL_MS[:BURST][,ops=SIZE:REFILL_MS[:BURST]]" (virtio/core/rate_limiter.h's buckets,
 * as --disk's; the two forms do not mix); sizes take K/M/G suffixes, binary; NULL or "" is
 * unlimited. Returns 0, or -EINVAL / -ERANGE with the reason in err (base/options.h); *opts is
 * zero on failure. Logs nothing. */
int virtio_rng_opts_parse(const char *arg, struct virtio_rng_opts *opts, char *err, size_t errlen);
/* The same from items (base/options.h), and `o` as the items that make it again (a record:
 * vmm/descriptors/device_record.h). from: as virtio_rng_opts_parse(); to: 0 or -ENOMEM. */
struct opt_items;
int virtio_rng_opts_from_items(const struct opt_items *items, struct virtio_rng_opts *opts,
			       char *err, size_t errlen);
int virtio_rng_opts_to_items(const struct virtio_rng_opts *o, struct opt_items *out);

/* The limit's rule: a burst needs a rate, neither above VIRTIO_RNG_MAX_RATE (burst 0 is "one
 * second's worth"). Returns 0 or -EINVAL with the reason in err (may be NULL). */
int virtio_rng_opts_check(const struct virtio_rng_opts *o, char *err, size_t errlen);

/* Allocates the device (free() it after virtio_dev_destroy()) and fills its description.
 * `opts` may be NULL (unlimited). Returns 0, -EINVAL or -ENOMEM / -errno. */
int virtio_rng_create(struct virtio_dev **out, const struct virtio_rng_opts *opts);

/* Test seam: replaces the entropy source (getrandom(..., GRND_NONBLOCK) semantics: bytes read,
 * or -1 with errno) and the clock (CLOCK_MONOTONIC ns). Either may be NULL to keep the default.
 * Call before the device is used. */
struct virtio_rng_source {
	ssize_t (*read)(void *opaque, void *buf, size_t len);
	uint64_t (*now_ns)(void *opaque);
	void *opaque;
};

#endif
