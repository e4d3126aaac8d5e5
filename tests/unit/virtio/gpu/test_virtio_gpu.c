/* virtio-gpu 2D (virtio 1.2 section 5.7): every command through gpu_cmd_exec() over fake guest
 * RAM, with hostile sizes, rects and offsets, resources that do not fit their backing, the
 * resource count and memory caps, the pixel formats, what reaches the display; then the device
 * itself behind a mock driver (a request through the controlq, events_clear, the resize event). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpu.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "host/ui/display.h"
#include "host/ui/display_test.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/gpu/cmd.h"
#include "virtio/gpu/gpu.h"

#define RAM_GPA	 0x100000ull
#define RAM_SIZE (1ull << 20)
#define W	 16
#define H	 8

static uint8_t *ram;
static struct guest_mem mem;
static struct gpu_state g;
static struct display *disp;
static uint8_t req[4096], resp[GPU_RESP_MAX];
static size_t resp_len;

static void setup(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	cr_assert(ram);
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, RAM_GPA, ram, RAM_SIZE), 0);
	cr_assert_eq(display_create(&disp, 640, 480), 0);
	gpu_state_init(&g, disp, 0);
}

static void teardown(void)
{
	gpu_state_reset(&g);
	display_destroy(disp);
	free(ram);
}

TestSuite(gpu, .init = setup, .fini = teardown);

static uint32_t exec(size_t len)
{
	struct virtio_gpu_ctrl_hdr h;

	resp_len = gpu_cmd_exec(&g, &mem, req, len, resp, sizeof(resp));
	cr_assert_geq(resp_len, sizeof(h));
	memcpy(&h, resp, sizeof(h));
	return h.type;
}

static void *cmd(uint32_t type, size_t size)
{
	struct virtio_gpu_ctrl_hdr *h = (void *)req;

	memset(req, 0, sizeof(req));
	cr_assert_leq(size, sizeof(req));
	h->type = type;
	return req;
}

static uint32_t create(uint32_t id, uint32_t fmt, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_create_2d *c =
	    cmd(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, sizeof(*c));

	c->resource_id = id, c->format = fmt, c->width = w, c->height = h;
	return exec(sizeof(*c));
}

static uint32_t unref(uint32_t id)
{
	struct virtio_gpu_resource_unref *c = cmd(VIRTIO_GPU_CMD_RESOURCE_UNREF, sizeof(*c));

	c->resource_id = id;
	return exec(sizeof(*c));
}

/* ATTACH_BACKING with `n` entries in the request (nr_entries may claim otherwise). */
static uint32_t attach_raw(uint32_t id, uint32_t nr, const struct virtio_gpu_mem_entry *e, int n)
{
	struct virtio_gpu_resource_attach_backing *c =
	    cmd(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, sizeof(*c) + n * sizeof(*e));

	c->resource_id = id, c->nr_entries = nr;
	memcpy(c + 1, e, n * sizeof(*e));
	return exec(sizeof(*c) + n * sizeof(*e));
}

static uint32_t attach1(uint32_t id, uint64_t addr, uint32_t len)
{
	struct virtio_gpu_mem_entry e = {.addr = addr, .length = len};

	return attach_raw(id, 1, &e, 1);
}

static uint32_t detach(uint32_t id)
{
	struct virtio_gpu_resource_detach_backing *c =
	    cmd(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, sizeof(*c));

	c->resource_id = id;
	return exec(sizeof(*c));
}

static uint32_t transfer(uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint64_t off)
{
	struct virtio_gpu_transfer_to_host_2d *c =
	    cmd(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, sizeof(*c));

	c->resource_id = id, c->r = (struct virtio_gpu_rect){x, y, w, h}, c->offset = off;
	return exec(sizeof(*c));
}

static uint32_t scanout(uint32_t sid, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct virtio_gpu_set_scanout *c = cmd(VIRTIO_GPU_CMD_SET_SCANOUT, sizeof(*c));

	c->scanout_id = sid, c->resource_id = id, c->r = (struct virtio_gpu_rect){x, y, w, h};
	return exec(sizeof(*c));
}

static uint32_t flush(uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_flush *c = cmd(VIRTIO_GPU_CMD_RESOURCE_FLUSH, sizeof(*c));

	c->resource_id = id, c->r = (struct virtio_gpu_rect){x, y, w, h};
	return exec(sizeof(*c));
}

/* Guest backing at RAM_GPA: pixel (x, y) of a W-wide B8G8R8X8 image is 0x00YYXX01 (R=y, G=x). */
static void fill_backing(void)
{
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			uint8_t *p = ram + (y * W + x) * 4;

			p[0] = 1, p[1] = (uint8_t)x, p[2] = (uint8_t)y, p[3] = 0xff;
		}
}

static uint32_t expect_px(uint32_t x, uint32_t y)
{
	return y << 16 | x << 8 | 1;
}

/* A W x H resource 1 with backing at RAM_GPA, transferred. */
static void ready_resource(void)
{
	fill_backing();
	cr_assert_eq(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, W, H), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(attach1(1, RAM_GPA, W * H * 4), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(transfer(1, 0, 0, W, H, 0), VIRTIO_GPU_RESP_OK_NODATA);
}

/* ---- header, display info, unknown commands ---- */

Test(gpu, display_info_and_fence_echo)
{
	struct virtio_gpu_ctrl_hdr *h = cmd(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, sizeof(*h));
	struct virtio_gpu_resp_display_info info;

	h->flags = VIRTIO_GPU_FLAG_FENCE | 0x80, h->fence_id = 0x1122334455667788ull, h->ctx_id = 7;
	cr_assert_eq(exec(sizeof(*h)), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	cr_assert_eq(resp_len, sizeof(info));
	memcpy(&info, resp, sizeof(info));
	cr_assert_eq(info.hdr.flags, VIRTIO_GPU_FLAG_FENCE);
	cr_assert_eq(info.hdr.fence_id, 0x1122334455667788ull);
	cr_assert_eq(info.hdr.ctx_id, 7);
	cr_assert_eq(info.pmodes[0].enabled, 1);
	cr_assert_eq(info.pmodes[0].r.width, 640);
	cr_assert_eq(info.pmodes[0].r.height, 480);
	cr_assert_eq(info.pmodes[1].enabled, 0);
}

Test(gpu, short_and_unknown_requests)
{
	cmd(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 24);
	cr_assert_eq(exec(23), VIRTIO_GPU_RESP_ERR_UNSPEC);
	cr_assert_eq(resp_len, sizeof(struct virtio_gpu_ctrl_hdr));
	cmd(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 40);
	cr_assert_eq(exec(39), VIRTIO_GPU_RESP_ERR_UNSPEC); /* body cut short */
	cmd(VIRTIO_GPU_CMD_SUBMIT_3D, 24);
	cr_assert_eq(exec(24), VIRTIO_GPU_RESP_ERR_UNSPEC);
	cmd(VIRTIO_GPU_CMD_GET_EDID, 32);
	cr_assert_eq(exec(32), VIRTIO_GPU_RESP_ERR_UNSPEC); /* VIRTIO_GPU_F_EDID not offered */
	cmd(0xdeadbeef, 24);
	cr_assert_eq(exec(24), VIRTIO_GPU_RESP_ERR_UNSPEC);
	cr_assert_eq(gpu_cmd_exec(&g, &mem, req, 24, resp, GPU_RESP_MAX - 1), 0);
}

/* ---- RESOURCE_CREATE_2D / UNREF ---- */

Test(gpu, create_checks_id_format_and_size)
{
	const uint32_t fmt = VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM;

	cr_assert_eq(create(0, fmt, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(create(1, 0, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(create(1, 5, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER); /* no format 5 */
	cr_assert_eq(create(1, 200, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(create(1, fmt, 0, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(create(1, fmt, 4, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(create(1, fmt, 16385, 1), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(create(1, fmt, 0x40000000, 0x40000000), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(create(1, fmt, 16384, 16384), VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY); /* 1 GiB */
	cr_assert_eq(g.res.count, 0);
	cr_assert_eq(g.res.host_bytes, 0);
	cr_assert_eq(create(1, fmt, 4, 4), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(create(1, fmt, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(g.res.host_bytes, 64);
	cr_assert_eq(gpu_res_find(&g.res, 1)->stride, 16);
}

Test(gpu, every_format_accepted)
{
	for (uint32_t f = 1; f <= 134; f++) {
		bool valid = f == 1 || f == 2 || f == 3 || f == 4 || f == 67 || f == 68 ||
			     f == 121 || f == 134;

		cr_assert_eq(create(f, f, 2, 2),
			     valid ? VIRTIO_GPU_RESP_OK_NODATA
				   : VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			     "format %u", f);
	}
}

Test(gpu, memory_cap_and_count_cap)
{
	gpu_state_reset(&g);
	gpu_state_init(&g, disp, 1 << 20); /* 1 MiB */
	for (uint32_t id = 1; id <= 4; id++)
		cr_assert_eq(create(id, 2, 256, 256), VIRTIO_GPU_RESP_OK_NODATA); /* 256 KiB each */
	cr_assert_eq(create(5, 2, 1, 1), VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	cr_assert_eq(unref(2), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(create(5, 2, 256, 256), VIRTIO_GPU_RESP_OK_NODATA);
	gpu_state_reset(&g);
	cr_assert_eq(g.res.host_bytes, 0);
	for (uint32_t id = 1; id <= GPU_MAX_RESOURCES; id++)
		cr_assert_eq(create(id, 2, 1, 1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(create(GPU_MAX_RESOURCES + 1, 2, 1, 1), VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
}

Test(gpu, unref)
{
	cr_assert_eq(unref(9), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(unref(0), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	ready_resource();
	cr_assert_eq(unref(1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(unref(1), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(g.res.count, 0);
	cr_assert_eq(g.res.host_bytes, 0);
}

/* ---- ATTACH / DETACH_BACKING ---- */

Test(gpu, attach_rejects_hostile_entries)
{
	struct virtio_gpu_mem_entry two[2] = {{.addr = RAM_GPA, .length = 256},
					      {.addr = RAM_GPA + 4096, .length = 256}};

	cr_assert_eq(attach1(1, RAM_GPA, 512), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(create(1, 2, W, H), VIRTIO_GPU_RESP_OK_NODATA); /* 512 bytes */
	cr_assert_eq(attach_raw(1, 0, two, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(attach_raw(1, GPU_MAX_ENTRIES + 1, two, 2),
		     VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(attach_raw(1, 0xffffffff, two, 2), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(attach_raw(1, 3, two, 2), VIRTIO_GPU_RESP_ERR_UNSPEC); /* entries missing */
	cr_assert_eq(attach1(1, 0, 512), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER); /* not RAM */
	cr_assert_eq(attach1(1, RAM_GPA + RAM_SIZE - 256, 512),
		     VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER); /* runs past RAM */
	cr_assert_eq(attach1(1, 0xfffffffffffff000ull, 0x2000),
		     VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER); /* wraps */
	cr_assert_eq(attach1(1, RAM_GPA, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(attach1(1, RAM_GPA, 511),
		     VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER); /* too small */
	cr_assert_null(gpu_res_find(&g.res, 1)->backing);
	cr_assert_eq(attach_raw(1, 2, two, 2), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(gpu_res_find(&g.res, 1)->backing_len, 512);
	cr_assert_eq(attach_raw(1, 2, two, 2), VIRTIO_GPU_RESP_ERR_UNSPEC); /* already attached */
	cr_assert_eq(detach(1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(detach(1), VIRTIO_GPU_RESP_ERR_UNSPEC);
	cr_assert_eq(detach(2), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(g.res.host_bytes, 512);
}

/* ---- TRANSFER_TO_HOST_2D ---- */

Test(gpu, transfer_copies_across_entries)
{
	/* Backing in three pieces, cut in the middle of rows 1 and 5, out of order in RAM. */
	uint32_t cut1 = W * 4 + 20, cut2 = 5 * W * 4 + 8, size = W * H * 4;
	struct virtio_gpu_mem_entry e[3] = {
	    {.addr = RAM_GPA + 0x20000, .length = cut1},
	    {.addr = RAM_GPA + 0x10000, .length = cut2 - cut1},
	    {.addr = RAM_GPA + 0x30000, .length = size - cut2},
	};
	const struct gpu_resource *r;

	fill_backing();
	memcpy(ram + 0x20000, ram, cut1);
	memcpy(ram + 0x10000, ram + cut1, cut2 - cut1);
	memcpy(ram + 0x30000, ram + cut2, size - cut2);
	cr_assert_eq(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, W, H), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(transfer(1, 0, 0, W, H, 0), VIRTIO_GPU_RESP_ERR_UNSPEC); /* no backing */
	cr_assert_eq(attach_raw(1, 3, e, 3), VIRTIO_GPU_RESP_OK_NODATA);
	r = gpu_res_find(&g.res, 1);
	cr_assert_eq(transfer(1, 3, 1, 5, 5, (1 * W + 3) * 4), VIRTIO_GPU_RESP_OK_NODATA);
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			bool in = x >= 3 && x < 8 && y >= 1 && y < 6;
			uint32_t px = gpu_pixel_xrgb(r->format, r->pixels + y * r->stride + x * 4);

			cr_assert_eq(px, in ? expect_px(x, y) : 0, "(%u,%u) = %06x", x, y, px);
		}
	cr_assert_eq(transfer(1, 0, 0, W, H, 0), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(memcmp(r->pixels, ram, size), 0);
}

Test(gpu, transfer_rejects_hostile_rects_and_offsets)
{
	ready_resource();
	cr_assert_eq(transfer(2, 0, 0, 1, 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(transfer(1, 0, 0, W + 1, H, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 0, 0, W, H + 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 1, 0, W, 1, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 0xffffffff, 0, 2, 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 0, 0xffffffff, 1, 2, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	/* The last row would end past the backing. */
	cr_assert_eq(transfer(1, 0, 0, W, H, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 0, 7, 1, 1, W * H * 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 0, 0, 1, 1, ~0ull), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(transfer(1, 0, 0, 1, 2, ~0ull - 70), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	/* The offset is the guest's choice: any source inside the backing is fine. */
	cr_assert_eq(transfer(1, 0, 0, 1, 1, W * H * 4 - 4), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(transfer(1, 0, 0, 0, 0, ~0ull), VIRTIO_GPU_RESP_OK_NODATA); /* empty */
	cr_assert_eq(detach(1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(transfer(1, 0, 0, 1, 1, 0), VIRTIO_GPU_RESP_ERR_UNSPEC);
}

/* ---- SET_SCANOUT / RESOURCE_FLUSH and the display ---- */

static uint32_t shown(uint32_t x, uint32_t y)
{
	struct display_fb fb;
	uint32_t v;

	display_lock(disp, &fb);
	cr_assert_not_null(fb.pixels);
	cr_assert(x < fb.width && y < fb.height);
	v = fb.pixels[y * fb.stride + x];
	display_unlock(disp);
	return v;
}

static struct display_rect take_damage(bool *resized)
{
	struct display_fb fb;
	struct display_rect d;

	display_take_damage(disp, &fb, &d, resized);
	display_unlock(disp);
	return d;
}

Test(gpu, set_scanout_checks)
{
	bool resized;

	ready_resource();
	cr_assert_eq(scanout(1, 1, 0, 0, W, H), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
	cr_assert_eq(scanout(0xffffffff, 1, 0, 0, W, H), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
	cr_assert_eq(scanout(0, 2, 0, 0, W, H), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(scanout(0, 1, 0, 0, W + 1, H), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(scanout(0, 1, 1, 0, W, H), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(scanout(0, 1, 0, 0, 0, H), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(scanout(0, 1, 0xfffffff0, 0, 0x20, 1), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_not(g.scanouts[0].enabled);
	/* A sub-rectangle of the resource: the display shows exactly it, at once. */
	cr_assert_eq(scanout(0, 1, 2, 3, 10, 4), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(shown(0, 0), expect_px(2, 3));
	cr_assert_eq(shown(9, 3), expect_px(11, 6));
	struct display_rect d = take_damage(&resized);
	cr_assert(resized);
	cr_assert_eq(d.width, 10);
	cr_assert_eq(d.height, 4);
	/* Resource 0 disables the scanout: the display goes dark. */
	cr_assert_eq(scanout(0, 0, 0, 0, 0, 0), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_not(g.scanouts[0].enabled);
	struct display_fb fb;
	cr_assert_not(display_begin_update(disp, &fb), "the display still has a scanout");
}

Test(gpu, flush_updates_only_the_damage)
{
	struct gpu_resource *r;
	bool resized;

	ready_resource();
	cr_assert_eq(scanout(0, 1, 0, 0, W, H), VIRTIO_GPU_RESP_OK_NODATA);
	take_damage(&resized);
	/* New host pixels, flushed in part: only the flushed rect reaches the display. */
	r = gpu_res_find(&g.res, 1);
	memset(r->pixels, 0xff, (size_t)r->stride * r->height);
	cr_assert_eq(flush(1, 4, 2, 3, 2), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(shown(4, 2), 0xffffff);
	cr_assert_eq(shown(6, 3), 0xffffff);
	cr_assert_eq(shown(7, 3), expect_px(7, 3));
	cr_assert_eq(shown(4, 4), expect_px(4, 4));
	struct display_rect d = take_damage(&resized);
	cr_assert_not(resized);
	cr_assert_eq(d.x, 4);
	cr_assert_eq(d.y, 2);
	cr_assert_eq(d.width, 3);
	cr_assert_eq(d.height, 2);
	cr_assert_eq(flush(1, 0, 0, W + 1, 1), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(flush(1, 0xffffffff, 0, 2, 1), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	cr_assert_eq(flush(3, 0, 0, 1, 1), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	/* Unref of the shown resource switches the scanout off. */
	cr_assert_eq(unref(1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_not(g.scanouts[0].enabled);
}

Test(gpu, pixel_formats)
{
	const uint8_t p[4] = {0x11, 0x22, 0x33, 0x44};

	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, p), 0x332211);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, p), 0x332211);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, p), 0x223344);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, p), 0x223344);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, p), 0x112233);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, p), 0x112233);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, p), 0x443322);
	cr_assert_eq(gpu_pixel_xrgb(VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, p), 0x443322);
}

Test(gpu, cursor_commands)
{
	struct virtio_gpu_update_cursor *c = cmd(VIRTIO_GPU_CMD_UPDATE_CURSOR, sizeof(*c));

	c->resource_id = 5;
	cr_assert_eq(exec(sizeof(*c)), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	c = cmd(VIRTIO_GPU_CMD_MOVE_CURSOR, sizeof(*c));
	c->pos.scanout_id = 3;
	cr_assert_eq(exec(sizeof(*c)), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
	c = cmd(VIRTIO_GPU_CMD_MOVE_CURSOR, sizeof(*c));
	c->pos.x = 100, c->pos.y = 50;
	cr_assert_eq(exec(sizeof(*c)), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(g.cursor.x, 100);
	cr_assert_eq(g.cursor.y, 50);
}

Test(gpu, reset_frees_everything)
{
	ready_resource();
	cr_assert_eq(scanout(0, 1, 0, 0, W, H), VIRTIO_GPU_RESP_OK_NODATA);
	gpu_state_reset(&g);
	cr_assert_eq(g.res.count, 0);
	cr_assert_eq(g.res.host_bytes, 0);
	cr_assert_not(g.scanouts[0].enabled);
	struct display_fb fb;
	cr_assert_not(display_begin_update(disp, &fb), "the display still has a scanout");
}

/* ---- the device behind a mock driver ---- */

static struct mock_ram mram;
static struct mock_vq mv;
static unsigned config_irqs, queue_irqs;

static void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q == VIRTIO_IRQ_CONFIG)
		config_irqs++;
	else
		queue_irqs++;
}

static struct virtio_dev *device_up(void)
{
	const uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	struct virtio_dev *dev;

	cr_assert_eq(virtio_gpu_create(&dev, disp, 0), 0);
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&mram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &mram.mem), 0);
	cr_assert_eq(mock_vq_init(&mv, &mram, 16, false, MOCK_RAM_GPA), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, s);
	virtio_dev_set_features(dev, 1, 1); /* VIRTIO_F_VERSION_1 */
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	dev->vqs[0].num = mv.size;
	dev->vqs[0].desc_addr = mv.desc;
	dev->vqs[0].driver_addr = mv.driver;
	dev->vqs[0].device_addr = mv.device;
	virtio_dev_set_queue_ready(dev, 0, true);
	virtio_dev_set_status(dev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
	return dev;
}

static void device_down(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
	mock_vq_free(&mv);
	mock_ram_free(&mram);
}

/* GET_DISPLAY_INFO through the controlq; returns pmodes[0]'s width. */
static uint32_t query_width(struct virtio_dev *dev)
{
	struct virtio_gpu_ctrl_hdr h = {.type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO};
	struct virtio_gpu_resp_display_info info;
	uint64_t in = mock_fill(&mv, &h, sizeof(h)), out = mock_alloc(&mv, sizeof(info) + 64);
	struct mock_buf b[2] = {{in, sizeof(h), false}, {out, sizeof(info) + 64, true}};
	uint32_t id, len;

	cr_assert_geq(mock_split_add(&mv, b, 2), 0);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, 0);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(mock_split_get_used(&mv, &id, &len), 1);
	cr_assert_eq(len, sizeof(info));
	memcpy(&info, mock_ram_host(&mram, out), sizeof(info));
	cr_assert_eq(info.hdr.type, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	return info.pmodes[0].r.width;
}

Test(gpu, device_serves_the_controlq)
{
	struct virtio_dev *dev = device_up();

	cr_assert_eq(query_width(dev), 640);
	cr_assert_eq(queue_irqs, 1);
	device_down(dev);
}

Test(gpu, device_reports_resize_and_clears_events)
{
	struct virtio_dev *dev = device_up();
	struct virtio_gpu_config cfg;
	uint32_t one = VIRTIO_GPU_EVENT_DISPLAY;

	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	cr_assert_eq(cfg.num_scanouts, 1);
	cr_assert_eq(cfg.events_read, 0);
	cr_assert_eq(dev->nfds, 1);
	cr_assert_eq(dev->fds[0].fd, display_resize_fd(disp));
	display_request_size(disp, 800, 600);
	dev->fds[0].ready(dev, dev->fds[0].fd, EPOLLIN); /* what the I/O thread does */
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	cr_assert_eq(cfg.events_read, VIRTIO_GPU_EVENT_DISPLAY);
	cr_assert_eq(config_irqs, 1);
	virtio_dev_config_write(dev, 0, &one, 4); /* events_read is read-only */
	virtio_dev_config_write(dev, 4, &one, 4); /* events_clear */
	virtio_dev_config_read(dev, 0, &cfg, sizeof(cfg));
	cr_assert_eq(cfg.events_read, 0);
	cr_assert_eq(cfg.num_scanouts, 1);
	display_request_size(disp, 800, 600); /* the same size again: no event */
	dev->fds[0].ready(dev, dev->fds[0].fd, EPOLLIN);
	cr_assert_eq(config_irqs, 1);
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(query_width(dev), 800);
	device_down(dev);
}
