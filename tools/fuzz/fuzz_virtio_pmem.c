/* libFuzzer target: virtio-pmem (virtio/pmem) behind virtio-mmio, read-only or not. req_vq
 * gets whatever the input builds (the seeds carry FLUSH requests); the flush thread runs a
 * stand-in for fsync() that fails when the input says so, and the special operation waits for
 * it and runs the device's eventfd (the answers), wakes the eventfd spuriously, or pauses the
 * device (held requests answered) and saves and restores its state. Snapshots are taken by the
 * harness too. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/pmem/pmem.h"
#include "virtio/pmem/pmem_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Atomic int flush_result;

static int fake_flush(void *opaque, int fd)
{
	(void)opaque;
	(void)fd;
	return flush_result;
}

static int pmem_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	uint8_t cfg = fz_u8(in);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	flush_result = 0;
	if (fd < 0 || virtio_pmem_create(out, fd, 0x200000000ull, 2ull << 20 << (cfg % 4), cfg & 4))
		return -1;
	virtio_pmem_set_flush(*out, fake_flush, NULL);
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void pmem_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
}

/* A pause (held requests answered), a save, and the state put back into the device. */
static void save_restore(struct virtio_dev *dev)
{
	uint8_t buf[256];
	size_t len = 0;

	pthread_mutex_lock(&dev->lock);
	dev->ops->quiesce(dev);
	FZ_ASSERT(dev->ops->save(dev, buf, sizeof(buf), &len) == 0, "quiesced, yet not saved");
	FZ_ASSERT(dev->ops->restore(dev, buf, len) == 0, "its own state refused");
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

static void pmem_special(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t op = fz_u8(in);

	switch (op % 4) {
	case 0:
		virtio_pmem_wait_idle(dev);
		fz_dev_run_fds(dev);
		break;
	case 1:
		fz_dev_wake_fds(dev);
		break;
	case 2:
		flush_result = op & 0x80 ? -5 : 0; /* -EIO */
		break;
	default:
		save_restore(dev);
		break;
	}
}

static const struct fz_dev_hooks pmem_hooks = {
    .create = pmem_create, .destroy = pmem_destroy, .special = pmem_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &pmem_hooks);
}
