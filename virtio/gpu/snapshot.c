/* virtio-gpu 2D state in a snapshot. See virtio/gpu/snapshot.h. */
#include "virtio/gpu/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t image_bytes(const struct gpu_resource *r)
{
	return (uint64_t)r->stride * r->height;
}

static size_t res_bytes(const struct gpu_resource *r)
{
	return sizeof(struct gpu_snap_res) + r->nbacking * sizeof(struct virtio_gpu_mem_entry) +
	       image_bytes(r);
}

size_t gpu_state_save_size(const struct gpu_state *g)
{
	size_t n = sizeof(struct gpu_snap_hdr);

	for (unsigned i = 0; i < GPU_MAX_RESOURCES; i++) {
		if (g->res.res[i])
			n += res_bytes(g->res.res[i]);
	}
	return n;
}

static uint8_t *save_res(const struct gpu_resource *r, uint8_t *p)
{
	struct gpu_snap_res h = {r->id, r->format, r->width, r->height, r->nbacking, 0};

	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (uint32_t i = 0; i < r->nbacking; i++) {
		struct virtio_gpu_mem_entry e = {.addr = r->backing[i].addr,
						 .length = r->backing[i].len};

		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	memcpy(p, r->pixels, image_bytes(r));
	return p + image_bytes(r);
}

int gpu_state_save(const struct gpu_state *g, void *buf, size_t cap, size_t *len)
{
	struct gpu_snap_hdr h = {.magic = GPU_SNAP_MAGIC,
				 .nres = g->res.count,
				 .width = g->width,
				 .height = g->height,
				 .cursor = g->cursor};
	uint8_t *p = buf;

	if (cap < gpu_state_save_size(g))
		return -ENOSPC;
	for (unsigned i = 0; i < GPU_NUM_SCANOUTS; i++) {
		const struct gpu_scanout *s = &g->scanouts[i];

		if (s->enabled)
			h.scanouts[i] = (struct gpu_snap_scanout){1, s->resource_id, s->r};
	}
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (unsigned i = 0; i < GPU_MAX_RESOURCES; i++) {
		if (g->res.res[i])
			p = save_res(g->res.res[i], p);
	}
	*len = (size_t)(p - (uint8_t *)buf);
	return 0;
}

/* ---- restore: a cursor over the untrusted bytes ---- */

struct reader {
	const uint8_t *p;
	size_t left;
};

static const void *take(struct reader *rd, uint64_t n)
{
	const void *p = rd->p;

	if (n > rd->left)
		return NULL;
	rd->p += n;
	rd->left -= n;
	return p;
}

/* ATTACH_BACKING's checks (gpu_res_attach) on the saved entries, copied out first (aligned). */
static int restore_backing(struct gpu_res_table *t, const struct guest_mem *mem, uint32_t id,
			   struct reader *rd, uint32_t n)
{
	struct virtio_gpu_mem_entry *e;
	const void *src;
	int r = 0;

	if (n == 0)
		return 0;
	if (n > GPU_MAX_ENTRIES || !(src = take(rd, (uint64_t)n * sizeof(*e))))
		return -EINVAL;
	e = malloc((size_t)n * sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(e, src, (size_t)n * sizeof(*e));
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].padding)
			r = -EINVAL;
	}
	if (!r) {
		uint32_t err = gpu_res_attach(t, mem, id, e, n);

		if (err != VIRTIO_GPU_RESP_OK_NODATA)
			r = err == VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	}
	free(e);
	return r;
}

static int restore_res(struct gpu_res_table *t, const struct guest_mem *mem, struct reader *rd)
{
	const void *src = take(rd, sizeof(struct gpu_snap_res));
	struct gpu_snap_res h;
	struct gpu_resource *r;
	uint32_t err;
	int ret;

	if (!src)
		return -EINVAL;
	memcpy(&h, src, sizeof(h));
	if (h.reserved)
		return -EINVAL;
	err = gpu_res_create(t, h.id, h.format, h.width, h.height);
	if (err != VIRTIO_GPU_RESP_OK_NODATA)
		return err == VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	ret = restore_backing(t, mem, h.id, rd, h.nbacking);
	r = gpu_res_find(t, h.id);
	if (!ret && !(src = take(rd, image_bytes(r))))
		ret = -EINVAL;
	if (!ret)
		memcpy(r->pixels, src, image_bytes(r));
	return ret;
}

/* A scanout names a restored resource and a non-empty rect inside it (SET_SCANOUT's checks), or
 * is off and all zero. */
static bool scanout_ok(const struct gpu_res_table *t, const struct gpu_snap_scanout *s)
{
	const struct gpu_resource *r;

	if (!s->enabled)
		return !s->resource_id && !s->r.x && !s->r.y && !s->r.width && !s->r.height;
	r = gpu_res_find(t, s->resource_id);
	return s->enabled == 1 && r && s->r.width && s->r.height &&
	       gpu_rect_inside(&s->r, r->width, r->height);
}

static int check_rest(const struct gpu_snap_hdr *h, const struct gpu_res_table *t)
{
	if (h->width == 0 || h->height == 0 || h->width > GPU_MAX_DIM || h->height > GPU_MAX_DIM)
		return -EINVAL;
	for (unsigned i = 0; i < GPU_NUM_SCANOUTS; i++) {
		if (!scanout_ok(t, &h->scanouts[i]))
			return -EINVAL;
	}
	/* UPDATE_CURSOR's check; positions are whatever the driver sent. */
	if (h->cursor.resource_id && !gpu_res_find(t, h->cursor.resource_id))
		return -EINVAL;
	return 0;
}

/* Builds the saved resources in `t` (empty, g's cap); checks everything else. */
static int build(struct gpu_res_table *t, const struct guest_mem *mem, const void *buf, size_t len,
		 struct gpu_snap_hdr *h)
{
	struct reader rd = {buf, len};
	const void *src = take(&rd, sizeof(*h));
	int r = 0;

	if (!src)
		return -EINVAL;
	memcpy(h, src, sizeof(*h));
	if (h->magic != GPU_SNAP_MAGIC || h->reserved || h->nres > GPU_MAX_RESOURCES)
		return -EINVAL;
	for (uint32_t i = 0; !r && i < h->nres; i++)
		r = restore_res(t, mem, &rd);
	if (!r && rd.left)
		r = -EINVAL; /* trailing bytes: not a state this device wrote */
	return r ? r : check_rest(h, t);
}

int gpu_state_restore(struct gpu_state *g, const struct guest_mem *mem, const void *buf, size_t len)
{
	struct gpu_res_table *t = malloc(sizeof(*t));
	struct gpu_snap_hdr h;
	int r;

	if (!t)
		return -ENOMEM;
	gpu_res_init(t, g->res.cap);
	r = build(t, mem, buf, len, &h);
	if (r) {
		gpu_res_clear(t);
		free(t);
		return r;
	}
	gpu_state_reset(g);
	g->res = *t; /* the table moves: its resources are g's now */
	free(t);
	g->width = h.width;
	g->height = h.height;
	g->cursor = h.cursor;
	for (unsigned i = 0; i < GPU_NUM_SCANOUTS; i++) {
		const struct gpu_snap_scanout *s = &h.scanouts[i];

		g->scanouts[i] = (struct gpu_scanout){s->enabled == 1, s->resource_id, s->r};
	}
	gpu_scanout_redraw(g);
	return 0;
}
