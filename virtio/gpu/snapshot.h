/* virtio-gpu 2D state in a snapshot (virtio/core/dev_snapshot.h carries it): the resources with
 * their host-side pixels and guest backing lists, the scanouts, the cursor and the mode the
 * device reports. Little-endian, fixed layout, no padding left undefined:
 *
 *   struct gpu_snap_hdr
 *   nres times: struct gpu_snap_res, nbacking struct virtio_gpu_mem_entry (padding zero),
 *               then stride * height bytes of pixels (the host image, in the resource's format)
 *
 * A restore treats the bytes as a guest's commands: every resource goes through
 * RESOURCE_CREATE_2D's checks (id, format, size, the device's memory cap) and its backing through
 * ATTACH_BACKING's (entries inside guest RAM, long enough for the image); scanouts and the cursor
 * must name restored resources, rectangles lie inside them. Nothing changes unless everything
 * passes. Then the scanout is shown again (the display gets the restored picture). */
#ifndef VIRTIO_GPU_SNAPSHOT_H
#define VIRTIO_GPU_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/gpu/cmd.h"

#define GPU_SNAP_MAGIC 0x31555047u /* "GPU1" */

struct gpu_snap_scanout {
	uint32_t enabled; /* 0 or 1; when 0, resource_id and r are zero */
	uint32_t resource_id;
	struct virtio_gpu_rect r;
};

struct gpu_snap_hdr {
	uint32_t magic;
	uint32_t nres;
	uint32_t width, height; /* the mode GET_DISPLAY_INFO reports */
	struct gpu_snap_scanout scanouts[GPU_NUM_SCANOUTS];
	struct gpu_cursor cursor;
	uint32_t reserved; /* zero */
};

struct gpu_snap_res {
	uint32_t id, format, width, height;
	uint32_t nbacking; /* 0: no backing attached */
	uint32_t reserved; /* zero */
};

/* Bytes gpu_state_save() writes for `g` now. */
size_t gpu_state_save_size(const struct gpu_state *g);

/* Writes the state into buf (room for cap bytes), its length in *len. Returns 0 or -ENOSPC. */
int gpu_state_save(const struct gpu_state *g, void *buf, size_t cap, size_t *len);

/* Replaces g's resources, scanouts, cursor and mode with the saved ones (checked as above against
 * guest RAM `mem` and g's memory cap) and redraws the scanout on g's display. Returns 0, or
 * -EINVAL / -ENOMEM with g unchanged. */
int gpu_state_restore(struct gpu_state *g, const struct guest_mem *mem, const void *buf,
		      size_t len);

#endif
