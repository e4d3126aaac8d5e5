/* The option string of one virtio-blk disk, as given to the repeatable `--disk` option:
 *
 *   PATH[,ro][,serial=ID][,cache=writeback|none][,flush=on|off][,discard=on|off]
 *       [,aio=auto|io_uring|sync]
 *       [,bw=SIZE:REFILL_MS[:BURST]][,ops=SIZE:REFILL_MS[:BURST]]
 *       [,num-queues=N][,iothread-cpus=LIST][,id=NAME][,format=raw|qcow2]
 *       [,backing_files=on|off][,backing_dirs=DIR[:DIR...]]
 *
 *   ro        open the file read-only and offer VIRTIO_BLK_F_RO (virtio 1.2 5.2.3)
 *   serial    the GET_ID string, at most VIRTIO_BLK_ID_BYTES (20) bytes (5.2.6)
 *   cache     writeback (default): the host page cache, FLUSH = fdatasync;
 *             none: O_DIRECT (requests not aligned for O_DIRECT go through a second, buffered
 *             descriptor of the same file), FLUSH = fdatasync
 *   flush     on (default): offer VIRTIO_BLK_F_FLUSH (a driver that takes it flushes; one that
 *             does not gets writes synced one by one); off: do not offer it and sync nothing,
 *             Firecracker's cache_type Unsafe (fast, and what the guest wrote may be lost if
 *             the host crashes; a crash of the VMM alone loses nothing: the page cache has it)
 *   discard   on: offer VIRTIO_BLK_F_DISCARD and VIRTIO_BLK_F_WRITE_ZEROES (default off)
 *   bw        bw=SIZE:REFILL_MS[:BURST]: a bandwidth token bucket of SIZE bytes refilled every
 *             REFILL_MS milliseconds, with BURST extra bytes once (Firecracker's rate_limiter
 *             bandwidth {size, refill_time, one_time_burst}); e.g. bw=2M:1000 is 2 MiB/s
 *   ops       ops=SIZE:REFILL_MS[:BURST]: the same for requests (ops=500:1000 is 500 per s)
 *   aio       auto (default): io_uring, or synchronous preadv/pwritev when io_uring cannot be set
 *             up; buffered writes done at once where io_uring would hand them to a worker
 *             (io.h); io_uring: refuse to start without it, every write through it; sync:
 *             always synchronous (tests). The environment variable VMM_BLK_AIO=sync|io_uring
 *             overrides `auto`.
 *   num-queues  1..8 request queues (default 1; more offers VIRTIO_BLK_F_MQ), each served by its
 *             own I/O thread
 *   iothread-cpus  CPUs for those threads, round-robin: ':'-separated CPUs or ranges (0:1, 2-3)
 *   id        the drive's name in the API (Firecracker's drive_id: GET /vm/config, PATCH
 *             /drives/NAME), 1 to VIRTIO_BLK_DRIVE_ID_MAX-1 printable characters, no '/';
 *             without it the API calls the disk "driveN" (N its position). The guest never
 *             sees it.
 *   format    raw: the file is the disk, never probed (a guest may write anything into it);
 *             qcow2: a qcow2 image (virtio/blk/qcow2.h); not given: qcow2 when the file starts
 *             with the qcow2 magic, else raw
 *   backing_files  off (default): a qcow2 image that names a backing file is refused at open
 *             (a hostile image could name any host file: GHSA-jmr4-g2hv-mjj6, Cloud
 *             Hypervisor's option of the same name); on: its backing chain is followed, each
 *             backing file with the format its image records (raw or qcow2, never probed) and
 *             opened beneath the folder of the image that names it, no symbolic link or `..`
 *             below that folder (virtio/blk/qcow2.h)
 *   backing_dirs  more folders, ':'-separated, a backing file may lie beneath (given by
 *             absolute name, or relative to its image's folder without `..`); with
 *             backing_files=on only, at most VIRTIO_BLK_BACKING_DIRS_MAX-1 bytes
 *
 * On the command line the path is the string's first item, a comma in it written ",," (as QEMU:
 * "/a,,b.img,ro" is the path "/a,b.img"); a record (vmm/descriptors/device_record.h) has it as its
 * "path" item, which may hold any text. */
#ifndef VIRTIO_BLK_OPTIONS_H
#define VIRTIO_BLK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/virtio_blk.h>

#include "virtio/core/device.h"
#include "virtio/core/rate_limiter.h"

#define VIRTIO_BLK_DRIVE_ID_MAX	    64	 /* id= bytes, NUL included (the API's id limit) */
#define VIRTIO_BLK_BACKING_DIRS_MAX 1024 /* backing_dirs= bytes, NUL included */

enum virtio_blk_cache { VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_BLK_CACHE_NONE };
enum virtio_blk_aio { VIRTIO_BLK_AIO_AUTO, VIRTIO_BLK_AIO_IO_URING, VIRTIO_BLK_AIO_SYNC };
/* format= (issue 51): auto probes the qcow2 magic; raw never does */
enum virtio_blk_format { VIRTIO_BLK_FORMAT_AUTO, VIRTIO_BLK_FORMAT_RAW, VIRTIO_BLK_FORMAT_QCOW2 };

struct virtio_blk_opts {
	char *path; /* heap copy; virtio_blk_opts_free() releases it */
	bool ro;
	bool has_serial;
	char serial[VIRTIO_BLK_ID_BYTES + 1]; /* NUL-terminated, <= 20 bytes */
	enum virtio_blk_cache cache;
	bool no_flush; /* flush=off */
	bool discard;
	enum virtio_blk_aio aio;
	enum virtio_blk_format format;	      /* format=; AUTO when not given */
	struct rate_limiter_cfg rl;	      /* bw=, ops=; all zero: unlimited */
	unsigned num_queues;		      /* 0 (not given) or 1..8 */
	struct virtio_cpu_list iothread_cpus; /* n == 0: not given */
	char id[VIRTIO_BLK_DRIVE_ID_MAX];     /* id=; "" when not given */
	bool root; /* the guest's root device (the API's is_root_device); the device ignores it */
	bool backing_files;				/* backing_files=on */
	char backing_dirs[VIRTIO_BLK_BACKING_DIRS_MAX]; /* backing_dirs=; "" when not given */
	/* the same folders each NUL-terminated, an empty string after the last (claims) */
	char backing_dir_list[VIRTIO_BLK_BACKING_DIRS_MAX + 1];
	/* Not an option: opened without its flock, which another process still holds (a
	 * migration's destination built beside its source); virtio_blk_take_back() takes it. */
	bool unlocked;
};

/* Parses `spec` into *opts (zeroed first; defaults: writeback, flush on, discard off, aio auto,
 * backing files off). Returns 0, or -EINVAL with a message naming the problem in err[0..errlen)
 * (unknown key, bad value, empty path, serial longer than 20 bytes, bad id, repeated key,
 * backing_dirs= without backing_files=on), or -ENOMEM. On error *opts
 * holds nothing to free. */
int virtio_blk_opts_parse(const char *spec, struct virtio_blk_opts *opts, char *err, size_t errlen);

/* The refusals of the string before it is split into items: an empty path ("", ",ro"), a stray
 * comma after it ("d,", "d,,,": the path "d," then nothing). 0, or -EINVAL with err filled. */
int virtio_blk_opts_check_spec(const char *spec, char *err, size_t errlen);

/* The same from items (base/options.h): the path is the "path" item, the others are the
 * string's keys with its checks and messages. Returns as virtio_blk_opts_parse(). */
struct opt_items;
int virtio_blk_opts_from_items(const struct opt_items *items, struct virtio_blk_opts *opts,
			       char *err, size_t errlen);
/* Appends `o` to `out` as the items virtio_blk_opts_from_items() makes it again from: its path
 * first, then every field that is not its default (`unlocked`, not an option, is not one).
 * 0 or -ENOMEM. */
int virtio_blk_opts_to_items(const struct virtio_blk_opts *o, struct opt_items *out);

void virtio_blk_opts_free(struct virtio_blk_opts *opts);

/* opts' backing_files= and backing_dirs= become `on` and `dirs` ("" for none), checked as the
 * parser checks them. 0, or -EINVAL with err filled and opts unchanged. */
int virtio_blk_opts_set_backing(struct virtio_blk_opts *opts, bool on, const char *dirs, char *err,
				size_t errlen);

#endif
