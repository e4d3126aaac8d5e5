/* A test device for transport tests: every chain's device-readable bytes are copied back into its
 * device-writable bytes. It counts kicks, resets and the interrupts it raises, so the virtio-mmio
 * and virtio-pci tests drive the same device through their register files. */
#ifndef TESTS_ECHO_DEVICE_H
#define TESTS_ECHO_DEVICE_H

#include "virtio/core/device.h"

#define ECHO_DEVICE_ID 42

struct echo_device {
	struct virtio_dev dev;
	uint8_t config[8]; /* 01 02 .. 08, read-only */
	int notifies;	   /* queue_notify calls */
	int resets;	   /* ops->reset calls */
	int raised;	   /* used-buffer interrupts (dev->irq as set here) */
	int raised_config; /* config-change interrupts */
};

/* Describes `e` (num_queues queues of at most 64 entries, EVENT_IDX offered, kicks served by
 * virtio_dev_process_pending(), interrupts counted in `raised`/`raised_config` until a transport
 * replaces dev->irq) and runs virtio_dev_init() over `mem`. Returns its result. */
int echo_device_init(struct echo_device *e, uint16_t num_queues, const struct guest_mem *mem);

#endif
