/* virtio-pmem, persistent memory backed by a host file (virtio 1.2 section 5.19): the VMM maps
 * the file into a window of guest physical memory (the config space's `start` and `size`), the
 * guest uses it directly (DAX), and the one queue (req_vq, 0) carries FLUSH requests that ask for
 * the guest's writes to reach stable storage.
 *
 * A FLUSH is answered after fsync() of the file has finished: ret 0, or 1 when it failed (Linux
 * turns any non-zero ret into -EIO). fsync() may take long, so it never runs under the device
 * lock: the device keeps the request's chain (up to VIRTIO_PMEM_MAX_HELD of them), and its flush
 * thread, which takes only its own lock, runs fsync() and signals an eventfd; the device's I/O
 * thread then answers every request the fsync covered. A request covers the writes made before it
 * arrived, so it waits for an fsync that STARTED after it (one fsync answers every request that
 * was waiting for it). A read-only device answers FLUSH at once with 0 (there is nothing to write
 * back). Other request types, a request shorter than 4 bytes: ret 1 at once. A chain without room
 * for the 4-byte response is returned unanswered (used len 0) and nothing is flushed.
 *
 * Locking: dev->lock, then the device's flush lock (lock_order.h); the flush thread takes only
 * the flush lock. The flush thread confines itself (seccomp: fsync and its eventfd write beyond
 * sandbox_base) as an I/O thread does; without its filter it answers every FLUSH with a failure. A
 * pause (ops->quiesce) waits for the fsync in flight and answers its requests, so a snapshot never
 * holds a request.
 *
 * Rate limiting (Firecracker's pmem rate_limiter, virtio/core/rate_limiter.h): each FLUSH takes one
 * ops token and the window's size in bandwidth tokens (the bytes an fsync may write back); a
 * FLUSH the limiter refuses waits in the ring until the device's timer says it would pass. */
#ifndef VIRTIO_PMEM_H
#define VIRTIO_PMEM_H

#include <linux/virtio_pmem.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/device.h"
#include "virtio/core/rate_limiter.h"

#define VIRTIO_PMEM_QUEUE_SIZE 64
#define VIRTIO_PMEM_MAX_HELD   8	    /* FLUSH requests waiting for an fsync at once */
#define VIRTIO_PMEM_ALIGN      (2ull << 20) /* the guest's memory-section alignment for DAX */
#define VIRTIO_PMEM_PATH_MAX   4096

/* What a virtio-pmem I/O thread calls (host/sandbox/sandbox.h): a thread that starts one later,
 * while the VM runs (vmm/vm/hotplug.h), must allow it too (and fsync and write, its flush
 * thread's). */
extern const struct sandbox_list pmem_sandbox;

/* --pmem / PUT /pmem/{id}. */
struct virtio_pmem_opts {
	char path[VIRTIO_PMEM_PATH_MAX];
	bool read_only;
	bool root;   /* the guest's root device: root=/dev/pmem0 on the kernel command line */
	char id[64]; /* id=NAME: the API's PUT /pmem/{id} (kept through snapshots), or "" */
	struct rate_limiter_cfg rl; /* bw=, ops=: the FLUSH requests' rate limiter */
};

/* Parses "path=FILE[,ro][,root][,id=NAME][,bw=S:R[:B]][,ops=S:R[:B]]" (the buckets as --disk's)
 * ("ro=on|off" and "root=on|off" are taken too; NAME by parse_device_id()). Returns 0 or -EINVAL
 * with the reason in `err`. */
int virtio_pmem_opts_parse(const char *arg, struct virtio_pmem_opts *o, char *err, size_t errlen);

struct opt_items;
/* The same from an option's items (base/options.h; a path item may hold commas): the string's
 * keys and checks, none being "expected path=FILE...". 0 or -EINVAL / -ENOMEM with the reason in
 * err; *o is left as it was on failure. */
int virtio_pmem_opts_from_items(const struct opt_items *items, struct virtio_pmem_opts *o,
				char *err, size_t errlen);
/* `o` as the items that make it again with virtio_pmem_opts_from_items(): path, then each field
 * that is not its default. 0 or -ENOMEM. */
int virtio_pmem_opts_to_items(const struct virtio_pmem_opts *o, struct opt_items *out);

/* Allocates the device (free() it after virtio_dev_destroy()) for a file mapped at guest address
 * `start` for `size` bytes (both multiples of VIRTIO_PMEM_ALIGN). The device owns `fd` from here
 * on (it is closed at destroy, or on failure) and fsync()s it for FLUSH. Starts the flush thread.
 * Returns 0, -EINVAL (logged) or -ENOMEM / -errno. */
int virtio_pmem_create(struct virtio_dev **out, int fd, uint64_t start, uint64_t size,
		       bool read_only);

/* The FLUSH requests' rate limiter (before the device runs; NULL or an inactive cfg: none).
 * Returns 0 or -EINVAL. */
int virtio_pmem_set_rate_limiter(struct virtio_dev *dev, const struct rate_limiter_cfg *cfg);

/* A running device's new limits (Firecracker's PATCH /pmem/{id}): the buckets `p` names change;
 * *now (may be NULL) gets the configuration in force after it. Returns 0 or -EINVAL. */
int virtio_pmem_patch_rate_limiter(struct virtio_dev *dev, const struct rate_limiter_patch *p,
				   struct rate_limiter_cfg *now);

/* Test seam: replaces fsync(fd) (runs on the flush thread, no device lock held). NULL restores
 * it. Call before the device is used. */
typedef int (*virtio_pmem_flush_fn)(void *opaque, int fd);

#endif
