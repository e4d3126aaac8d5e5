/* virtio-gpu 2D (virtio 1.2 section 5.7) through the runtime's virtio driver: config space
 * (num_scanouts), GET_DISPLAY_INFO, then a known picture drawn the way a driver does it:
 * RESOURCE_CREATE_2D (B8G8R8X8), RESOURCE_ATTACH_BACKING over two separate guest buffers split in
 * the middle of a row, TRANSFER_TO_HOST_2D, SET_SCANOUT, RESOURCE_FLUSH; then a partial update (a
 * white box) transferred and flushed alone. Hostile commands in between must answer the exact
 * error. The host's screenshot must then equal gpu_pattern() with the box, pixel for pixel
 * (tests/integration/display/test_display_gpu.py computes the same picture).
 *
 * Command line: width=N height=N (default 320x200) [wait=S]: with wait, "gpu waiting" is
 * printed between the full picture and the box, then the guest waits S seconds (platform.h's
 * clock) so a snapshot can be taken there (tests/integration/snapshot/test_snapshot_display.py). */
#include "guest.h"
#include "virtio_dev.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/virtio_gpu.h>
#include <linux/virtio_ids.h>

#define VEC_GPU 0x53
#define WAIT_MS 5000
#define RES_ID	1
#define F(bit)	(1ULL << (bit))

/* The white box of the partial update. */
#define BOX_X 10
#define BOX_Y 12
#define BOX_W 21
#define BOX_H 13

static struct vq vq;
static struct virtio_gpu_ctrl_hdr *resp;
static uint8_t *req;
static uint32_t width = 320, height = 200;

/* The picture, as 0x00RRGGBB (the integration script computes the same). */
static uint32_t gpu_pattern(uint32_t x, uint32_t y)
{
	uint32_t r = (x * 7 + y) & 0xff, g = (y * 5) & 0xff, b = ((x ^ y) * 3) & 0xff;

	return r << 16 | g << 8 | b;
}

/* Sends req[0, len) and waits for the response; returns its type. */
static uint32_t command(uint32_t len, uint32_t resp_len)
{
	struct vq_buf b[2] = {{virt_to_phys(req), len, false},
			      {virt_to_phys(resp), resp_len, true}};
	uint32_t used_len = 0;

	memset(resp, 0, resp_len);
	TEST_ASSERT_EQ(vq_add(&vq, b, 2, req, 0), 0);
	vq_kick(&vq);
	TEST_ASSERT_MSG(vq_wait(&vq, WAIT_MS), "no response to command 0x%x",
			((struct virtio_gpu_ctrl_hdr *)req)->type);
	TEST_ASSERT(vq_get_used(&vq, &used_len) == req);
	TEST_ASSERT_MSG(used_len >= sizeof(*resp), "response of %u bytes", used_len);
	return resp->type;
}

static void *cmd(uint32_t type, uint32_t size)
{
	struct virtio_gpu_ctrl_hdr *h = (void *)req;

	memset(req, 0, size);
	h->type = type;
	return req;
}

#define EXPECT(call, want) TEST_ASSERT_MSG((call) == (want), "%s: 0x%x", #call, resp->type)

static void display_info(void)
{
	struct virtio_gpu_resp_display_info *info = (void *)resp;

	cmd(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, sizeof(struct virtio_gpu_ctrl_hdr));
	EXPECT(command(sizeof(struct virtio_gpu_ctrl_hdr), sizeof(*info)),
	       VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	TEST_ASSERT(info->pmodes[0].enabled);
	printf("display 0: %ux%u\n", info->pmodes[0].r.width, info->pmodes[0].r.height);
}

static uint32_t create(uint32_t id, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_create_2d *c =
	    cmd(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, sizeof(*c));

	c->resource_id = id;
	c->format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM;
	c->width = w;
	c->height = h;
	return command(sizeof(*c), sizeof(*resp));
}

/* Backing in two pieces with a gap between them, cut in the middle of row height/2. */
static void attach(uint8_t **a, uint8_t **b, uint32_t *alen)
{
	uint32_t size = width * height * 4, cut = (height / 2) * width * 4 + 6 * 4;
	struct virtio_gpu_resource_attach_backing *c =
	    cmd(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, sizeof(*c) + 2 * 16);
	struct virtio_gpu_mem_entry *e = (void *)(c + 1);

	*a = virtio_alloc(cut, 4096);
	TEST_ASSERT(virtio_alloc(4096, 4096)); /* the gap */
	*b = virtio_alloc(size - cut, 4096);
	TEST_ASSERT(*a && *b);
	*alen = cut;
	c->resource_id = RES_ID;
	c->nr_entries = 2;
	e[0] = (struct virtio_gpu_mem_entry){.addr = virt_to_phys(*a), .length = cut};
	e[1] = (struct virtio_gpu_mem_entry){.addr = virt_to_phys(*b), .length = size - cut};
	EXPECT(command(sizeof(*c) + 2 * sizeof(*e), sizeof(*resp)), VIRTIO_GPU_RESP_OK_NODATA);
}

/* Stores pixel (x, y) in B, G, R, X order at its place in the two-piece backing. */
static void put(uint8_t *a, uint8_t *b, uint32_t alen, uint32_t x, uint32_t y, uint32_t v)
{
	uint32_t off = (y * width + x) * 4;
	uint8_t *p = off < alen ? a + off : b + (off - alen);

	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = 0;
}

static uint32_t transfer(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct virtio_gpu_transfer_to_host_2d *c =
	    cmd(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, sizeof(*c));

	c->r = (struct virtio_gpu_rect){x, y, w, h};
	c->offset = ((uint64_t)y * width + x) * 4;
	c->resource_id = RES_ID;
	return command(sizeof(*c), sizeof(*resp));
}

static uint32_t flush(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_flush *c = cmd(VIRTIO_GPU_CMD_RESOURCE_FLUSH, sizeof(*c));

	c->r = (struct virtio_gpu_rect){x, y, w, h};
	c->resource_id = RES_ID;
	return command(sizeof(*c), sizeof(*resp));
}

static uint32_t set_scanout(uint32_t scanout, uint32_t id)
{
	struct virtio_gpu_set_scanout *c = cmd(VIRTIO_GPU_CMD_SET_SCANOUT, sizeof(*c));

	c->r = (struct virtio_gpu_rect){0, 0, width, height};
	c->scanout_id = scanout;
	c->resource_id = id;
	return command(sizeof(*c), sizeof(*resp));
}

static void setup(void)
{
	struct vdev *d = vdev_find(VIRTIO_ID_GPU, 0);
	int err;

	TEST_ASSERT_MSG(d, "no virtio-gpu device (transport %s)", vdev_transport_name());
	vdev_print(d, "gpu");
	err = vdev_negotiate(d, F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC), 0);
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d", err);
	TEST_ASSERT_EQ(vdev_config32(d, offsetof(struct virtio_gpu_config, num_scanouts)), 1);
	TEST_ASSERT_EQ(vq_setup(&vq, d, 0, 64), 0);
	TEST_ASSERT(vdev_irq_enable(d, VEC_GPU));
	vdev_driver_ok(d);
	req = virtio_alloc(4096, 64);
	resp = virtio_alloc(4096, 64);
	TEST_ASSERT(req && resp);
}

/* Announces the wait, then spins on platform.h's clock (x86: the TSC) until `s` seconds have passed
 * since (a restored guest sees the host's TSC, which ran on meanwhile, so its wait ends early). */
static void wait_seconds(uint64_t s)
{
	uint64_t start = clock_ticks(), ticks = s * 1000000 * clock_ticks_per_us();

	printf("gpu waiting %llu s\n", (unsigned long long)s);
	while (clock_ticks() - start < ticks)
		delay_us(10000);
}

int guest_main(void)
{
	uint8_t *a, *b;
	uint32_t alen;
	uint64_t v;

	if (cmdline_get_u64("width", &v))
		width = (uint32_t)v;
	if (cmdline_get_u64("height", &v))
		height = (uint32_t)v;
	TEST_ASSERT(width >= BOX_X + BOX_W && height >= BOX_Y + BOX_H && width <= 1024 &&
		    height <= 1024);
	setup();
	display_info();

	EXPECT(create(0, width, height), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	EXPECT(create(RES_ID, width, height), VIRTIO_GPU_RESP_OK_NODATA);
	EXPECT(create(RES_ID, 8, 8), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID); /* id in use */
	attach(&a, &b, &alen);
	for (uint32_t y = 0; y < height; y++)
		for (uint32_t x = 0; x < width; x++)
			put(a, b, alen, x, y, gpu_pattern(x, y));
	EXPECT(transfer(0, 0, width + 1, height), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	EXPECT(transfer(0, 0, width, height), VIRTIO_GPU_RESP_OK_NODATA);
	EXPECT(set_scanout(5, RES_ID), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
	EXPECT(set_scanout(0, RES_ID + 1), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	EXPECT(set_scanout(0, RES_ID), VIRTIO_GPU_RESP_OK_NODATA);
	EXPECT(flush(0, 0, width, height), VIRTIO_GPU_RESP_OK_NODATA);

	if (cmdline_get_u64("wait", &v))
		wait_seconds(v);
	/* The partial update: only the box travels. */
	for (uint32_t y = BOX_Y; y < BOX_Y + BOX_H; y++)
		for (uint32_t x = BOX_X; x < BOX_X + BOX_W; x++)
			put(a, b, alen, x, y, 0xffffff);
	EXPECT(transfer(BOX_X, BOX_Y, BOX_W, BOX_H), VIRTIO_GPU_RESP_OK_NODATA);
	EXPECT(flush(BOX_X, BOX_Y, BOX_W, BOX_H), VIRTIO_GPU_RESP_OK_NODATA);
	printf("gpu pattern %ux%u drawn, box %ux%u at %u,%u\n", width, height, BOX_W, BOX_H, BOX_X,
	       BOX_Y);
	return 0;
}
