/* libFuzzer target: virtio-blk (virtio/blk/blk.c, io.c, disk.c) behind virtio-mmio, over a
 * memfd disk of a fuzzed size (not always a multiple of 512), or a real file with cache=none
 * (O_DIRECT), read-only or not, with or without discard / a serial, 1 to 4 request queues,
 * synchronous I/O or the automatic choice (io_uring when the kernel has it; its completions are
 * delivered by the special operation, as the I/O thread would), and snapshots. Requests are
 * built by the harness's FZ_DRV_ADD_REQUEST: a header and payload from the input, split over
 * up to three readable buffers, then writable buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/blk/blk.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* [0] a memfd; [1] a file in the temporary directory, for cache=none (O_DIRECT, which a memfd
 * refuses) */
static int disk_fd[2] = {-1, -1};
static char disk_path[2][64];

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
	for (int i = 0; i < 2; i++)
		snprintf(disk_path[i], sizeof(disk_path[i]), "/proc/self/fd/%d", disk_fd[i]);
	return 0;
}

static int blk_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t cfg = fz_u8(in);
	/* bit 6: a second byte: queues 1..4 (bits 0-1), cache=none on a real file (bit 4) */
	uint8_t more = cfg & 0x40 ? fz_u8(in) : 0;
	int disk = more & 0x10 ? 1 : 0;
	uint64_t size = cfg & 0x80 ? fz_u16(in) * 3ull : 512ull * (1 + fz_u8(in));
	if (ftruncate(disk_fd[disk], 0) || ftruncate(disk_fd[disk], (off_t)size))
		abort();
	struct virtio_blk_opts o = {
	    .path = disk_path[disk],
	    .ro = cfg & 1,
	    .discard = cfg & 2,
	    .has_serial = cfg & 4,
	    .cache = disk ? VIRTIO_BLK_CACHE_NONE : VIRTIO_BLK_CACHE_WRITEBACK,
	    .aio = cfg & 8 ? VIRTIO_BLK_AIO_AUTO : VIRTIO_BLK_AIO_SYNC,
	    .num_queues = 1 + (more & 3),
	};
	if (o.has_serial)
		fz_bytes(in, o.serial, fz_u8(in) % (sizeof(o.serial) - 1));
	return virtio_blk_create(out, &o, mem) ? -1 : 0;
}

static void blk_special(struct virtio_dev *dev, struct fz_in *in)
{
	(void)in;
	fz_dev_run_fds(dev); /* io_uring completions */
}

static const struct fz_dev_hooks blk_hooks = {
    .create = blk_create, .destroy = virtio_blk_destroy, .special = blk_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &blk_hooks);
}
