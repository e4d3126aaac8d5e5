/* virtio-gpu 2D resources (virtio 1.2 section 5.7.6.8): the table of host-side images the
 * driver creates, their guest backing (a scatter list of guest-physical pages) and the copy from
 * that backing into the host image (TRANSFER_TO_HOST_2D).
 *
 * Everything here is driven by hostile input. A backing entry is validated against guest RAM when
 * it is attached and again, through guest_mem_read(), on every transfer: no host pointer into
 * guest RAM is kept. Sizes are overflow-checked, dimensions bounded, and the host memory all
 * resources take together is capped (GPU_RES_DEFAULT_CAP, or the cap given to gpu_res_init()).
 *
 * Every operation returns a virtio-gpu response type: VIRTIO_GPU_RESP_OK_NODATA, or one of the
 * VIRTIO_GPU_RESP_ERR_* codes the device sends back unchanged. Not thread-safe: the device's
 * lock serialises. */
#ifndef VIRTIO_GPU_RES_H
#define VIRTIO_GPU_RES_H

#include <linux/virtio_gpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define GPU_BPP		    4		 /* every 2D format of 5.7.6.8 is 32 bits per pixel */
#define GPU_MAX_DIM	    16384	 /* widest / tallest resource accepted */
#define GPU_MAX_RESOURCES   1024	 /* live resources at once */
#define GPU_MAX_ENTRIES	    16384	 /* backing entries per resource (QEMU uses the same) */
#define GPU_RES_DEFAULT_CAP (256u << 20) /* host bytes for all resources together */

/* One backing entry, copied out of the request; `off` is its position in the backing stream. */
struct gpu_backing {
	uint64_t addr;
	uint32_t len;
	uint64_t off;
};

struct gpu_resource {
	uint32_t id;
	uint32_t format; /* enum virtio_gpu_formats */
	uint32_t width, height;
	uint32_t stride; /* bytes per row of the host image and of the backing: width * 4 */
	uint8_t *pixels; /* host image, stride * height bytes, in the resource's format */
	struct gpu_backing *backing; /* NULL when detached */
	uint32_t nbacking;
	uint64_t backing_len;
};

struct gpu_res_table {
	struct gpu_resource *res[GPU_MAX_RESOURCES];
	unsigned count;
	uint64_t host_bytes; /* pixels plus backing lists of every live resource */
	uint64_t cap;
};

/* Empties the table and sets the host-memory cap (0: GPU_RES_DEFAULT_CAP). */
void gpu_res_init(struct gpu_res_table *t, uint64_t cap);
/* Frees every resource (device reset, destroy). */
void gpu_res_clear(struct gpu_res_table *t);

struct gpu_resource *gpu_res_find(const struct gpu_res_table *t, uint32_t id);

/* RESOURCE_CREATE_2D: id != 0 and unused, a known format, 1 <= width, height <= GPU_MAX_DIM,
 * within the resource count and memory cap (else ERR_OUT_OF_MEMORY). */
uint32_t gpu_res_create(struct gpu_res_table *t, uint32_t id, uint32_t format, uint32_t width,
			uint32_t height);
/* RESOURCE_UNREF (the caller first detaches it from the scanouts). */
uint32_t gpu_res_unref(struct gpu_res_table *t, uint32_t id);

/* RESOURCE_ATTACH_BACKING with `n` entries already copied from the request: 1 <= n <=
 * GPU_MAX_ENTRIES, every entry non-empty and inside guest RAM, the total at least the image size
 * (stride * height), no backing attached yet (ERR_UNSPEC otherwise, as QEMU does). */
uint32_t gpu_res_attach(struct gpu_res_table *t, const struct guest_mem *mem, uint32_t id,
			const struct virtio_gpu_mem_entry *entries, uint32_t n);
uint32_t gpu_res_detach(struct gpu_res_table *t, uint32_t id);

/* TRANSFER_TO_HOST_2D: row h of rect `r` comes from backing bytes [offset + h * stride,
 * + r.width * 4) (the layout Linux and QEMU use). The rect must lie in the resource and every
 * source byte in the backing, checked before anything is copied. */
uint32_t gpu_res_transfer(struct gpu_res_table *t, const struct guest_mem *mem, uint32_t id,
			  const struct virtio_gpu_rect *r, uint64_t offset);

/* ---- helpers shared with the command layer ---- */

/* The pixel at `p` (4 bytes in `format`) as 0x00RRGGBB. */
uint32_t gpu_pixel_xrgb(uint32_t format, const uint8_t *p);
/* True when `r` lies inside a width x height image (overflow-safe). Empty rects are inside. */
bool gpu_rect_inside(const struct virtio_gpu_rect *r, uint32_t width, uint32_t height);

#endif
