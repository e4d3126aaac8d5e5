/* The working-set file: its parser (untrusted input, fuzzed by tools/fuzz/fuzz_working_set.c),
 * its writer and the identity check. See working_set.h. Plain C library only: the example
 * page-fault handler (tools/uffd-handler) links this file too. */
#include "vmm/snapshot/working_set.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_MAGIC "vmm-working-set 1"

int working_set_mode(const char *name, enum ws_mode *mode)
{
	static const char *const names[] = {
	    [WS_LOAD] = "load", [WS_OFF] = "off", [WS_RECORD] = "record"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i])) {
			*mode = (enum ws_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

int working_set_add(struct working_set *ws, uint64_t first, uint64_t count, bool written)
{
	struct ws_range *last = ws->n ? &ws->ranges[ws->n - 1] : NULL;

	if (!count)
		return 0;
	if (first + count < first || (last && first < last->first + last->count))
		return -EINVAL;
	if (last && first == last->first + last->count && last->written == written) {
		last->count += count;
		ws->pages += count;
		return 0;
	}
	if (ws->n >= WORKING_SET_MAX_RANGES)
		return -EINVAL;
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 64;
		struct ws_range *r = realloc(ws->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		ws->ranges = r;
		ws->cap = cap;
	}
	ws->ranges[ws->n++] = (struct ws_range){first, count, written};
	ws->pages += count;
	return 0;
}

void working_set_free(struct working_set *ws)
{
	free(ws->ranges);
	*ws = (struct working_set){0};
}

/* A line being read: the text from `p` to its end. */
struct cursor {
	const char *p, *end;
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct cursor *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "line %u: %s", c->line, why);
	return -EINVAL;
}

/* The next line (without its '\n', which must be there) into line[]; false at the end or for a
 * line too long or holding a NUL. */
static bool next_line(struct cursor *c, char *line, size_t size)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	size_t n = nl ? (size_t)(nl - c->p) : 0;

	c->line++;
	if (!nl || n >= size || memchr(c->p, '\0', n))
		return false;
	memcpy(line, c->p, n);
	line[n] = '\0';
	c->p = nl + 1;
	return true;
}

/* A number written in decimal (or hex after 0x), nothing before or after but the one space
 * that ends it (`*rest` past it) or the end of the line. */
static bool number(const char *s, uint64_t *v, const char **rest)
{
	int base = 10;
	uint64_t x = 0;
	const char *p = s;

	if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		p += 2;
	}
	const char *digits = p;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		if (x > (UINT64_MAX - d) / (unsigned)base)
			return false;
		x = x * (unsigned)base + d;
	}
	if (p == digits || p - digits > 20 || (*p && *p != ' '))
		return false;
	*v = x;
	*rest = *p ? p + 1 : p;
	return true;
}

/* "KEY NUMBER" -> *v. */
static int keyed(struct cursor *c, const char *key, uint64_t *v)
{
	char line[64];
	size_t k = strlen(key);
	const char *rest;

	if (!next_line(c, line, sizeof(line)))
		return fail(c, "expected `%s NUMBER`, the file ends or the line is too long", key);
	if (strncmp(line, key, k) || line[k] != ' ' || !number(line + k + 1, v, &rest) || *rest)
		return fail(c, "expected `%s NUMBER`", key);
	return 0;
}

static int header(struct cursor *c, struct ws_identity *id, uint64_t *pages, uint64_t *ranges)
{
	char line[64];
	uint64_t crc = 0;

	if (!next_line(c, line, sizeof(line)) || strcmp(line, WS_MAGIC))
		return fail(c, "not a working-set file of this version (`%s` expected)", WS_MAGIC);
	int r = keyed(c, "mem_size", &id->mem_size);
	if (!r)
		r = keyed(c, "state_crc32", &crc);
	if (!r && crc > UINT32_MAX)
		r = fail(c, "state_crc32 is larger than 32 bits");
	if (!r)
		r = keyed(c, "pages", pages);
	if (!r)
		r = keyed(c, "ranges", ranges);
	if (!r && *ranges > WORKING_SET_MAX_RANGES)
		r = fail(c, "%" PRIu64 " ranges: at most %u", *ranges, WORKING_SET_MAX_RANGES);
	if (!r && (id->mem_size & ((1u << WORKING_SET_PAGE_SHIFT) - 1)))
		r = fail(c, "mem_size is not a whole number of 4 KiB pages");
	id->state_crc32 = (uint32_t)crc;
	return r;
}

static int range(struct cursor *c, struct working_set *ws, uint64_t mem_pages)
{
	char line[64];
	uint64_t first, count;
	const char *rest;
	bool written;

	if (!next_line(c, line, sizeof(line)))
		return fail(c, "expected `FIRST COUNT`, the file ends or the line is too long");
	if (!number(line, &first, &rest) || !*rest || !number(rest, &count, &rest))
		return fail(c, "expected `FIRST COUNT` (two numbers)");
	written = !strcmp(rest, "w");
	if (*rest && !written)
		return fail(c, "expected `FIRST COUNT` or `FIRST COUNT w` (written pages)");
	if (!count || first >= mem_pages || count > mem_pages - first)
		return fail(c,
			    "pages %" PRIu64 "+%" PRIu64 " are empty or outside the %" PRIu64
			    " pages of memory",
			    first, count, mem_pages);
	const struct ws_range *last = ws->n ? &ws->ranges[ws->n - 1] : NULL;
	if (last && (first < last->first + last->count ||
		     (first == last->first + last->count && written == last->written)))
		return fail(c, "ranges not sorted, or overlapping the one before, or touching one "
			       "of the same kind");
	return working_set_add(ws, first, count, written) ? fail(c, "out of memory") : 0;
}

int working_set_parse(const char *text, size_t len, struct working_set *ws, struct ws_identity *id,
		      char *err, size_t errlen)
{
	struct cursor c = {text, text + len, 0, err, errlen};
	uint64_t pages, ranges;

	*ws = (struct working_set){0};
	int r = header(&c, id, &pages, &ranges);
	for (uint64_t i = 0; !r && i < ranges; i++)
		r = range(&c, ws, id->mem_size >> WORKING_SET_PAGE_SHIFT);
	if (!r && c.p != c.end) {
		c.line++;
		r = fail(&c, "more after the %" PRIu64 " ranges", ranges);
	}
	if (!r && ws->pages != pages)
		r = fail(&c, "the ranges hold %" PRIu64 " pages, not %" PRIu64, ws->pages, pages);
	if (r)
		working_set_free(ws);
	return r;
}

int working_set_format(const struct working_set *ws, const struct ws_identity *id, char **text,
		       size_t *len)
{
	size_t cap = 160 + ws->n * 42, n;
	char *s = malloc(cap);

	if (!s)
		return -ENOMEM;
	n = (size_t)snprintf(s, cap,
			     WS_MAGIC "\nmem_size %" PRIu64 "\nstate_crc32 0x%08" PRIx32
				      "\npages %" PRIu64 "\nranges %zu\n",
			     id->mem_size, id->state_crc32, ws->pages, ws->n);
	for (size_t i = 0; i < ws->n; i++)
		n += (size_t)snprintf(s + n, cap - n, "%" PRIu64 " %" PRIu64 "%s\n",
				      ws->ranges[i].first, ws->ranges[i].count,
				      ws->ranges[i].written ? " w" : "");
	*text = s;
	*len = n;
	return 0;
}

int working_set_check(const char *path, const struct ws_identity *file,
		      const struct ws_identity *snap, char *err, size_t errlen)
{
	if (file->mem_size == snap->mem_size && file->state_crc32 == snap->state_crc32)
		return 0;
	snprintf(err, errlen,
		 "working set %s does not match this snapshot: it was recorded for a snapshot "
		 "with %" PRIu64 " bytes of memory and state CRC32 0x%08" PRIx32
		 ", this one has %" PRIu64 " and 0x%08" PRIx32
		 " (record it again, remove it, or restore with working_set off)",
		 path, file->mem_size, file->state_crc32, snap->mem_size, snap->state_crc32);
	return -EINVAL;
}
