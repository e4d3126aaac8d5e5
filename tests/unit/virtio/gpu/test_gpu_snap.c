/* virtio-gpu 2D state through a snapshot (virtio/gpu/snapshot.c, and the device's save/restore
 * ops): resources with a two-piece backing, a scanout and a cursor are saved, restored into a fresh
 * state on a fresh display, which then shows the same picture and answers every command as the
 * original would; damaged or hostile states (every truncation, bad ids, formats, sizes, backing
 * outside RAM or too short, scanouts and cursors naming nothing, the memory cap) are refused and
 * leave the target untouched. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpu.h>
#include <stdlib.h>
#include <string.h>

#include "host/ui/display.h"
#include "host/ui/display_test.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/gpu/cmd.h"
#include "virtio/gpu/gpu.h"
#include "virtio/gpu/snapshot.h"

#define RAM_GPA	 0x100000ull
#define RAM_SIZE (1ull << 20)
#define W	 16
#define H	 8
#define CUT	 (3 * W * 4 + 8) /* the backing's first piece ends inside row 3 */
#define GAP	 0x8000ull	 /* the second piece lives here */

static uint8_t *ram;
static struct guest_mem mem;
static struct gpu_state g, g2;
static struct display *disp, *disp2;
static uint8_t req[4096], resp[GPU_RESP_MAX];
static uint8_t *buf;
static size_t buf_len;

static void setup(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	cr_assert(ram);
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(guest_mem_add_region(&mem, RAM_GPA, ram, RAM_SIZE), 0);
	cr_assert_eq(display_create(&disp, 640, 480), 0);
	cr_assert_eq(display_create(&disp2, 640, 480), 0);
	gpu_state_init(&g, disp, 0);
	gpu_state_init(&g2, disp2, 0);
	buf = NULL;
}

static void teardown(void)
{
	gpu_state_reset(&g);
	gpu_state_reset(&g2);
	display_destroy(disp);
	display_destroy(disp2);
	free(ram);
	free(buf);
}

TestSuite(gpu_snap, .init = setup, .fini = teardown);

static uint32_t exec(struct gpu_state *s, size_t len)
{
	struct virtio_gpu_ctrl_hdr h;

	cr_assert_geq(gpu_cmd_exec(s, &mem, req, len, resp, sizeof(resp)), sizeof(h));
	memcpy(&h, resp, sizeof(h));
	return h.type;
}

static void *cmd(uint32_t type)
{
	memset(req, 0, sizeof(req));
	((struct virtio_gpu_ctrl_hdr *)req)->type = type;
	return req;
}

static uint32_t create(struct gpu_state *s, uint32_t id, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_create_2d *c = cmd(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D);

	c->resource_id = id, c->format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, c->width = w;
	c->height = h;
	return exec(s, sizeof(*c));
}

static uint32_t attach2(struct gpu_state *s, uint32_t id)
{
	struct virtio_gpu_resource_attach_backing *c = cmd(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING);
	struct virtio_gpu_mem_entry e[2] = {{.addr = RAM_GPA, .length = CUT},
					    {.addr = RAM_GPA + GAP, .length = W * H * 4 - CUT}};

	c->resource_id = id, c->nr_entries = 2;
	memcpy(c + 1, e, sizeof(e));
	return exec(s, sizeof(*c) + sizeof(e));
}

static uint32_t detach(struct gpu_state *s, uint32_t id)
{
	struct virtio_gpu_resource_detach_backing *c = cmd(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING);

	c->resource_id = id;
	return exec(s, sizeof(*c));
}

static uint32_t transfer(struct gpu_state *s, uint32_t id)
{
	struct virtio_gpu_transfer_to_host_2d *c = cmd(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D);

	c->resource_id = id, c->r = (struct virtio_gpu_rect){0, 0, W, H};
	return exec(s, sizeof(*c));
}

static uint32_t scanout(struct gpu_state *s, uint32_t id, uint32_t w, uint32_t h)
{
	struct virtio_gpu_set_scanout *c = cmd(VIRTIO_GPU_CMD_SET_SCANOUT);

	c->resource_id = id, c->r = (struct virtio_gpu_rect){1, 1, w, h};
	return exec(s, sizeof(*c));
}

static uint32_t cursor(struct gpu_state *s, uint32_t id)
{
	struct virtio_gpu_update_cursor *c = cmd(VIRTIO_GPU_CMD_UPDATE_CURSOR);

	c->resource_id = id, c->pos.x = 33, c->pos.y = 44, c->hot_x = 3, c->hot_y = 4;
	return exec(s, sizeof(*c));
}

/* Pixel (x, y) in guest RAM, split over the two pieces: B, G, R, X = x, y, 0x80, 0. */
static void fill_backing(uint8_t salt)
{
	for (uint32_t i = 0; i < W * H; i++) {
		uint32_t off = i * 4;
		uint8_t *p = off < CUT ? ram + off : ram + GAP + (off - CUT);

		p[0] = (uint8_t)(i % W + salt), p[1] = (uint8_t)(i / W), p[2] = 0x80, p[3] = 0;
	}
}

/* Resource 1 (backed, shown at (1,1) size W-2 x H-2), resource 2 (no backing, the cursor). */
static void populate(void)
{
	fill_backing(0);
	cr_assert_eq(create(&g, 1, W, H), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(attach2(&g, 1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(transfer(&g, 1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(scanout(&g, 1, W - 2, H - 2), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(create(&g, 2, 4, 4), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(cursor(&g, 2), VIRTIO_GPU_RESP_OK_NODATA);
}

static void save(struct gpu_state *s)
{
	size_t cap = gpu_state_save_size(s);

	free(buf);
	buf = malloc(cap);
	cr_assert(buf);
	cr_assert_eq(gpu_state_save(s, buf, cap - 1, &buf_len), -ENOSPC);
	cr_assert_eq(gpu_state_save(s, buf, cap, &buf_len), 0);
	cr_assert_eq(buf_len, cap);
}

static void expect_same_screen(struct display *a, struct display *b)
{
	struct display_fb fa, fb;

	display_lock(a, &fa);
	display_lock(b, &fb);
	cr_assert_not_null(fa.pixels);
	cr_assert_not_null(fb.pixels, "the restored display shows nothing");
	cr_assert_eq(fa.width, fb.width);
	cr_assert_eq(fa.height, fb.height);
	for (uint32_t y = 0; y < fa.height; y++)
		cr_assert_arr_eq(fa.pixels + y * fa.stride, fb.pixels + y * fb.stride, fa.width * 4,
				 "row %u differs", y);
	display_unlock(b);
	display_unlock(a);
}

Test(gpu_snap, restored_state_shows_and_answers_the_same)
{
	populate();
	save(&g);
	cr_assert_eq(gpu_state_restore(&g2, &mem, buf, buf_len), 0);
	expect_same_screen(disp, disp2);
	cr_assert_eq(g2.cursor.resource_id, 2);
	cr_assert_eq(g2.cursor.x, 33);
	cr_assert_eq(g2.cursor.hot_y, 4);
	cr_assert_eq(g2.res.host_bytes, g.res.host_bytes);
	/* The same answers: ids in use, backing attached (or not), transfers from the same RAM. */
	cr_assert_eq(create(&g2, 1, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(create(&g2, 2, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	cr_assert_eq(attach2(&g2, 1), VIRTIO_GPU_RESP_ERR_UNSPEC); /* attached already */
	cr_assert_eq(detach(&g2, 2), VIRTIO_GPU_RESP_ERR_UNSPEC);  /* never had backing */
	fill_backing(7);
	cr_assert_eq(transfer(&g, 1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(transfer(&g2, 1), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(scanout(&g, 1, W - 2, H - 2), VIRTIO_GPU_RESP_OK_NODATA);
	cr_assert_eq(scanout(&g2, 1, W - 2, H - 2), VIRTIO_GPU_RESP_OK_NODATA);
	expect_same_screen(disp, disp2);
	/* Saved again, the restored state gives the original's bytes. */
	save(&g);
	uint8_t *orig = buf;
	size_t orig_len = buf_len;
	buf = NULL;
	save(&g2);
	cr_assert_eq(buf_len, orig_len);
	cr_assert_arr_eq(buf, orig, buf_len);
	free(orig);
}

Test(gpu_snap, empty_state_round_trip)
{
	save(&g);
	cr_assert_eq(buf_len, sizeof(struct gpu_snap_hdr));
	cr_assert_eq(gpu_state_restore(&g2, &mem, buf, buf_len), 0);
	cr_assert_eq(g2.res.count, 0);
	cr_assert_not(g2.scanouts[0].enabled);
}

/* The target keeps resource 9 and its screen through every refused restore. */
static void expect_refused(const char *what)
{
	cr_assert_neq(gpu_state_restore(&g2, &mem, buf, buf_len), 0, "%s accepted", what);
	cr_assert_not_null(gpu_res_find(&g2.res, 9), "%s: the target changed", what);
	cr_assert_eq(g2.res.count, 1, "%s: the target changed", what);
	cr_assert(g2.scanouts[0].enabled && g2.scanouts[0].resource_id == 9);
}

static void target_with_resource_9(void)
{
	struct virtio_gpu_set_scanout *c;

	cr_assert_eq(create(&g2, 9, 4, 4), VIRTIO_GPU_RESP_OK_NODATA);
	c = cmd(VIRTIO_GPU_CMD_SET_SCANOUT);
	c->resource_id = 9, c->r = (struct virtio_gpu_rect){0, 0, 4, 4};
	cr_assert_eq(exec(&g2, sizeof(*c)), VIRTIO_GPU_RESP_OK_NODATA);
}

static struct gpu_snap_hdr *hdr(void)
{
	return (struct gpu_snap_hdr *)buf;
}

/* The first resource's header and backing entries (resource 1 comes first: slot 0). */
static struct gpu_snap_res *res1(void)
{
	return (struct gpu_snap_res *)(buf + sizeof(struct gpu_snap_hdr));
}

static struct virtio_gpu_mem_entry *entry(int i)
{
	return (struct virtio_gpu_mem_entry *)(res1() + 1) + i;
}

Test(gpu_snap, every_truncation_refused)
{
	populate();
	target_with_resource_9();
	save(&g);
	size_t full = buf_len;
	for (buf_len = 0; buf_len < full; buf_len++)
		expect_refused("a truncated state");
	buf_len = full;
	uint8_t *longer = realloc(buf, full + 1);
	cr_assert(longer);
	buf = longer;
	buf[full] = 0;
	buf_len = full + 1;
	expect_refused("a trailing byte");
}

/* Each case: a fresh good save, one field spoiled, refused. */
#define SPOIL(what, stmt)                                                                          \
	do {                                                                                       \
		save(&g);                                                                          \
		stmt;                                                                              \
		expect_refused(what);                                                              \
	} while (0)

Test(gpu_snap, hostile_fields_refused)
{
	populate();
	target_with_resource_9();
	SPOIL("bad magic", hdr()->magic ^= 1);
	SPOIL("reserved", hdr()->reserved = 1);
	SPOIL("too many resources", hdr()->nres = GPU_MAX_RESOURCES + 1);
	SPOIL("one resource more", hdr()->nres++);
	SPOIL("mode 0", hdr()->width = 0);
	SPOIL("huge mode", hdr()->height = GPU_MAX_DIM + 1);
	SPOIL("scanout of an unknown resource", hdr()->scanouts[0].resource_id = 77);
	SPOIL("scanout enabled = 2", hdr()->scanouts[0].enabled = 2);
	SPOIL("scanout rect outside", hdr()->scanouts[0].r.x = 3);
	SPOIL("empty scanout rect", hdr()->scanouts[0].r.width = 0);
	SPOIL("a disabled scanout with a rect",
	      (hdr()->scanouts[0].enabled = 0, hdr()->scanouts[0].resource_id = 0));
	SPOIL("cursor of an unknown resource", hdr()->cursor.resource_id = 5);
	SPOIL("resource id 0", res1()->id = 0);
	SPOIL("duplicate id", res1()->id = 2);
	SPOIL("bad format", res1()->format = 99);
	SPOIL("zero width", res1()->width = 0);
	SPOIL("huge height", res1()->height = GPU_MAX_DIM + 1);
	SPOIL("resource reserved", res1()->reserved = 1);
	SPOIL("too many entries", res1()->nbacking = GPU_MAX_ENTRIES + 1);
	SPOIL("backing outside RAM", entry(1)->addr = RAM_GPA + RAM_SIZE - 16);
	SPOIL("backing wrapping", entry(0)->addr = ~0ull - 4);
	SPOIL("backing too short", entry(1)->length -= 4);
	SPOIL("empty entry", entry(0)->length = 0);
	SPOIL("entry padding", entry(0)->padding = 1);
}

Test(gpu_snap, memory_cap_of_the_target_holds)
{
	populate();
	save(&g);
	gpu_state_reset(&g2);
	gpu_state_init(&g2, disp2, W * H * 4); /* room for resource 1's pixels, not more */
	cr_assert_eq(gpu_state_restore(&g2, &mem, buf, buf_len), -ENOMEM);
	cr_assert_eq(g2.res.count, 0);
	cr_assert_eq(g2.res.host_bytes, 0);
}

/* The device's ops: events_read travels, the model state behind it. */
Test(gpu_snap, device_save_and_restore)
{
	struct virtio_dev *a, *b;
	struct virtio_dev_state st;
	char err[200];
	size_t len = 0, room;
	uint8_t *priv;

	cr_assert_eq(virtio_gpu_create(&a, disp, 0), 0);
	cr_assert_eq(virtio_gpu_create(&b, disp2, 0), 0);
	cr_assert_eq(virtio_dev_init(a, &mem), 0);
	cr_assert_eq(virtio_dev_init(b, &mem), 0);
	((struct virtio_gpu_config *)a->config)->events_read = VIRTIO_GPU_EVENT_DISPLAY;
	room = virtio_dev_snapshot_size(a);
	cr_assert_geq(room, VIRTIO_DEV_PRIV_MAX);
	priv = malloc(room);
	cr_assert_eq(virtio_dev_snapshot_save(a, &st, priv, room, &len, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(virtio_dev_snapshot_restore(b, &st, priv, len, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(((struct virtio_gpu_config *)b->config)->events_read,
		     VIRTIO_GPU_EVENT_DISPLAY);
	/* An event bit virtio-gpu does not have is refused. */
	uint32_t bad = 2;
	memcpy(priv + sizeof(struct virtio_dev_priv_hdr), &bad, sizeof(bad));
	cr_assert_neq(virtio_dev_snapshot_restore(b, &st, priv, len, err, sizeof(err)), 0);
	free(priv);
	virtio_dev_destroy(a);
	virtio_dev_destroy(b);
	free(a);
	free(b);
}
