/* libFuzzer target: virtio-gpu 2D (virtio/gpu/gpu.c, cmd.c, res.c, snap.c) behind virtio-mmio,
 * with a real display (host/ui/display.c) so flushes and scanouts reach the framebuffer. Chains
 * carrying the input's bytes reach the controlq and cursorq through the shared harness; the
 * special operation either asks for a new screen size (the resize event path) or runs up to 8
 * structured commands aimed at the resources the input created: a create of a valid format and a
 * small size (sometimes 0, too large, or over the memory cap), backing entries that together cover
 * exactly the resource's image (or one byte short, or out of RAM), transfers, scan-outs and
 * flushes of rectangles inside it (or one pixel over). They go to the device's own controlq or
 * cursorq as chains when the device is running (so a snapshot carries live resources, backing
 * and scan-out), otherwise straight into a second command state over the same guest memory. The
 * harness remembers the size each id was last created with; the device may have refused it or
 * been reset since, which only makes the next command a refused one. A small resource-memory cap
 * makes the out-of-memory paths reachable. */
#include <linux/virtio_gpu.h>
#include <stdlib.h>
#include <string.h>

#include "host/ui/display.h"
#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/gpu/cmd.h"
#include "virtio/gpu/gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_GPA 0x100000ull /* fuzz_virtio_dev.c's fake RAM */
#define RAM_LEN (64 * 1024ull)
#define CAP	(1u << 20)
#define NIDS	4 /* resource ids 1..NIDS are the ones commands aim at */

static struct display *disp;
static struct gpu_state direct; /* the structured commands' state when the device is not running */
static uint8_t req[GPU_REQ_MAX], resp[GPU_RESP_MAX];
static struct {
	uint32_t w, h;
} dims[NIDS + 1]; /* by id: the size last asked for in a create */

static const uint32_t types[] = {
    VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
    VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
    VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
    VIRTIO_GPU_CMD_RESOURCE_UNREF,
    VIRTIO_GPU_CMD_SET_SCANOUT,
    VIRTIO_GPU_CMD_RESOURCE_FLUSH,
    VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
    VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
    VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
    VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
    VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
    VIRTIO_GPU_CMD_UPDATE_CURSOR,
    VIRTIO_GPU_CMD_MOVE_CURSOR,
    VIRTIO_GPU_CMD_GET_EDID, /* not offered: ERR_UNSPEC */
};

static const uint32_t formats[] = {
    VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
    VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM,
    VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM,
    VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM,
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Small values mostly, edges sometimes, anything rarely. */
static uint32_t pick32(struct fz_in *in)
{
	switch (fz_u8(in) % 8) {
	case 0:
		return fz_u32(in);
	case 1:
		return 0xffffffffu - fz_u8(in);
	default:
		return fz_u8(in) % 80;
	}
}

/* A resource id: one of the few commands create (1..NIDS) mostly, 0 or anything sometimes. */
static uint32_t pick_id(struct fz_in *in)
{
	uint8_t m = fz_u8(in);
	if (m % 16 == 0)
		return m & 16 ? 0 : pick32(in);
	return 1 + m % NIDS;
}

/* The size an id was created with, or 1 x 1 when the harness knows of none. */
static void dims_of(uint32_t id, uint32_t *w, uint32_t *h)
{
	*w = id <= NIDS && dims[id].w ? dims[id].w : 1;
	*h = id <= NIDS && dims[id].h ? dims[id].h : 1;
}

/* A rectangle inside w x h mostly (non-empty), sometimes one pixel over an edge, empty, or
 * anything. */
static struct virtio_gpu_rect pick_rect(struct fz_in *in, uint32_t w, uint32_t h)
{
	struct virtio_gpu_rect r;
	r.x = fz_below(in, w);
	r.y = fz_below(in, h);
	r.width = 1 + fz_below(in, w - r.x);
	r.height = 1 + fz_below(in, h - r.y);
	switch (fz_u8(in) % 16) {
	case 0:
		r.width++; /* one column over */
		break;
	case 1:
		r.height++;
		break;
	case 2:
		r.width = 0;
		break;
	case 3: /* in order: an initializer list's evaluation order is not */
		r.x = pick32(in);
		r.y = pick32(in);
		r.width = pick32(in);
		r.height = pick32(in);
		break;
	case 4:
		r = (struct virtio_gpu_rect){0, 0, w, h}; /* whole */
		break;
	}
	return r;
}

static size_t cmd_create(struct fz_in *in)
{
	struct virtio_gpu_resource_create_2d *c = (void *)req;
	uint32_t id = pick_id(in);
	c->resource_id = id;
	c->format = fz_u8(in) % 16 ? formats[fz_below(in, COUNT(formats))] : pick32(in);
	switch (fz_u8(in) % 16) {
	case 0: /* over the memory cap, or over the largest dimension */
		c->width = fz_bool(in) ? 1024 : GPU_MAX_DIM + fz_u8(in) % 2;
		c->height = fz_bool(in) ? 1024 : 1;
		break;
	case 1:
		c->width = pick32(in);
		c->height = pick32(in);
		break;
	default: /* small: the backing fits the fake RAM */
		c->width = 1 + fz_u8(in) % 48;
		c->height = 1 + fz_u8(in) % 48;
		break;
	}
	if (id <= NIDS)
		dims[id].w = c->width, dims[id].h = c->height;
	return sizeof(*c);
}

/* Entries that cover the resource's image, split in 1-8 pieces at places in RAM; sometimes one
 * short by a byte, of length 0, or beyond RAM; nr_entries sometimes wrong. */
static size_t cmd_attach(struct fz_in *in)
{
	struct virtio_gpu_resource_attach_backing *c = (void *)req;
	struct virtio_gpu_mem_entry *e = (void *)(c + 1);
	uint32_t w, h, n = 1 + fz_u8(in) % 8;
	c->resource_id = pick_id(in);
	dims_of(c->resource_id, &w, &h);
	uint64_t left = (uint64_t)w * h * GPU_BPP;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t len =
		    i + 1 < n ? fz_below(in, (uint32_t)(left < 65536 ? left + 1 : 65536)) : left;
		if (len > RAM_LEN)
			len = RAM_LEN;
		left -= len > left ? left : len;
		uint64_t at = RAM_GPA + fz_u16(in) % (RAM_LEN - len + 1);
		e[i] = (struct virtio_gpu_mem_entry){.addr = at, .length = (uint32_t)len};
	}
	switch (fz_u8(in) % 16) {
	case 0:
		e[n - 1].length -= e[n - 1].length ? 1 : 0; /* one byte short */
		break;
	case 1:
		e[fz_below(in, n)].length = 0;
		break;
	case 2:
		e[fz_below(in, n)].addr = fz_bool(in) ? RAM_GPA + RAM_LEN - fz_u8(in) : fz_u64(in);
		break;
	case 3:
		e[fz_below(in, n)].length = 0xffffffffu - fz_u8(in);
		break;
	}
	c->nr_entries = fz_u8(in) % 16 ? n : pick32(in);
	return sizeof(*c) + n * sizeof(*e);
}

static size_t cmd_transfer(struct fz_in *in)
{
	struct virtio_gpu_transfer_to_host_2d *c = (void *)req;
	uint32_t w, h;
	c->resource_id = pick_id(in);
	dims_of(c->resource_id, &w, &h);
	c->r = pick_rect(in, w, h);
	/* 5.7.6.8: the offset of the rect's first byte in the backing, as Linux computes it */
	c->offset = ((uint64_t)c->r.y * w + c->r.x) * GPU_BPP;
	if (fz_u8(in) % 8 == 0)
		c->offset = fz_bool(in) ? c->offset + fz_u8(in) : fz_u64(in);
	return sizeof(*c);
}

static size_t cmd_scanout(struct fz_in *in)
{
	struct virtio_gpu_set_scanout *c = (void *)req;
	uint32_t w, h;
	c->resource_id = fz_u8(in) % 8 ? pick_id(in) : 0; /* 0: the scanout off */
	c->scanout_id = fz_u8(in) % 8 ? 0 : pick32(in);
	dims_of(c->resource_id, &w, &h);
	c->r = pick_rect(in, w, h);
	return sizeof(*c);
}

static size_t cmd_flush(struct fz_in *in)
{
	struct virtio_gpu_resource_flush *c = (void *)req;
	uint32_t w, h;
	c->resource_id = pick_id(in);
	dims_of(c->resource_id, &w, &h);
	c->r = pick_rect(in, w, h);
	return sizeof(*c);
}

static size_t cmd_cursor(struct fz_in *in)
{
	struct virtio_gpu_update_cursor *c = (void *)req;
	c->pos.scanout_id = fz_u8(in) % 8 ? 0 : pick32(in);
	c->pos.x = pick32(in);
	c->pos.y = pick32(in);
	c->resource_id = fz_u8(in) % 4 ? pick_id(in) : 0;
	c->hot_x = pick32(in);
	c->hot_y = pick32(in);
	return sizeof(*c);
}

/* Fills req with a command of the type the input picks; returns the request length (sometimes
 * cut short). */
static size_t build(struct fz_in *in, uint32_t *type)
{
	struct virtio_gpu_ctrl_hdr *h = (void *)req;
	size_t len;

	*type = fz_u8(in) % 32 ? types[fz_below(in, COUNT(types))] : fz_u32(in);
	memset(req, 0, sizeof(struct virtio_gpu_ctrl_hdr) + 64);
	switch (*type) {
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
		len = cmd_create(in);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		len = cmd_attach(in);
		break;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		len = cmd_transfer(in);
		break;
	case VIRTIO_GPU_CMD_SET_SCANOUT:
		len = cmd_scanout(in);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
		len = cmd_flush(in);
		break;
	case VIRTIO_GPU_CMD_UPDATE_CURSOR:
	case VIRTIO_GPU_CMD_MOVE_CURSOR:
		len = cmd_cursor(in);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
		/* unref and detach_backing: resource_id right after the header */
		((struct virtio_gpu_resource_unref *)req)->resource_id = pick_id(in);
		len = sizeof(struct virtio_gpu_resource_unref);
		break;
	default:
		len = sizeof(*h) + fz_u8(in) % 64;
		break;
	}
	h->type = *type;
	if (fz_bool(in)) {
		h->flags = VIRTIO_GPU_FLAG_FENCE;
		h->fence_id = fz_u64(in);
	}
	return fz_u8(in) % 16 ? len : fz_below(in, (uint32_t)len + 1); /* sometimes cut short */
}

static int gpu_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	(void)in;
	if (!disp && display_create(&disp, 64, 48))
		return -1;
	gpu_state_init(&direct, disp, CAP);
	memset(dims, 0, sizeof(dims));
	if (virtio_gpu_create(out, disp, CAP))
		return -1;
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void gpu_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
	gpu_state_reset(&direct);
	display_set_scanout(disp, 0, 0);
}

/* Runs one command against the direct state and checks the response and the memory cap. */
static void run_direct(struct virtio_dev *dev, size_t len)
{
	size_t n = gpu_cmd_exec(&direct, dev->mem, req, len, resp, sizeof(resp));
	FZ_ASSERT(n == sizeof(struct virtio_gpu_ctrl_hdr) ||
		      n == sizeof(struct virtio_gpu_resp_display_info),
		  "response length %zu", n);
	FZ_ASSERT(direct.res.host_bytes <= CAP, "resources take %llu bytes",
		  (unsigned long long)direct.res.host_bytes);
}

static void gpu_special(struct virtio_dev *dev, struct fz_in *in)
{
	if (fz_u8(in) % 4 == 0) {
		display_request_size(disp, 1 + fz_u16(in) % 2048, 1 + fz_u16(in) % 2048);
		fz_dev_run_fds(dev);
		return;
	}
	/* up to 8 in a row: create, attach, transfer, scan-out and flush fit in one operation */
	for (unsigned cmds = 1 + fz_u8(in) % 8; cmds--;) {
		uint32_t type;
		size_t len = build(in, &type);
		uint16_t q =
		    type == VIRTIO_GPU_CMD_UPDATE_CURSOR || type == VIRTIO_GPU_CMD_MOVE_CURSOR
			? VIRTIO_GPU_CURSORQ
			: VIRTIO_GPU_CONTROLQ;
		/* a response buffer of the right size mostly; none or too small sometimes */
		uint32_t wlen = fz_u8(in) % 8 ? GPU_RESP_MAX : fz_u8(in) % 32;
		if (!fz_dev_submit(in, q, req, (uint32_t)len, 0, wlen))
			run_direct(dev, len);
	}
}

static const struct fz_dev_hooks gpu_hooks = {
    .create = gpu_create, .destroy = gpu_destroy, .special = gpu_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &gpu_hooks);
}
