/* The virtio device fuzz harness: a device model behind the virtio-mmio register file
 * (virtio/transport/virtio_mmio.h) serving kicks with virtio_dev_process_pending(), over fake guest
 * RAM, driven by a program decoded from the input: the legal bring-up sequence (3.1.1), raw
 * register reads and writes of any offset and width, status writes and resets in the middle of I/O,
 * notifies, and fuzz_drv.h operations on the rings of every queue (legal chains, device requests
 * carrying input bytes, scribbles), and snapshots taken at any moment and restored from a state
 * that may have been altered (the state file is untrusted). Used by fuzz_virtio_mmio (an echo
 * device) and the virtio-blk / console / rng targets. */
#ifndef TOOLS_FUZZ_FUZZ_VIRTIO_DEV_H
#define TOOLS_FUZZ_FUZZ_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/fuzz/fuzz_input.h"
#include "virtio/core/device.h"

struct fz_dev_hooks {
	/* Builds the device over `mem` and calls virtio_dev_init(); may read configuration
	 * bytes from `in`. Returns 0 or negative (the input is then skipped). */
	int (*create)(struct virtio_dev **dev, const struct guest_mem *mem, struct fz_in *in);
	void (*destroy)(struct virtio_dev *dev);
	/* Optional device-specific operation (host input, backend completions...), called with
	 * dev->lock NOT held. */
	void (*special)(struct virtio_dev *dev, struct fz_in *in);
	/* The target can take a snapshot at any moment: the device is saved, destroyed, created
	 * again from the same configuration bytes and restored from the (maybe altered) state. */
	bool snapshot;
};

int fz_dev_run(const uint8_t *data, size_t size, const struct fz_dev_hooks *hooks);

/* For special hooks that build device requests of their own (structured, aimed at the device's
 * state): the driver adds one chain to queue q of the device being fuzzed and kicks the queue; the
 * device serves it at once. The chain: `len` bytes of `req` in one or two readable buffers (split
 * where `in` says; none when len is 0), then `bulk` more readable bytes of whatever the buffer
 * heap holds (buffers of at most the heap's size, so one RAM range may appear more than once:
 * large payloads from small RAM), then a writable buffer of `wlen` bytes (none when 0). Buffers
 * lie in the driver's heap at offsets from `in`. Returns the writable buffer's guest address (1
 * when wlen is 0), or 0 when nothing was added: the device is not running, queue q is not ready,
 * or the buffers do not fit. Call with dev->lock not held. */
uint64_t fz_dev_submit(struct fz_in *in, uint16_t q, const void *req, uint32_t len, uint32_t bulk,
		       uint32_t wlen);

#endif
