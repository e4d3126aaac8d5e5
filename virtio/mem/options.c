/* --memory-hotplug's option string and the rules every way of configuring the region shares
 * (virtio/mem/mem.h). */
#include "virtio/mem/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"

#define MIB	   (1ull << 20)
#define OPTS_USAGE "expected total=SIZE[,block=SIZE][,slot=SIZE][,requested=SIZE]"

int virtio_mem_check_opts(struct virtio_mem_opts *o, char *err, size_t errlen)
{
	if (!o->block_size)
		o->block_size = VIRTIO_MEM_DEFAULT_BLOCK;
	if (!o->slot_size)
		o->slot_size = VIRTIO_MEM_DEFAULT_SLOT;
	if (o->block_size < VIRTIO_MEM_MIN_BLOCK || (o->block_size & (o->block_size - 1)))
		return parse_fail(err, errlen,
				  "block size must be a power of 2 of at least %llu MiB",
				  VIRTIO_MEM_MIN_BLOCK / MIB);
	if (o->slot_size < VIRTIO_MEM_MIN_SLOT || o->slot_size % o->block_size)
		return parse_fail(
		    err, errlen,
		    "slot size must be a multiple of the block size (%llu MiB) and at "
		    "least %llu MiB",
		    (unsigned long long)(o->block_size / MIB), VIRTIO_MEM_MIN_SLOT / MIB);
	if (o->total < o->slot_size || o->total % o->slot_size)
		return parse_fail(
		    err, errlen,
		    "total size must be a non-zero multiple of the slot size (%llu MiB)",
		    (unsigned long long)(o->slot_size / MIB));
	if (o->total > VIRTIO_MEM_MAX_REGION)
		return parse_fail(err, errlen, "total size must be at most %llu MiB",
				  VIRTIO_MEM_MAX_REGION / MIB);
	if (o->requested > o->total || o->requested % o->block_size)
		return parse_fail(err, errlen,
				  "requested size must be whole blocks and at most the total size");
	return 0;
}

/* A size in MiB by default; only requested= may be 0. */
static int set_size(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_mem_opts *o = dst;
	uint64_t *field = !strcmp(key, "total")	  ? &o->total
			  : !strcmp(key, "block") ? &o->block_size
			  : !strcmp(key, "slot")  ? &o->slot_size
						  : &o->requested;

	if (parse_size(val, MIB, field) || (*field == 0 && field != &o->requested))
		return parse_fail(err, errlen, "bad %s '%s' (%s)", key, val, OPTS_USAGE);
	return 0;
}

static const struct opt_key keys[] = {
    {"total", 0, set_size},	{"block", 0, set_size}, {"slot", 0, set_size},
    {"requested", 0, set_size}, {NULL, 0, NULL},
};

int virtio_mem_opts_from_items(const struct opt_items *items, struct virtio_mem_opts *opts,
			       char *err, size_t errlen)
{
	struct virtio_mem_opts o = {0};
	int rc;

	if (!items->n)
		return parse_fail(err, errlen, "%s", OPTS_USAGE);
	rc = opts_parse_items(items, keys, &o, OPTS_USAGE, err, errlen);
	if (!rc && !o.total) /* set_size() refuses total=0: 0 is "not given" */
		rc = parse_fail(err, errlen, "total= is missing (%s)", OPTS_USAGE);
	if (!rc)
		rc = virtio_mem_check_opts(&o, err, errlen);
	if (!rc)
		*opts = o;
	return rc;
}

int virtio_mem_opts_parse(const char *arg, struct virtio_mem_opts *opts, char *err, size_t errlen)
{
	struct opt_items items;
	int rc = opts_split(arg, NULL, &items, err, errlen);

	if (!rc)
		rc = virtio_mem_opts_from_items(&items, opts, err, errlen);
	opt_items_free(&items);
	return rc;
}

/* Size `v` as item `key` in MiB (every size the checks let through is whole MiB). */
static int size_item(struct opt_items *out, const char *key, uint64_t v)
{
	return opt_items_addf(out, key, "%lluM", (unsigned long long)(v / MIB));
}

int virtio_mem_opts_to_items(const struct virtio_mem_opts *o, struct opt_items *out)
{
	int rc = o->total ? size_item(out, "total", o->total) : 0;

	if (!rc && o->block_size != VIRTIO_MEM_DEFAULT_BLOCK)
		rc = size_item(out, "block", o->block_size);
	if (!rc && o->slot_size != VIRTIO_MEM_DEFAULT_SLOT)
		rc = size_item(out, "slot", o->slot_size);
	if (!rc && o->requested)
		rc = size_item(out, "requested", o->requested);
	return rc;
}
