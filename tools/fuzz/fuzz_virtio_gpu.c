/* libFuzzer target: virtio-gpu 2D (virtio/gpu/gpu.c, cmd.c, res.c) behind virtio-mmio, with
 * a real display (vmm/ui/display.c) so flushes and scanouts reach the framebuffer. Chains carrying
 * the input's bytes reach the controlq and cursorq through the shared harness; the special
 * operation either asks for a new screen size (the resize event path) or runs a structured command
 * built from the input (a plausible type, small resource ids, rects and offsets near the edges,
 * backing entries near and across the end of fake RAM) directly against a second command state over
 * the same guest memory, up to 8 in a row with resource ids that mostly name the few created, so
 * deep paths (attach, transfer over several entries, scan-out, flush to the display) are hit
 * often. A small resource-memory cap makes the out-of-memory paths reachable. */
#include <linux/virtio_gpu.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/gpu/cmd.h"
#include "virtio/gpu/gpu.h"
#include "vmm/ui/display.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_GPA 0x100000ull /* fuzz_virtio_dev.c's fake RAM */
#define RAM_LEN (64 * 1024ull)
#define CAP	(1u << 20)

static struct display *disp;
static struct gpu_state direct; /* the structured commands' state */
static uint8_t req[GPU_REQ_MAX], resp[GPU_RESP_MAX];

static const uint32_t types[] = {
    VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
    VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
    VIRTIO_GPU_CMD_RESOURCE_UNREF,
    VIRTIO_GPU_CMD_SET_SCANOUT,
    VIRTIO_GPU_CMD_RESOURCE_FLUSH,
    VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
    VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
    VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
    VIRTIO_GPU_CMD_UPDATE_CURSOR,
    VIRTIO_GPU_CMD_MOVE_CURSOR,
    VIRTIO_GPU_CMD_GET_EDID,
};

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

static uint64_t pick_addr(struct fz_in *in)
{
	switch (fz_u8(in) % 4) {
	case 0:
		return fz_u64(in);
	case 1:
		return RAM_GPA + RAM_LEN - fz_u16(in) % 256;
	default:
		return RAM_GPA + fz_u16(in) % RAM_LEN;
	}
}

/* A resource id that names one of the few a structured command creates (1..4), mostly: so that
 * attach, transfer, flush and scan-out reach a resource that exists. */
static uint32_t small_id(struct fz_in *in)
{
	return fz_u8(in) % 8 ? 1 + fz_u8(in) % 4 : pick32(in);
}

/* Points the command's resource_id field (where its type has one) at small_id(). */
static void set_resource(uint32_t type, struct fz_in *in)
{
	uint32_t id = small_id(in);
	switch (type) {
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
		((struct virtio_gpu_resource_unref *)req)->resource_id = id;
		break;
	case VIRTIO_GPU_CMD_SET_SCANOUT:
		((struct virtio_gpu_set_scanout *)req)->resource_id = id;
		((struct virtio_gpu_set_scanout *)req)->scanout_id = fz_u8(in) % 4 ? 0 : pick32(in);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
		((struct virtio_gpu_resource_flush *)req)->resource_id = id;
		break;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		((struct virtio_gpu_transfer_to_host_2d *)req)->resource_id = id;
		break;
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		((struct virtio_gpu_resource_attach_backing *)req)->resource_id = id;
		break;
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
		((struct virtio_gpu_resource_detach_backing *)req)->resource_id = id;
		break;
	case VIRTIO_GPU_CMD_UPDATE_CURSOR:
		((struct virtio_gpu_update_cursor *)req)->resource_id = id;
		break;
	}
}

/* Fills req with a command: header, body fields (all 32-bit or the 64-bit offset / addresses),
 * and for ATTACH_BACKING some entries. Returns the request length. */
static size_t build(struct fz_in *in)
{
	struct virtio_gpu_ctrl_hdr *h = (void *)req;
	uint32_t type = types[fz_u8(in) % (sizeof(types) / sizeof(types[0]))];
	size_t len = sizeof(*h) + 48;

	memset(req, 0, len);
	h->type = type;
	h->flags = fz_u8(in) & 1;
	for (size_t off = sizeof(*h); off < len; off += 4) {
		uint32_t v = pick32(in);
		memcpy(req + off, &v, 4);
	}
	set_resource(type, in);
	if (type == VIRTIO_GPU_CMD_RESOURCE_CREATE_2D) {
		struct virtio_gpu_resource_create_2d *c = (void *)req;
		c->format = fz_u8(in) % 2 ? VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM : c->format;
		c->resource_id = fz_u8(in) % 5;
	}
	if (type == VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D) {
		struct virtio_gpu_transfer_to_host_2d *c = (void *)req;
		c->offset = fz_u8(in) % 4 ? fz_u16(in) : fz_u64(in);
	}
	if (type == VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING) {
		struct virtio_gpu_resource_attach_backing *c = (void *)req;
		struct virtio_gpu_mem_entry *e = (void *)(c + 1);
		uint32_t n = fz_u8(in) % 6;
		c->nr_entries = fz_u8(in) % 8 ? n : pick32(in);
		for (uint32_t i = 0; i < n; i++)
			e[i] = (struct virtio_gpu_mem_entry){.addr = pick_addr(in),
							     .length = fz_u8(in) % 4 ? fz_u16(in)
										     : pick32(in)};
		len = sizeof(*c) + n * sizeof(*e);
	}
	return fz_u8(in) % 16 ? len : fz_u8(in) % (len + 1); /* sometimes cut short */
}

static int gpu_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	(void)in;
	if (!disp && display_create(&disp, 64, 48))
		return -1;
	gpu_state_init(&direct, disp, CAP);
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

static void gpu_special(struct virtio_dev *dev, struct fz_in *in)
{
	if (fz_u8(in) % 4 == 0) {
		display_request_size(disp, 1 + fz_u16(in) % 2048, 1 + fz_u16(in) % 2048);
		fz_dev_run_fds(dev);
		return;
	}
	/* up to 8 in a row: create, attach, transfer, scan-out and flush fit in one operation */
	for (unsigned cmds = 1 + fz_u8(in) % 8; cmds--;) {
		size_t len = build(in);
		size_t n = gpu_cmd_exec(&direct, dev->mem, req, len, resp, sizeof(resp));
		FZ_ASSERT(n == sizeof(struct virtio_gpu_ctrl_hdr) ||
			      n == sizeof(struct virtio_gpu_resp_display_info),
			  "response length %zu", n);
		FZ_ASSERT(direct.res.host_bytes <= CAP, "resources take %llu bytes",
			  (unsigned long long)direct.res.host_bytes);
	}
}

static const struct fz_dev_hooks gpu_hooks = {
    .create = gpu_create, .destroy = gpu_destroy, .special = gpu_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &gpu_hooks);
}
