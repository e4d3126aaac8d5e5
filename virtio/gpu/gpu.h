/* virtio-gpu, 2D only (virtio 1.2 section 5.7): controlq (0) and cursorq (1), one scanout, no
 * feature bit of its own (no VIRGL, EDID, blobs, context init). Commands are served inline on the
 * device's I/O thread by virtio/gpu/cmd.c; the scanout is shown through a struct display
 * (host/ui/display.h), which the SDL window and the screenshot read.
 *
 * Config space (5.7.4): events_read, events_clear (write-1-to-clear), num_scanouts = 1,
 * num_capsets = 0. When the viewer asks for another screen size (window resized) the device sets
 * VIRTIO_GPU_EVENT_DISPLAY in events_read and raises a config-change interrupt; the driver then
 * asks GET_DISPLAY_INFO again (Linux does).
 *
 * Use:
 *   virtio_gpu_create(&dev, display, 0);     display may be NULL (nothing shown)
 *   virtio_dev_init(dev, mem); <transport attach>; virtio_dev_start(dev);
 *   ...
 *   virtio_dev_destroy(dev); free(dev);      (before display_destroy) */
#ifndef VIRTIO_GPU_H
#define VIRTIO_GPU_H

#include <stdint.h>

#include "host/ui/display.h"
#include "virtio/core/device.h"

#define VIRTIO_GPU_QUEUE_SIZE 256
#define VIRTIO_GPU_CONTROLQ   0
#define VIRTIO_GPU_CURSORQ    1

/* Allocates the device (free() it after virtio_dev_destroy()). `mem_cap` bounds the host memory
 * of all resources together (0: GPU_RES_DEFAULT_CAP). Returns 0 or -ENOMEM. */
int virtio_gpu_create(struct virtio_dev **out, struct display *disp, uint64_t mem_cap);

#endif
