/* libFuzzer target: virtio-rng (virtio/rng/rng.c) behind virtio-mmio, with a deterministic entropy
 * source whose short reads, EINTR, EAGAIN, EIO and overlong answers come from the input, a fake
 * clock, an optional token-bucket rate limit (fuzzed rate and burst, or an option string through
 * virtio_rng_opts_parse()), timer wakeups and snapshots. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/rng/rng.h"
#include "virtio/rng/rng_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	uint64_t now;
	/* bits 0-1: 0 full reads, 1 short, 2 EINTR once, 3 EAGAIN; bit 2: a broken source that
	 * claims more bytes than asked for; bit 3: EIO */
	uint8_t mode;
	uint32_t calls;
} src;

static ssize_t fake_read(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	src.calls++;
	switch (src.mode & 3) {
	case 1:
		len = len > 7 ? 7 : len;
		break;
	case 2:
		if (src.calls % 3 == 1) {
			errno = EINTR;
			return -1;
		}
		break;
	case 3:
		errno = EAGAIN;
		return -1;
	}
	if (src.mode & 8) {
		errno = EIO;
		return -1;
	}
	memset(buf, 0x5a, len);
	return (ssize_t)(src.mode & 4 ? len + 5 : len);
}

static uint64_t fake_now(void *opaque)
{
	(void)opaque;
	return src.now;
}

static int rng_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	struct virtio_rng_opts o = {0};
	uint8_t cfg = fz_u8(in);
	if (cfg & 4) { /* as --rng=ARG gives them: through the option parser */
		char arg[48] = {0}, perr[128];
		fz_bytes(in, arg, fz_u8(in) % sizeof(arg));
		if (virtio_rng_opts_parse(arg, &o, perr, sizeof(perr)))
			return -1;
	} else if (cfg & 1) {
		o.rate = 1 + fz_u16(in);
		o.burst = cfg & 2 ? fz_u16(in) : 0;
	}
	src.now = 1000000000ull;
	src.mode = 0;
	src.calls = 0;
	if (virtio_rng_create(out, &o))
		return -1;
	virtio_rng_set_source(*out, &(struct virtio_rng_source){fake_read, fake_now, NULL});
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void rng_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
}

/* Time passes (the rate limiter's timerfd may fire), the source changes behaviour. */
static void rng_special(struct virtio_dev *dev, struct fz_in *in)
{
	src.now += (uint64_t)fz_u16(in) * 100000;
	src.mode = fz_u8(in);
	if (src.mode & 0x80)
		fz_dev_wake_fds(dev);
	else
		fz_dev_run_fds(dev);
}

static const struct fz_dev_hooks rng_hooks = {
    .create = rng_create, .destroy = rng_destroy, .special = rng_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &rng_hooks);
}
