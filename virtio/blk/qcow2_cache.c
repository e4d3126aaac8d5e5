/* A small LRU cache of table clusters (L2 tables, refcount blocks). A dirty table stays in
 * memory until qcow2_flush() writes it in the crash-safe order; evicting a dirty one therefore
 * flushes the whole image first, so no table reaches the file out of that order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/blk/qcow2_int.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t cs)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		c->slot[i].data = malloc(cs);
		if (!c->slot[i].data)
			return -ENOMEM;
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->slot[i].data);
	memset(c, 0, sizeof(*c));
}

static struct qcow2_slot *find(struct qcow2_cache *c, uint64_t off)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slot[i].off == off)
			return &c->slot[i];
	return NULL;
}

/* The least recently used slot, written back (through a whole flush) when dirty. */
static struct qcow2_slot *victim(struct qcow2 *q, struct qcow2_cache *c, int *r)
{
	struct qcow2_slot *v = &c->slot[0];
	for (unsigned i = 1; i < c->n; i++)
		if (c->slot[i].used < v->used)
			v = &c->slot[i];
	*r = v->dirty ? qcow2_flush_meta(q) : 0;
	return *r ? NULL : v;
}

uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool fresh, int *r)
{
	struct qcow2_slot *s = find(c, off);
	*r = 0;
	if (!s) {
		s = victim(q, c, r);
		if (!s)
			return NULL;
		s->off = 0;
		if (fresh)
			memset(s->data, 0,
			       q->cs); /* a table just allocated: zeroes, not the file */
		else if ((*r = qcow2_pread(q->fd, s->data, q->cs, off)))
			return NULL;
		s->off = off;
		s->dirty = fresh;
	}
	s->used = ++c->clock;
	return s->data;
}

void qcow2_cache_mark(struct qcow2_cache *c, const uint8_t *data)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slot[i].data == data)
			c->slot[i].dirty = true;
}

int qcow2_cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_slot *s = &c->slot[i];
		if (!s->dirty)
			continue;
		int r = qcow2_pwrite(q->fd, s->data, q->cs, s->off);
		if (r)
			return r;
		s->dirty = false;
	}
	return 0;
}
