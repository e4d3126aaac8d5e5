/* virtio-gpu 2D resources and their guest backing. See virtio/gpu/res.h. */
#include "virtio/gpu/res.h"

#include <stdlib.h>
#include <string.h>

#define OK	      VIRTIO_GPU_RESP_OK_NODATA
#define ERR_UNSPEC    VIRTIO_GPU_RESP_ERR_UNSPEC
#define ERR_NOMEM     VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY
#define ERR_RESOURCE  VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define ERR_PARAMETER VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER

void gpu_res_init(struct gpu_res_table *t, uint64_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap ? cap : GPU_RES_DEFAULT_CAP;
}

static uint64_t backing_bytes(uint32_t n)
{
	return (uint64_t)n * sizeof(struct gpu_backing);
}

static void drop_backing(struct gpu_res_table *t, struct gpu_resource *r)
{
	t->host_bytes -= backing_bytes(r->nbacking);
	free(r->backing);
	r->backing = NULL;
	r->nbacking = 0;
	r->backing_len = 0;
}

static void free_slot(struct gpu_res_table *t, unsigned i)
{
	struct gpu_resource *r = t->res[i];

	drop_backing(t, r);
	t->host_bytes -= (uint64_t)r->stride * r->height;
	free(r->pixels);
	free(r);
	t->res[i] = NULL;
	t->count--;
}

void gpu_res_clear(struct gpu_res_table *t)
{
	for (unsigned i = 0; i < GPU_MAX_RESOURCES; i++) {
		if (t->res[i])
			free_slot(t, i);
	}
}

static int find_slot(const struct gpu_res_table *t, uint32_t id)
{
	for (unsigned i = 0; id && i < GPU_MAX_RESOURCES; i++) {
		if (t->res[i] && t->res[i]->id == id)
			return (int)i;
	}
	return -1;
}

struct gpu_resource *gpu_res_find(const struct gpu_res_table *t, uint32_t id)
{
	int i = find_slot(t, id);

	return i < 0 ? NULL : t->res[i];
}

static bool gpu_format_valid(uint32_t format)
{
	switch (format) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM:
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM:
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM:
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM:
		return true;
	default:
		return false;
	}
}

/* The format names give the byte order in memory (B8G8R8X8 is B, G, R, X at increasing
 * addresses: Linux's DRM_FORMAT_XRGB8888 on a little-endian guest). */
uint32_t gpu_pixel_xrgb(uint32_t format, const uint8_t *p)
{
	unsigned r, g, b;

	switch (format) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM:
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM:
		b = p[0], g = p[1], r = p[2];
		break;
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM:
		r = p[1], g = p[2], b = p[3];
		break;
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM:
		r = p[0], g = p[1], b = p[2];
		break;
	default: /* A8B8G8R8, X8B8G8R8 */
		b = p[1], g = p[2], r = p[3];
		break;
	}
	return r << 16 | g << 8 | b;
}

bool gpu_rect_inside(const struct virtio_gpu_rect *r, uint32_t width, uint32_t height)
{
	return (uint64_t)r->x + r->width <= width && (uint64_t)r->y + r->height <= height;
}

uint32_t gpu_res_create(struct gpu_res_table *t, uint32_t id, uint32_t format, uint32_t width,
			uint32_t height)
{
	struct gpu_resource *r;
	uint64_t bytes, total;
	int slot = -1;

	if (id == 0 || find_slot(t, id) >= 0)
		return ERR_RESOURCE;
	if (!gpu_format_valid(format) || width == 0 || height == 0 || width > GPU_MAX_DIM ||
	    height > GPU_MAX_DIM)
		return ERR_PARAMETER;
	/* Bounded dimensions cannot overflow 64 bits, but say so where the size is made. */
	if (__builtin_mul_overflow((uint64_t)width * GPU_BPP, (uint64_t)height, &bytes) ||
	    __builtin_add_overflow(t->host_bytes, bytes, &total) || total > t->cap ||
	    t->count >= GPU_MAX_RESOURCES)
		return ERR_NOMEM;
	for (unsigned i = 0; slot < 0 && i < GPU_MAX_RESOURCES; i++) {
		if (!t->res[i])
			slot = (int)i;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->pixels = calloc(1, bytes);
	if (!r || !r->pixels) {
		free(r);
		return ERR_NOMEM;
	}
	*r = (struct gpu_resource){.id = id,
				   .format = format,
				   .width = width,
				   .height = height,
				   .stride = width * GPU_BPP,
				   .pixels = r->pixels};
	t->res[slot] = r;
	t->count++;
	t->host_bytes = total;
	return OK;
}

uint32_t gpu_res_unref(struct gpu_res_table *t, uint32_t id)
{
	int i = find_slot(t, id);

	if (i < 0)
		return ERR_RESOURCE;
	free_slot(t, (unsigned)i);
	return OK;
}

/* Validates and copies the entries; returns OK or an error with nothing allocated. */
static uint32_t copy_entries(const struct guest_mem *mem, const struct virtio_gpu_mem_entry *in,
			     uint32_t n, struct gpu_backing *out, uint64_t *total)
{
	uint64_t off = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct virtio_gpu_mem_entry e;

		memcpy(&e, &in[i], sizeof(e)); /* the caller's copy; read each field once */
		if (e.length == 0 || !guest_mem_valid(mem, e.addr, e.length))
			return ERR_PARAMETER;
		out[i] = (struct gpu_backing){e.addr, e.length, off};
		if (__builtin_add_overflow(off, e.length, &off))
			return ERR_PARAMETER;
	}
	*total = off;
	return OK;
}

uint32_t gpu_res_attach(struct gpu_res_table *t, const struct guest_mem *mem, uint32_t id,
			const struct virtio_gpu_mem_entry *entries, uint32_t n)
{
	struct gpu_resource *r = gpu_res_find(t, id);
	struct gpu_backing *list;
	uint64_t total, need;
	uint32_t err;

	if (!r)
		return ERR_RESOURCE;
	if (r->backing)
		return ERR_UNSPEC;
	if (n == 0 || n > GPU_MAX_ENTRIES)
		return ERR_PARAMETER;
	if (__builtin_add_overflow(t->host_bytes, backing_bytes(n), &need) || need > t->cap)
		return ERR_NOMEM;
	list = calloc(n, sizeof(*list));
	if (!list)
		return ERR_NOMEM;
	err = copy_entries(mem, entries, n, list, &total);
	if (err == OK && total < (uint64_t)r->stride * r->height)
		err = ERR_PARAMETER; /* the resource does not fit its backing */
	if (err != OK) {
		free(list);
		return err;
	}
	r->backing = list;
	r->nbacking = n;
	r->backing_len = total;
	t->host_bytes = need;
	return OK;
}

uint32_t gpu_res_detach(struct gpu_res_table *t, uint32_t id)
{
	struct gpu_resource *r = gpu_res_find(t, id);

	if (!r)
		return ERR_RESOURCE;
	if (!r->backing)
		return ERR_UNSPEC;
	drop_backing(t, r);
	return OK;
}

/* The entry holding backing byte `off` (< backing_len): binary search on the offsets. */
static uint32_t entry_at(const struct gpu_resource *r, uint64_t off)
{
	uint32_t lo = 0, hi = r->nbacking - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (r->backing[mid].off <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Copies backing bytes [off, off + len) (checked to be inside the backing) to dst. Each piece
 * goes through guest_mem_read(), so RAM is validated again at the time of the copy. */
static int copy_from_backing(const struct gpu_resource *r, const struct guest_mem *mem,
			     uint64_t off, uint8_t *dst, uint32_t len)
{
	uint32_t i = entry_at(r, off);

	while (len) {
		const struct gpu_backing *e = &r->backing[i++];
		uint64_t in = off - e->off;
		uint32_t n = e->len - in < len ? (uint32_t)(e->len - in) : len;

		if (guest_mem_read(mem, e->addr + in, dst, n))
			return -1;
		dst += n, off += n, len -= n;
	}
	return 0;
}

uint32_t gpu_res_transfer(struct gpu_res_table *t, const struct guest_mem *mem, uint32_t id,
			  const struct virtio_gpu_rect *rect, uint64_t offset)
{
	struct gpu_resource *r = gpu_res_find(t, id);
	struct virtio_gpu_rect rc = *rect;
	uint64_t row_bytes, last, end;

	if (!r)
		return ERR_RESOURCE;
	if (!r->backing)
		return ERR_UNSPEC;
	if (!gpu_rect_inside(&rc, r->width, r->height))
		return ERR_PARAMETER;
	if (rc.width == 0 || rc.height == 0)
		return OK;
	row_bytes = (uint64_t)rc.width * GPU_BPP;
	/* The last row's end: offset + (height - 1) * stride + width * 4, overflow-checked. */
	if (__builtin_add_overflow(offset, (uint64_t)(rc.height - 1) * r->stride, &last) ||
	    __builtin_add_overflow(last, row_bytes, &end) || end > r->backing_len)
		return ERR_PARAMETER;
	for (uint32_t h = 0; h < rc.height; h++) {
		uint8_t *dst =
		    r->pixels + (uint64_t)(rc.y + h) * r->stride + (uint64_t)rc.x * GPU_BPP;

		if (copy_from_backing(r, mem, offset + (uint64_t)h * r->stride, dst,
				      (uint32_t)row_bytes))
			return ERR_UNSPEC;
	}
	return OK;
}
