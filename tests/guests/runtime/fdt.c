#include "fdt.h"

#include "platform.h"
#include "printf.h"
#include "string.h"

/* Structure block tokens (Devicetree Specification v0.4 §5.4.1). */
#define TOK_BEGIN_NODE 1
#define TOK_END_NODE   2
#define TOK_PROP       3
#define TOK_NOP	       4
#define TOK_END	       9

#define MAX_DEPTH   16
#define REACHABLE   0x100000000ULL /* the runtime maps the first 4 GiB */
#define HEADER_SIZE 40

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t dt_cells(const void *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 32 | be32((const uint8_t *)p + 4 * i);
	return v;
}

/* The block [off, off + size) inside [0, total)? */
static bool inside(uint32_t off, uint32_t size, uint32_t total)
{
	return off <= total && size <= total - off;
}

int dt_open(struct dt *t, uint64_t paddr, uint64_t max)
{
	if (!paddr || paddr >= REACHABLE || max < HEADER_SIZE || REACHABLE - paddr < HEADER_SIZE) {
		printf("dt: no blob at 0x%llx\n", (unsigned long long)paddr);
		return -1;
	}
	const uint8_t *h = phys_ptr(paddr);
	uint32_t total = be32(h + 4), os = be32(h + 8), ostr = be32(h + 12);
	uint32_t version = be32(h + 20), sstr = be32(h + 32), ss = be32(h + 36);
	if (be32(h) != DT_MAGIC || version < 16 || total < HEADER_SIZE || total > max ||
	    total > REACHABLE - paddr || !inside(os, ss, total) || !inside(ostr, sstr, total)) {
		printf("dt: bad header at 0x%llx (magic 0x%x version %u size %u)\n",
		       (unsigned long long)paddr, be32(h), version, total);
		return -1;
	}
	*t = (struct dt){h, paddr, total, h + os, h + ostr, ss, sstr};
	return 0;
}

static bool token(const struct dt *t, uint32_t off, uint32_t *tok)
{
	if (!inside(off, 4, t->structs_size))
		return false;
	*tok = be32(t->structs + off);
	return true;
}

/* Offset just past the name of the node at `off`, 4-byte aligned; 0 when malformed. */
static uint32_t after_name(const struct dt *t, uint32_t off)
{
	uint32_t tok;
	if (!token(t, off, &tok) || tok != TOK_BEGIN_NODE)
		return 0;
	for (uint32_t i = off + 4; i < t->structs_size; i++)
		if (t->structs[i] == 0)
			return (i + 1 + 3) & ~3u;
	return 0;
}

/* Offset past the property at `off` (a TOK_PROP), 0 when malformed. */
static uint32_t after_prop(const struct dt *t, uint32_t off)
{
	if (!inside(off, 12, t->structs_size))
		return 0;
	uint32_t len = be32(t->structs + off + 4);
	if (!inside(off + 12, len, t->structs_size))
		return 0;
	return (off + 12 + len + 3) & ~3u;
}

int dt_next_node(const struct dt *t, int off, int *depth)
{
	uint32_t pos = 0, tok;
	int d = 0;
	if (off >= 0) {
		pos = after_name(t, (uint32_t)off);
		d = *depth + 1; /* inside `off` */
		if (!pos)
			return -1;
	}
	while (token(t, pos, &tok)) {
		switch (tok) {
		case TOK_BEGIN_NODE:
			*depth = d;
			return (int)pos;
		case TOK_END_NODE:
			d--;
			pos += 4;
			break;
		case TOK_NOP:
			pos += 4;
			break;
		case TOK_PROP:
			pos = after_prop(t, pos);
			if (!pos)
				return -1;
			break;
		default:
			return -1;
		}
	}
	return -1;
}

const char *dt_name(const struct dt *t, int off)
{
	if (off < 0 || !after_name(t, (uint32_t)off))
		return NULL;
	return (const char *)t->structs + off + 4;
}

/* Does the path component [c, c + n) name this node? */
static bool name_is(const char *name, const char *c, size_t n)
{
	return strlen(name) == n && !strncmp(name, c, n);
}

int dt_path(const struct dt *t, const char *path)
{
	int depth = 0, off = dt_next_node(t, -1, &depth), want = 1;
	const char *p = path;
	if (*p++ != '/')
		return -1;
	while (off >= 0 && *p) {
		const char *slash = p;
		while (*slash && *slash != '/')
			slash++;
		for (;;) {
			off = dt_next_node(t, off, &depth);
			if (off < 0 || depth < want)
				return -1;
			if (depth == want && name_is(dt_name(t, off), p, (size_t)(slash - p)))
				break;
		}
		p = *slash ? slash + 1 : slash;
		want++;
	}
	return off;
}

int dt_parent(const struct dt *t, int target)
{
	int stack[MAX_DEPTH], depth = 0;
	for (int off = dt_next_node(t, -1, &depth); off >= 0; off = dt_next_node(t, off, &depth)) {
		if (depth >= MAX_DEPTH)
			continue;
		stack[depth] = off;
		if (off == target)
			return depth ? stack[depth - 1] : -1;
	}
	return -1;
}

const void *dt_prop(const struct dt *t, int off, const char *name, uint32_t *len)
{
	uint32_t pos = off >= 0 ? after_name(t, (uint32_t)off) : 0, tok;
	while (pos && token(t, pos, &tok) && (tok == TOK_PROP || tok == TOK_NOP)) {
		if (tok == TOK_NOP) {
			pos += 4;
			continue;
		}
		uint32_t next = after_prop(t, pos), nameoff = be32(t->structs + pos + 8);
		if (!next || nameoff >= t->strings_size)
			return NULL;
		const char *s = (const char *)t->strings + nameoff;
		size_t room = t->strings_size - nameoff;
		if (strlen(name) < room && !strncmp(s, name, room) && s[strlen(name)] == 0) {
			*len = be32(t->structs + pos + 4);
			return t->structs + pos + 12;
		}
		pos = next;
	}
	return NULL;
}

bool dt_compatible(const struct dt *t, int off, const char *compat)
{
	uint32_t len, i = 0;
	const char *c = dt_prop(t, off, "compatible", &len);
	size_t n = strlen(compat);
	while (c && i < len) {
		if (len - i > n && !strncmp(c + i, compat, n) && c[i + n] == 0)
			return true;
		while (i < len && c[i])
			i++;
		i++;
	}
	return false;
}

int dt_find_compatible(const struct dt *t, int off, const char *compat)
{
	int depth = 0;
	while ((off = dt_next_node(t, off, &depth)) >= 0)
		if (dt_compatible(t, off, compat))
			return off;
	return -1;
}

uint32_t dt_u32(const struct dt *t, int off, const char *name, uint32_t dflt)
{
	uint32_t len;
	const void *p = dt_prop(t, off, name, &len);
	return p && len == 4 ? be32(p) : dflt;
}

int dt_by_phandle(const struct dt *t, uint32_t phandle)
{
	int depth = 0;

	for (int off = dt_next_node(t, -1, &depth); off >= 0; off = dt_next_node(t, off, &depth)) {
		if (dt_u32(t, off, "phandle", 0) == phandle)
			return off;
	}
	return -1;
}
