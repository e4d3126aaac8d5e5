/* virtio-gpu 2D command processing (virtio 1.2 section 5.7.6): decodes one request copied out of a
 * controlq or cursorq chain, runs it against the resources (virtio/gpu/res.h) and the scanout,
 * and builds the response. No virtqueue here: the device (virtio/gpu/gpu.c) moves bytes, this file
 * gives them meaning, so unit tests and fuzzers feed it requests directly.
 *
 * Commands: GET_DISPLAY_INFO, RESOURCE_CREATE_2D, RESOURCE_UNREF, SET_SCANOUT, RESOURCE_FLUSH,
 * TRANSFER_TO_HOST_2D, RESOURCE_ATTACH_BACKING, RESOURCE_DETACH_BACKING on the controlq;
 * UPDATE_CURSOR, MOVE_CURSOR on the cursorq (accepted and recorded; the host draws no cursor).
 * Anything else (3D, capsets, EDID, blobs: features not offered) answers ERR_UNSPEC. A request
 * shorter than its command's structure answers ERR_UNSPEC. Responses echo the FENCE flag, the
 * fence id and the context id (5.7.6.7): commands complete before the response is written, so a
 * fence is always already signalled. */
#ifndef VIRTIO_GPU_CMD_H
#define VIRTIO_GPU_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "host/ui/display.h"
#include "virtio/gpu/res.h"

#define GPU_NUM_SCANOUTS 1
/* Largest request read from a chain: ATTACH_BACKING with GPU_MAX_ENTRIES entries. */
#define GPU_REQ_MAX                                                                                \
	(sizeof(struct virtio_gpu_resource_attach_backing) +                                       \
	 GPU_MAX_ENTRIES * sizeof(struct virtio_gpu_mem_entry))
/* Largest response: the display info. */
#define GPU_RESP_MAX sizeof(struct virtio_gpu_resp_display_info)

struct gpu_scanout {
	bool enabled;
	uint32_t resource_id;
	struct virtio_gpu_rect r; /* the part of the resource shown */
};

struct gpu_cursor {
	uint32_t resource_id;
	uint32_t x, y, hot_x, hot_y;
};

struct gpu_state {
	struct gpu_res_table res;
	struct gpu_scanout scanouts[GPU_NUM_SCANOUTS];
	struct gpu_cursor cursor;
	struct display *disp;	/* may be NULL: commands run, nothing is shown */
	uint32_t width, height; /* the mode GET_DISPLAY_INFO reports */
};

/* Empty state showing on `disp` (NULL allowed) with a width x height preferred mode (from the
 * display when it is given) and a host-memory cap for resources (0: default). */
void gpu_state_init(struct gpu_state *g, struct display *disp, uint64_t cap);
/* Device reset: every resource freed, the scanouts disabled (the display goes dark). */
void gpu_state_reset(struct gpu_state *g);

/* Shows every enabled scanout again, whole: the display sized to its rect and filled from the
 * host image (after a snapshot restore put the state back without any SET_SCANOUT). A display
 * that cannot take the size turns the scanout off, as SET_SCANOUT would. */
void gpu_scanout_redraw(struct gpu_state *g);

/* Runs the request req[0, req_len) and writes the response to resp (resp_cap >= GPU_RESP_MAX).
 * Returns the response length. */
size_t gpu_cmd_exec(struct gpu_state *g, const struct guest_mem *mem, const void *req,
		    size_t req_len, void *resp, size_t resp_cap);

#endif
