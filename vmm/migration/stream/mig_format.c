/* Encoders and checked decoders of the migration frames' payloads (layout in mig_format.h). */
#include "vmm/migration/stream/mig_format.h"

#include <errno.h>
#include <string.h>

#include "vmm/snapshot/format/snap_err.h"

void mig_put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t mig_get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void mig_hello_from_mem(struct mig_hello *h, const struct guest_mem *mem)
{
	h->version = MIG_VERSION;
	h->nregions = (uint32_t)mem->nregions;
	h->ram_size = mem->ram_size;
	for (int i = 0; i < mem->nregions; i++) {
		h->regions[i].gpa = mem->regions[i].gpa;
		h->regions[i].size = mem->regions[i].size;
	}
}

size_t mig_hello_encode(const struct mig_hello *h, uint8_t *buf, size_t cap)
{
	bool cpu = h->flags & MIG_HELLO_CPU;
	size_t need = 32 + 16 * (size_t)h->nregions + 4 + h->config_len +
		      (cpu ? 4 + (size_t)h->cpu_model_len : 0);
	if (h->nregions > GUEST_MEM_MAX_REGIONS || h->config_len > MIG_MAX_CONFIG ||
	    h->cpu_model_len > MIG_MAX_CPU_MODEL || need > cap)
		return 0;
	memcpy(buf, MIG_MAGIC, 8);
	mig_put_le(buf + 8, h->version, 4);
	mig_put_le(buf + 12, h->flags, 4);
	mig_put_le(buf + 16, h->nvcpus, 4);
	mig_put_le(buf + 20, h->nregions, 4);
	mig_put_le(buf + 24, h->ram_size, 8);
	uint8_t *p = buf + 32;
	for (uint32_t i = 0; i < h->nregions; i++, p += 16) {
		mig_put_le(p, h->regions[i].gpa, 8);
		mig_put_le(p + 8, h->regions[i].size, 8);
	}
	mig_put_le(p, h->config_len, 4);
	if (h->config_len)
		memcpy(p + 4, h->config, h->config_len);
	p += 4 + h->config_len;
	if (cpu) {
		mig_put_le(p, h->cpu_model_len, 4);
		if (h->cpu_model_len)
			memcpy(p + 4, h->cpu_model, h->cpu_model_len);
	}
	return need;
}

/* The regions of a HELLO: each whole pages, ascending, disjoint, summing to ram_size. */
static int check_regions(const struct mig_hello *h, char *err, size_t errlen)
{
	uint64_t sum = 0, end = 0;
	for (uint32_t i = 0; i < h->nregions; i++) {
		uint64_t gpa = h->regions[i].gpa, size = h->regions[i].size, last;
		if (!size || size % MIG_PAGE || gpa % MIG_PAGE)
			return snap_err(err, errlen, -EINVAL,
					"region %u: start 0x%llx size 0x%llx is not whole pages", i,
					(unsigned long long)gpa, (unsigned long long)size);
		if (__builtin_add_overflow(gpa, size, &last) || (i && gpa < end))
			return snap_err(err, errlen, -EINVAL,
					"region %u overlaps or wraps: start 0x%llx size 0x%llx", i,
					(unsigned long long)gpa, (unsigned long long)size);
		end = last;
		if (__builtin_add_overflow(sum, size, &sum))
			return snap_err(err, errlen, -EINVAL, "region sizes overflow");
	}
	if (sum != h->ram_size)
		return snap_err(err, errlen, -EINVAL, "regions hold %llu bytes, RAM is %llu",
				(unsigned long long)sum, (unsigned long long)h->ram_size);
	return 0;
}

/* The CPU model after the configuration: u32 length, then exactly that many bytes. */
static int cpu_model_at(struct mig_hello *h, const uint8_t *p, size_t left, char *err,
			size_t errlen)
{
	if (left < 4)
		return snap_err(err, errlen, -EINVAL, "HELLO's CPU model is cut short");
	h->cpu_model_len = (uint32_t)mig_get_le(p, 4);
	if (h->cpu_model_len > MIG_MAX_CPU_MODEL || left - 4 != h->cpu_model_len)
		return snap_err(err, errlen, -EINVAL,
				"HELLO says %u bytes of CPU model, carries %zu", h->cpu_model_len,
				left - 4);
	h->cpu_model = p + 4;
	return 0;
}

int mig_hello_decode(const uint8_t *p, size_t len, struct mig_hello *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (len < 32 || memcmp(p, MIG_MAGIC, 8))
		return snap_err(err, errlen, -EINVAL, "not a vmm migration stream (bad magic)");
	h->version = (uint32_t)mig_get_le(p + 8, 4);
	if (h->version != MIG_VERSION)
		return snap_err(err, errlen, -EINVAL, "stream version %u, this vmm reads %u",
				h->version, MIG_VERSION);
	h->flags = (uint32_t)mig_get_le(p + 12, 4);
	if (h->flags & ~MIG_HELLO_FLAGS)
		return snap_err(err, errlen, -EINVAL, "unknown flags 0x%x", h->flags);
	if ((h->flags & MIG_HELLO_PREMAP) && !(h->flags & MIG_HELLO_LOCAL))
		return snap_err(err, errlen, -EINVAL, "flag PREMAP without LOCAL");
	h->nvcpus = (uint32_t)mig_get_le(p + 16, 4);
	if (!h->nvcpus || h->nvcpus > MIG_MAX_VCPUS)
		return snap_err(err, errlen, -EINVAL, "%u vCPUs (1..%u)", h->nvcpus, MIG_MAX_VCPUS);
	h->nregions = (uint32_t)mig_get_le(p + 20, 4);
	if (!h->nregions || h->nregions > GUEST_MEM_MAX_REGIONS)
		return snap_err(err, errlen, -EINVAL, "%u RAM regions (1..%u)", h->nregions,
				GUEST_MEM_MAX_REGIONS);
	h->ram_size = mig_get_le(p + 24, 8);
	size_t off = 32 + 16 * (size_t)h->nregions;
	if (len < off + 4)
		return snap_err(err, errlen, -EINVAL, "HELLO of %zu bytes is cut short", len);
	for (uint32_t i = 0; i < h->nregions; i++) {
		h->regions[i].gpa = mig_get_le(p + 32 + 16 * i, 8);
		h->regions[i].size = mig_get_le(p + 40 + 16 * i, 8);
	}
	int r = check_regions(h, err, errlen);
	if (r)
		return r;
	h->config_len = (uint32_t)mig_get_le(p + off, 4);
	size_t left = len - off - 4;
	bool cpu = h->flags & MIG_HELLO_CPU;
	if (h->config_len > MIG_MAX_CONFIG || (cpu ? left < h->config_len : left != h->config_len))
		return snap_err(err, errlen, -EINVAL,
				"HELLO says %u bytes of configuration, carries %zu", h->config_len,
				left);
	h->config = (const char *)p + off + 4;
	return cpu ? cpu_model_at(h, p + off + 4 + h->config_len, left - h->config_len, err, errlen)
		   : 0;
}

size_t mig_mem_encode(const struct mig_mem *m, uint8_t *buf, size_t cap)
{
	if (cap < MIG_MEM_HDR)
		return 0;
	mig_put_le(buf, m->region, 4);
	mig_put_le(buf + 4, m->flags, 4);
	mig_put_le(buf + 8, m->offset, 8);
	mig_put_le(buf + 16, m->npages, 4);
	mig_put_le(buf + 20, 0, 4);
	return MIG_MEM_HDR;
}

int mig_mem_decode(const uint8_t *p, size_t len, const struct mig_hello *h, struct mig_mem *m,
		   char *err, size_t errlen)
{
	if (len < MIG_MEM_HDR)
		return snap_err(err, errlen, -EINVAL, "MEM frame of %zu bytes", len);
	m->region = (uint32_t)mig_get_le(p, 4);
	m->flags = (uint32_t)mig_get_le(p + 4, 4);
	m->offset = mig_get_le(p + 8, 8);
	m->npages = (uint32_t)mig_get_le(p + 16, 4);
	if (m->region >= h->nregions)
		return snap_err(err, errlen, -EINVAL, "MEM for region %u, the VM has %u", m->region,
				h->nregions);
	if ((m->flags & ~MIG_MEM_ZERO) || mig_get_le(p + 20, 4))
		return snap_err(err, errlen, -EINVAL, "MEM with unknown flags 0x%x", m->flags);
	if (!m->npages || m->npages > MIG_MAX_RUN || m->offset % MIG_PAGE)
		return snap_err(err, errlen, -EINVAL, "MEM run of %u pages at 0x%llx", m->npages,
				(unsigned long long)m->offset);
	uint64_t size = h->regions[m->region].size, bytes = (uint64_t)m->npages * MIG_PAGE;
	if (m->offset > size || bytes > size - m->offset)
		return snap_err(err, errlen, -EINVAL,
				"MEM run 0x%llx+0x%llx outside region %u of 0x%llx bytes",
				(unsigned long long)m->offset, (unsigned long long)bytes, m->region,
				(unsigned long long)size);
	uint64_t want = MIG_MEM_HDR + ((m->flags & MIG_MEM_ZERO) ? 0 : bytes);
	if (len != want)
		return snap_err(err, errlen, -EINVAL, "MEM frame of %zu bytes, its run needs %llu",
				len, (unsigned long long)want);
	return 0;
}

size_t mig_round_encode(const struct mig_round *r, uint8_t *buf, size_t cap)
{
	if (cap < 16)
		return 0;
	mig_put_le(buf, r->round, 4);
	mig_put_le(buf + 4, 0, 4);
	mig_put_le(buf + 8, r->pages, 8);
	return 16;
}

int mig_round_decode(const uint8_t *p, size_t len, struct mig_round *r, char *err, size_t errlen)
{
	if (len != 16 || mig_get_le(p + 4, 4))
		return snap_err(err, errlen, -EINVAL, "bad ROUND frame (%zu bytes)", len);
	r->round = (uint32_t)mig_get_le(p, 4);
	r->pages = mig_get_le(p + 8, 8);
	return 0;
}

size_t mig_end_encode(const struct mig_end *e, uint8_t *buf, size_t cap)
{
	if (cap < 16)
		return 0;
	mig_put_le(buf, e->frames, 8);
	mig_put_le(buf + 8, e->bytes, 8);
	return 16;
}

int mig_end_decode(const uint8_t *p, size_t len, struct mig_end *e, char *err, size_t errlen)
{
	if (len != 16)
		return snap_err(err, errlen, -EINVAL, "bad END frame (%zu bytes)", len);
	e->frames = mig_get_le(p, 8);
	e->bytes = mig_get_le(p + 8, 8);
	return 0;
}

size_t mig_status_encode(uint32_t code, const char *msg, uint8_t *buf, size_t cap)
{
	size_t n = msg ? strnlen(msg, MIG_MAX_MSG) : 0;
	if (cap < 4 + n)
		return 0;
	mig_put_le(buf, code, 4);
	for (size_t i = 0; i < n; i++) /* printable only: the decoder refuses anything else */
		buf[4 + i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? (uint8_t)msg[i] : '?';
	return 4 + n;
}

int mig_status_decode(const uint8_t *p, size_t len, struct mig_status *s, char *err, size_t errlen)
{
	if (len < 4 || len - 4 > MIG_MAX_MSG)
		return snap_err(err, errlen, -EINVAL, "bad status frame (%zu bytes)", len);
	for (size_t i = 4; i < len; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return snap_err(err, errlen, -EINVAL, "status message with byte 0x%02x",
					p[i]);
	}
	s->code = (uint32_t)mig_get_le(p, 4);
	s->msg = (const char *)p + 4;
	s->msg_len = (uint32_t)(len - 4);
	return 0;
}

const char *mig_frame_name(uint32_t type)
{
	static const char *const names[] = {
	    [MIG_F_HELLO] = "HELLO", [MIG_F_MEM] = "MEM",	[MIG_F_ROUND] = "ROUND",
	    [MIG_F_MEMFD] = "MEMFD", [MIG_F_STATE] = "STATE",	[MIG_F_END] = "END",
	    [MIG_F_ERROR] = "ERROR", [MIG_F_RESULT] = "RESULT", [MIG_F_COMMIT] = "COMMIT",
	    [MIG_F_TAPFD] = "TAPFD",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}
