/* --memory-hotplug's option string and the rules every way of configuring the region shares
 * (virtio/mem/mem.h). */
#include "virtio/mem/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int parse_item(char *item, struct virtio_mem_opts *o, unsigned *seen, char *err,
		      size_t errlen)
{
	static const char *const keys[] = {"total", "block", "slot", "requested"};
	uint64_t *const fields[] = {&o->total, &o->block_size, &o->slot_size, &o->requested};
	char *val = strchr(item, '=');
	unsigned k;

	if (val)
		*val++ = '\0';
	for (k = 0; k < 4 && strcmp(item, keys[k]); k++)
		;
	if (k == 4)
		return parse_fail(err, errlen, "unknown option '%s' (%s)", item, OPTS_USAGE);
	if (*seen & 1u << k)
		return parse_fail(err, errlen, "'%s' given twice", item);
	*seen |= 1u << k;
	if (!val || parse_size(val, MIB, fields[k]) || (*fields[k] == 0 && k != 3))
		return parse_fail(err, errlen, "bad %s '%s' (%s)", item, val ? val : "",
				  OPTS_USAGE);
	return 0;
}

int virtio_mem_parse_opts(const char *arg, struct virtio_mem_opts *opts, char *err, size_t errlen)
{
	struct virtio_mem_opts o = {0};
	unsigned seen = 0;
	char *copy, *item, *next;
	int rc = 0;

	if (!arg || !*arg)
		return parse_fail(err, errlen, "%s", OPTS_USAGE);
	copy = strdup(arg);
	if (!copy)
		return parse_fail(err, errlen, "out of memory");
	/* Commas by hand, so an empty item ("total=1G,,") is refused rather than skipped. */
	for (item = copy; !rc && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		rc = *item ? parse_item(item, &o, &seen, err, errlen)
			   : parse_fail(err, errlen, "empty option in '%s' (%s)", arg, OPTS_USAGE);
	}
	free(copy);
	if (!rc && !(seen & 1))
		rc = parse_fail(err, errlen, "total= is missing (%s)", OPTS_USAGE);
	if (!rc)
		rc = virtio_mem_check_opts(&o, err, errlen);
	if (!rc)
		*opts = o;
	return rc;
}
