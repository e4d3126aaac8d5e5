/* --pmem's option string (virtio/pmem/pmem.h). */
#include "virtio/pmem/pmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"

#define OPTS_USAGE "expected path=FILE[,ro][,root][,id=NAME]"

/* "ro", "ro=on", "ro=off" (the same for root). */
static int parse_flag(const char *key, const char *val, bool *out, char *err, size_t errlen)
{
	if (!val || strcmp(val, "on") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(val, "off") == 0) {
		*out = false;
		return 0;
	}
	return parse_fail(err, errlen, "bad %s '%s' (%s)", key, val, OPTS_USAGE);
}

static int parse_item(char *item, struct virtio_pmem_opts *o, unsigned *seen, char *err,
		      size_t errlen)
{
	static const char *const keys[] = {"path", "ro", "root", "id"};
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
	if (k == 1)
		return parse_flag(item, val, &o->read_only, err, errlen);
	if (k == 2)
		return parse_flag(item, val, &o->root, err, errlen);
	if (k == 3)
		return parse_device_id(val ? val : "", o->id, sizeof(o->id), err, errlen);
	if (!val || !*val || strlen(val) >= sizeof(o->path))
		return parse_fail(err, errlen, "bad path (%s)", OPTS_USAGE);
	memcpy(o->path, val, strlen(val) + 1);
	return 0;
}

int virtio_pmem_parse_opts(const char *arg, struct virtio_pmem_opts *opts, char *err, size_t errlen)
{
	struct virtio_pmem_opts *o;
	unsigned seen = 0;
	char *copy, *item, *next;
	int rc = 0;

	if (!arg || !*arg)
		return parse_fail(err, errlen, "%s", OPTS_USAGE);
	o = calloc(1, sizeof(*o));
	copy = strdup(arg);
	if (!o || !copy) {
		free(o);
		free(copy);
		return parse_fail(err, errlen, "out of memory");
	}
	/* A path may not hold a comma: the items are split at every one. */
	for (item = copy; !rc && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		rc = *item ? parse_item(item, o, &seen, err, errlen)
			   : parse_fail(err, errlen, "empty option in '%s' (%s)", arg, OPTS_USAGE);
	}
	if (!rc && !(seen & 1))
		rc = parse_fail(err, errlen, "path= is missing (%s)", OPTS_USAGE);
	if (!rc)
		*opts = *o;
	free(copy);
	free(o);
	return rc;
}
