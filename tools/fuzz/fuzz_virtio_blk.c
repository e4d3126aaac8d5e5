/* libFuzzer target: virtio-blk (virtio/blk/blk.c, io.c, disk.c) behind virtio-mmio, over a
 * memfd disk of a fuzzed size (not always a multiple of 512), or a real file with cache=none
 * (O_DIRECT), read-only or not, with or without discard / a serial, 1 to 4 request queues,
 * synchronous I/O or the automatic choice (io_uring when the kernel has it; its completions are
 * delivered by the special operation, as the I/O thread would), and snapshots. Requests are
 * built by the harness's FZ_DRV_ADD_REQUEST: a header and payload from the input, split over
 * up to three readable buffers, then writable buffers. The special operation also changes the
 * host side under the running disk: the image shrinks or grows (reads past the new end: EOF),
 * the rate limiter is patched (down to a few bytes or one request per refill: the queue stalls
 * and its timer serves it again), the disk is replaced by the other image or a path that cannot
 * be opened, a second device tries the same image (locked), a missing file, a character
 * device and a directory (each must be refused), and the disk is handed over as for a
 * migration (paused, its lock dropped: a destination device on the image must open; taking it
 * back works only once the destination let go, or when both are read-only).
 *
 * Host conditions at creation (an extra configuration byte): the real file without O_DIRECT
 * (the page cache: io_uring's inline reads, short transfers at a shrunk end), the VMM_BLK_AIO
 * override (sync, io_uring, or a word it does not know) and a limit on open files a few
 * descriptors above those in use (RLIMIT_NOFILE, the first creation only): every fd the device
 * opens may be the one refused, and creation must then fail cleanly (ASan sees any leak). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/blk_test.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* [0] a memfd; [1] a file in the temporary directory, for cache=none (O_DIRECT, which a memfd
 * refuses) */
static int disk_fd[2] = {-1, -1};
static char disk_path[2][64];
static int cur_disk;	  /* the image the device was created on */
static bool cur_ro;	  /* and whether read-only */
static bool first_create; /* the input's first creation (a snapshot creates again) */
static char dir_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char tmpl[256];
	snprintf(tmpl, sizeof(tmpl), "%s/fuzz-disk-XXXXXX", dir);
	disk_fd[0] = memfd_create("fuzz-disk", MFD_CLOEXEC);
	disk_fd[1] = mkstemp(tmpl);
	if (disk_fd[0] < 0 || disk_fd[1] < 0) {
		perror("fuzz_virtio_blk: disk");
		abort();
	}
	unlink(tmpl); /* reached through /proc/self/fd, gone when the fuzzer exits */
	snprintf(dir_path, sizeof(dir_path), "%s", dir);
	for (int i = 0; i < 2; i++)
		snprintf(disk_path[i], sizeof(disk_path[i]), "/proc/self/fd/%d", disk_fd[i]);
	return 0;
}

/* Creates the device with the VMM_BLK_AIO override `aio_env` (0: none) and, when fds > 0, at
 * most fds - 1 more descriptors open. */
static int create_under(struct virtio_dev **out, const struct virtio_blk_opts *o,
			const struct guest_mem *mem, unsigned aio_env, unsigned fds)
{
	static const char *const env[] = {NULL, "sync", "io_uring", "threads"};
	struct rlimit old, lim;
	int low = fds ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1; /* the lowest free fd */
	if (low >= 0)
		close(low);
	if (env[aio_env % 4])
		setenv("VMM_BLK_AIO", env[aio_env % 4], 1);
	bool limited = low >= 0 && !getrlimit(RLIMIT_NOFILE, &old);
	if (limited) {
		lim = (struct rlimit){(rlim_t)low + fds - 1, old.rlim_max};
		limited = !setrlimit(RLIMIT_NOFILE, &lim);
	}
	int r = virtio_blk_create(out, o, mem);
	if (limited && setrlimit(RLIMIT_NOFILE, &old))
		abort();
	unsetenv("VMM_BLK_AIO");
	return r;
}

static int blk_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t cfg = fz_u8(in);
	/* bit 6: a second byte: queues 1..4 (bits 0-1), bit 3: host conditions (another byte),
	 * cache=none on a real file (bit 4) */
	uint8_t more = cfg & 0x40 ? fz_u8(in) : 0;
	/* host: bits 0-1 the VMM_BLK_AIO override, bit 2 the real file through the page cache,
	 * bits 4-7 a limit of (n - 1) more open files (0: none) */
	uint8_t host = more & 8 ? fz_u8(in) : 0;
	int disk = more & 0x10 || host & 4 ? 1 : 0;
	cur_disk = disk;
	cur_ro = cfg & 1;
	uint64_t size = cfg & 0x80 ? fz_u16(in) * 3ull : 512ull * (1 + fz_u8(in));
	if (ftruncate(disk_fd[disk], 0) || ftruncate(disk_fd[disk], (off_t)size))
		abort();
	struct virtio_blk_opts o = {
	    .path = disk_path[disk],
	    .ro = cfg & 1,
	    .discard = cfg & 2,
	    .has_serial = cfg & 4,
	    .cache = more & 0x10 ? VIRTIO_BLK_CACHE_NONE : VIRTIO_BLK_CACHE_WRITEBACK,
	    .aio = cfg & 8 ? VIRTIO_BLK_AIO_AUTO : VIRTIO_BLK_AIO_SYNC,
	    .num_queues = 1 + (more & 3),
	};
	if (o.has_serial)
		fz_bytes(in, o.serial, fz_u8(in) % (sizeof(o.serial) - 1));
	unsigned fds = first_create ? host >> 4 : 0;
	first_create = false;
	return create_under(out, &o, mem, host & 3, fds) ? -1 : 0;
}

/* The image changes size under the running disk (the device keeps its capacity: reads past
 * the new end find EOF). */
static void resize_image(struct fz_in *in)
{
	uint64_t size = fz_bool(in) ? fz_u16(in) : 512ull * fz_u8(in);
	if (ftruncate(disk_fd[cur_disk], (off_t)size))
		abort();
}

/* PATCH /drives rate_limiter: a bucket of a few bytes or requests refilled every few ms, or off. */
static void patch_limiter(struct virtio_dev *dev, struct fz_in *in)
{
	struct rate_limiter_patch p = {.has_bw = fz_bool(in), .has_ops = fz_bool(in)};
	struct rl_bucket_cfg *b[] = {&p.cfg.bw, &p.cfg.ops};
	for (int i = 0; i < 2; i++) {
		uint8_t m = fz_u8(in);
		*b[i] = (struct rl_bucket_cfg){0};
		if (m & 1) { /* else 0: the bucket off */
			b[i]->size = 1 + fz_u8(in) * (i ? 1u : 512u);
			b[i]->refill_ms = 1 + m % 16;
			b[i]->one_time_burst = m & 2 ? fz_u8(in) : 0;
		}
	}
	virtio_blk_patch_rate_limiter(dev, &p, NULL);
}

/* Paths a disk cannot be opened from: the live image (locked by the device), a missing file, a
 * character device, a directory. A second device on any of them must be refused; the running
 * disk may be replaced by the other image, or not by the bad paths. */
static void open_elsewhere(struct virtio_dev *dev, const struct guest_mem *mem, struct fz_in *in)
{
	char missing[96];
	snprintf(missing, sizeof(missing), "%s/fuzz-disk-missing", dir_path);
	const char *paths[] = {disk_path[cur_disk], missing, "/dev/null", dir_path,
			       disk_path[!cur_disk]};
	uint8_t m = fz_u8(in);
	const char *path = paths[m % 5];
	if (m & 8) {
		int r = virtio_blk_replace_disk(dev, path);
		FZ_ASSERT(m % 5 == 4 || m % 5 == 0 || r < 0, "replaced by %s", path);
		if (r == 0 && m % 5 == 4)
			cur_disk = !cur_disk;
		return;
	}
	if (m % 5 == 4)
		return; /* not locked by us: a second device could open it */
	struct virtio_blk_opts o = {.path = (char *)path, .ro = m & 16, .num_queues = 1};
	struct virtio_dev *other;
	int r = virtio_blk_create(&other, &o, mem);
	FZ_ASSERT(r < 0 || o.ro, "a second disk on %s was created", path);
	if (r == 0)
		virtio_blk_destroy(other);
}

/* A migration's disk hand-over (vm_migrate.c): the device paused, its lock dropped for the
 * destination, then taken back (the migration failed). A destination device on the image must
 * open meanwhile; taking the lock back while it holds the image works only when both are
 * read-only (shared locks). */
static void hand_over(struct virtio_dev *dev, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t m = fz_u8(in);
	virtio_dev_pause(dev);
	int r = virtio_blk_hand_over(dev);
	FZ_ASSERT(r == 0, "hand-over failed: %d", r);
	if (m & 1) {
		struct virtio_blk_opts o = {
		    .path = disk_path[cur_disk], .ro = m & 2, .num_queues = 1};
		struct virtio_dev *dest;
		r = virtio_blk_create(&dest, &o, mem);
		FZ_ASSERT(r == 0, "the destination could not open the image handed over: %d", r);
		if (m & 4) {
			r = virtio_blk_take_back(dev);
			FZ_ASSERT((r == 0) == (cur_ro && o.ro),
				  "took the image back (%d) from a destination holding it", r);
			if (r == 0)
				virtio_blk_hand_over(dev);
		}
		virtio_blk_destroy(dest);
	}
	r = virtio_blk_take_back(dev);
	FZ_ASSERT(r == 0, "could not take back an image nobody holds: %d", r);
	virtio_dev_resume(dev);
}

static void blk_special(struct virtio_dev *dev, struct fz_in *in)
{
	switch (fz_u8(in) % 8) {
	case 0:
		resize_image(in);
		break;
	case 1:
		patch_limiter(dev, in);
		break;
	case 2:
		open_elsewhere(dev, dev->mem, in);
		break;
	case 3: /* every fd's handler, ready or not: the limiter's timer before it fires */
		fz_dev_wake_fds(dev);
		break;
	case 4:
		hand_over(dev, dev->mem, in);
		break;
	}
	fz_dev_run_fds(dev); /* io_uring completions, the limiter's timer */
}

static const struct fz_dev_hooks blk_hooks = {
    .create = blk_create, .destroy = virtio_blk_destroy, .special = blk_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	first_create = true;
	return fz_dev_run(data, size, &blk_hooks);
}
