/* virtio-gpu 2D commands (virtio 1.2 section 5.7.6). See virtio/gpu/cmd.h. The VMM runs on
 * little-endian x86 only, so the le32 fields are used as they are. */
#include "virtio/gpu/cmd.h"

#include <string.h>

#define OK	      VIRTIO_GPU_RESP_OK_NODATA
#define ERR_UNSPEC    VIRTIO_GPU_RESP_ERR_UNSPEC
#define ERR_NOMEM     VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY
#define ERR_SCANOUT   VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
#define ERR_RESOURCE  VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define ERR_PARAMETER VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER

/* One request being served: its bytes, and the response body for commands that return data. */
struct gpu_req {
	const uint8_t *data;
	size_t len;
	const struct guest_mem *mem;
	struct virtio_gpu_resp_display_info *info; /* GET_DISPLAY_INFO writes here */
};

void gpu_state_init(struct gpu_state *g, struct display *disp, uint64_t cap)
{
	memset(g, 0, sizeof(*g));
	gpu_res_init(&g->res, cap);
	g->disp = disp;
	g->width = DISPLAY_DEFAULT_WIDTH;
	g->height = DISPLAY_DEFAULT_HEIGHT;
	if (disp)
		display_preferred_size(disp, &g->width, &g->height);
}

static void scanout_off(struct gpu_state *g, unsigned i)
{
	g->scanouts[i] = (struct gpu_scanout){0};
	if (g->disp && i == 0)
		display_set_scanout(g->disp, 0, 0);
}

void gpu_state_reset(struct gpu_state *g)
{
	for (unsigned i = 0; i < GPU_NUM_SCANOUTS; i++) {
		if (g->scanouts[i].enabled)
			scanout_off(g, i);
	}
	gpu_res_clear(&g->res);
	g->cursor = (struct gpu_cursor){0};
}

/* Copies the command structure out of the request (each field is then read once); false when
 * the request is too short for it. */
static bool get(const struct gpu_req *q, void *cmd, size_t size)
{
	if (q->len < size)
		return false;
	memcpy(cmd, q->data, size);
	return true;
}

/* Shows rect `r` (resource coordinates, inside the resource) of resource `res` on every scanout
 * that displays it: converted to 0x00RRGGBB into the display's framebuffer, then damaged. */
static void show(struct gpu_state *g, const struct gpu_resource *res,
		 const struct virtio_gpu_rect *r)
{
	const struct gpu_scanout *s = &g->scanouts[0];
	uint32_t x0, y0, x1, y1;
	struct display_fb fb;

	if (!g->disp || !s->enabled || s->resource_id != res->id)
		return;
	x0 = r->x > s->r.x ? r->x : s->r.x;
	y0 = r->y > s->r.y ? r->y : s->r.y;
	x1 = r->x + r->width < s->r.x + s->r.width ? r->x + r->width : s->r.x + s->r.width;
	y1 = r->y + r->height < s->r.y + s->r.height ? r->y + r->height : s->r.y + s->r.height;
	if (x0 >= x1 || y0 >= y1 || !display_begin_update(g->disp, &fb))
		return;
	if (fb.width != s->r.width || fb.height != s->r.height) {
		display_end_update(g->disp, &(struct display_rect){0});
		return; /* cannot happen: SET_SCANOUT sized the framebuffer */
	}
	for (uint32_t y = y0; y < y1; y++) {
		const uint8_t *src = res->pixels + (size_t)y * res->stride + (size_t)x0 * GPU_BPP;
		uint32_t *dst = fb.pixels + (size_t)(y - s->r.y) * fb.stride + (x0 - s->r.x);

		for (uint32_t x = x0; x < x1; x++, src += GPU_BPP)
			*dst++ = gpu_pixel_xrgb(res->format, src);
	}
	display_end_update(g->disp,
			   &(struct display_rect){x0 - s->r.x, y0 - s->r.y, x1 - x0, y1 - y0});
}

void gpu_scanout_redraw(struct gpu_state *g)
{
	const struct gpu_scanout *s = &g->scanouts[0];
	const struct gpu_resource *res = gpu_res_find(&g->res, s->resource_id);

	if (!g->disp || !s->enabled || !res)
		return;
	if (display_set_scanout(g->disp, s->r.width, s->r.height)) {
		scanout_off(g, 0);
		return;
	}
	show(g, res, &s->r);
}

static uint32_t cmd_display_info(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_resp_display_info *info = q->info;

	memset(info->pmodes, 0, sizeof(info->pmodes));
	info->pmodes[0].r = (struct virtio_gpu_rect){0, 0, g->width, g->height};
	info->pmodes[0].enabled = 1;
	return VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
}

static uint32_t cmd_create_2d(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_resource_create_2d c;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	return gpu_res_create(&g->res, c.resource_id, c.format, c.width, c.height);
}

static uint32_t cmd_unref(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_resource_unref c;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	for (unsigned i = 0; i < GPU_NUM_SCANOUTS; i++) {
		if (c.resource_id && g->scanouts[i].resource_id == c.resource_id)
			scanout_off(g, i);
	}
	if (c.resource_id && g->cursor.resource_id == c.resource_id)
		g->cursor.resource_id = 0;
	return gpu_res_unref(&g->res, c.resource_id);
}

/* 5.7.6.8 SET_SCANOUT: resource 0 disables the scanout; otherwise a non-empty rect of the
 * resource is shown, the display resized to it and redrawn from the host image. */
static uint32_t cmd_set_scanout(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_set_scanout c;
	struct gpu_resource *res;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	if (c.scanout_id >= GPU_NUM_SCANOUTS)
		return ERR_SCANOUT;
	if (c.resource_id == 0) {
		scanout_off(g, c.scanout_id);
		return OK;
	}
	res = gpu_res_find(&g->res, c.resource_id);
	if (!res)
		return ERR_RESOURCE;
	if (c.r.width == 0 || c.r.height == 0 || !gpu_rect_inside(&c.r, res->width, res->height))
		return ERR_PARAMETER;
	if (g->disp && display_set_scanout(g->disp, c.r.width, c.r.height)) {
		scanout_off(g, c.scanout_id);
		return ERR_NOMEM;
	}
	g->scanouts[c.scanout_id] = (struct gpu_scanout){true, c.resource_id, c.r};
	show(g, res, &c.r);
	return OK;
}

static uint32_t cmd_flush(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_resource_flush c;
	struct gpu_resource *res;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	res = gpu_res_find(&g->res, c.resource_id);
	if (!res)
		return ERR_RESOURCE;
	if (!gpu_rect_inside(&c.r, res->width, res->height))
		return ERR_PARAMETER;
	show(g, res, &c.r);
	return OK;
}

static uint32_t cmd_transfer(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_transfer_to_host_2d c;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	return gpu_res_transfer(&g->res, q->mem, c.resource_id, &c.r, c.offset);
}

/* 5.7.6.8 ATTACH_BACKING: nr_entries virtio_gpu_mem_entry structures follow the command. */
static uint32_t cmd_attach(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_resource_attach_backing c;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	if (c.nr_entries == 0 || c.nr_entries > GPU_MAX_ENTRIES)
		return ERR_PARAMETER;
	if ((q->len - sizeof(c)) / sizeof(struct virtio_gpu_mem_entry) < c.nr_entries)
		return ERR_UNSPEC; /* the entries are not all in the request */
	return gpu_res_attach(&g->res, q->mem, c.resource_id,
			      (const struct virtio_gpu_mem_entry *)(q->data + sizeof(c)),
			      c.nr_entries);
}

static uint32_t cmd_detach(struct gpu_state *g, const struct gpu_req *q)
{
	struct virtio_gpu_resource_detach_backing c;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	return gpu_res_detach(&g->res, c.resource_id);
}

/* 5.7.6.10: the cursor is recorded but not drawn (the SDL window shows the host's own). */
static uint32_t cmd_cursor(struct gpu_state *g, const struct gpu_req *q, bool update)
{
	struct virtio_gpu_update_cursor c;

	if (!get(q, &c, sizeof(c)))
		return ERR_UNSPEC;
	if (c.pos.scanout_id >= GPU_NUM_SCANOUTS)
		return ERR_SCANOUT;
	if (update && c.resource_id && !gpu_res_find(&g->res, c.resource_id))
		return ERR_RESOURCE;
	g->cursor.x = c.pos.x;
	g->cursor.y = c.pos.y;
	if (update) {
		g->cursor.resource_id = c.resource_id;
		g->cursor.hot_x = c.hot_x;
		g->cursor.hot_y = c.hot_y;
	}
	return OK;
}

static uint32_t dispatch(struct gpu_state *g, uint32_t type, const struct gpu_req *q)
{
	switch (type) {
	case VIRTIO_GPU_CMD_GET_DISPLAY_INFO:
		return cmd_display_info(g, q);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
		return cmd_create_2d(g, q);
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
		return cmd_unref(g, q);
	case VIRTIO_GPU_CMD_SET_SCANOUT:
		return cmd_set_scanout(g, q);
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
		return cmd_flush(g, q);
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		return cmd_transfer(g, q);
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		return cmd_attach(g, q);
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
		return cmd_detach(g, q);
	case VIRTIO_GPU_CMD_UPDATE_CURSOR:
		return cmd_cursor(g, q, true);
	case VIRTIO_GPU_CMD_MOVE_CURSOR:
		return cmd_cursor(g, q, false);
	default:
		return ERR_UNSPEC;
	}
}

size_t gpu_cmd_exec(struct gpu_state *g, const struct guest_mem *mem, const void *req,
		    size_t req_len, void *resp, size_t resp_cap)
{
	struct virtio_gpu_resp_display_info info;
	struct virtio_gpu_ctrl_hdr hdr = {0}, out = {.type = ERR_UNSPEC};
	struct gpu_req q = {req, req_len, mem, &info};
	size_t len = sizeof(out);

	if (resp_cap < GPU_RESP_MAX)
		return 0;
	if (req_len >= sizeof(hdr)) {
		memcpy(&hdr, req, sizeof(hdr));
		out.type = dispatch(g, hdr.type, &q);
		out.flags = hdr.flags & VIRTIO_GPU_FLAG_FENCE;
		out.fence_id = hdr.fence_id;
		out.ctx_id = hdr.ctx_id;
	}
	if (out.type == VIRTIO_GPU_RESP_OK_DISPLAY_INFO) {
		info.hdr = out;
		memcpy(resp, &info, sizeof(info));
		return sizeof(info);
	}
	memcpy(resp, &out, len);
	return len;
}
