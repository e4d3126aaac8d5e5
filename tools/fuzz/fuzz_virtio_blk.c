/* libFuzzer target: virtio-blk (virtio/blk/blk.c, io.c, disk.c) behind virtio-mmio, over a
 * memfd disk of a fuzzed size (not always a multiple of 512), read-only or not, with or without
 * discard / a serial, synchronous I/O or the automatic choice (io_uring when the kernel has it;
 * its completions are delivered by the special operation, as the I/O thread would). Requests are
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

static int disk_fd = -1;
static char disk_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (disk_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", disk_fd);
	return 0;
}

static int blk_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t cfg = fz_u8(in);
	uint64_t size = cfg & 0x80 ? fz_u16(in) * 3ull : 512ull * (1 + fz_u8(in));
	if (ftruncate(disk_fd, 0) || ftruncate(disk_fd, (off_t)size))
		abort();
	struct virtio_blk_opts o = {
	    .path = disk_path,
	    .ro = cfg & 1,
	    .discard = cfg & 2,
	    .has_serial = cfg & 4,
	    .cache = VIRTIO_BLK_CACHE_WRITEBACK,
	    .aio = cfg & 8 ? VIRTIO_BLK_AIO_AUTO : VIRTIO_BLK_AIO_SYNC,
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
    .create = blk_create, .destroy = virtio_blk_destroy, .special = blk_special};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &blk_hooks);
}
