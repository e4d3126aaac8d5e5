/* virtio-input (virtio 1.2 section 5.8): a keyboard or a tablet (absolute pointer) whose events
 * come from a struct input_queue (virtio/input/events.h) fed by the host (the SDL window, an
 * input script). Queues: eventq (0), where each device-writable buffer receives one
 * struct virtio_input_event; statusq (1), where the driver sends LED states, accepted and logged.
 * Events wait in the host queue until the guest supplies eventq buffers, also across a device
 * reset. Config space: virtio/input/config.h.
 *
 * Use:
 *   input_queue_init(&q);
 *   virtio_input_create(&dev, INPUT_KEYBOARD, &q);
 *   virtio_dev_init(dev, mem); <transport attach>; virtio_dev_start(dev);
 *   ...
 *   virtio_dev_destroy(dev); free(dev); input_queue_destroy(&q); */
#ifndef VIRTIO_INPUT_H
#define VIRTIO_INPUT_H

#include "virtio/core/device.h"
#include "virtio/input/config.h"
#include "virtio/input/events.h"

#define VIRTIO_INPUT_QUEUE_SIZE 64
#define VIRTIO_INPUT_EVENTQ	0
#define VIRTIO_INPUT_STATUSQ	1

/* Allocates the device (free() it after virtio_dev_destroy()); `events` must outlive it.
 * Returns 0 or -ENOMEM. */
int virtio_input_create(struct virtio_dev **out, enum input_kind kind, struct input_queue *events);

/* Reads an input script and queues its events (for tests and scripted demos). One command per
 * line, '#' starts a comment, numbers in decimal or 0x hex:
 *   key CODE VALUE    keyboard: EV_KEY CODE VALUE (1 press, 0 release, 2 repeat), SYN_REPORT
 *   btn CODE VALUE    tablet: EV_KEY CODE VALUE (BTN_LEFT = 0x110 ...), SYN_REPORT
 *   abs X Y           tablet: ABS_X X, ABS_Y Y (0..32767), SYN_REPORT
 *   wheel N           tablet: REL_WHEEL N, SYN_REPORT
 * Either queue may be NULL when the script does not use it. Returns 0, or -EINVAL (bad line,
 * logged with its number), -ENOSPC (too many events) or -errno (file). */
int virtio_input_load_script(const char *path, struct input_queue *keyboard,
			     struct input_queue *tablet);

#endif
