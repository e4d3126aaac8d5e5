/* --pmem's option string (virtio/pmem/pmem.h). */
#include "virtio/pmem/pmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"

#define OPTS_USAGE "expected path=FILE[,ro][,root][,id=NAME][,bw=S:R[:B]][,ops=S:R[:B]]"

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

static int set_flag(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_pmem_opts *o = dst;

	return parse_flag(key, val, !strcmp(key, "ro") ? &o->read_only : &o->root, err, errlen);
}

static int set_id(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_pmem_opts *o = dst;

	(void)key;
	return parse_device_id(val, o->id, sizeof(o->id), err, errlen);
}

/* path=: any text but nothing (a comma in it is written ",," in the option string:
 * base/options.h). */
static int set_path(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_pmem_opts *o = dst;

	(void)key;
	if (!*val || strlen(val) >= sizeof(o->path))
		return parse_fail(err, errlen, "bad path (%s)", OPTS_USAGE);
	memcpy(o->path, val, strlen(val) + 1);
	return 0;
}

/* bw=, ops=: a bucket of the FLUSH requests' rate limiter */
static int set_bucket(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_pmem_opts *o = dst;

	return rl_bucket_parse(val, key[0] == 'b' ? &o->rl.bw : &o->rl.ops, err, errlen) ? -EINVAL
											 : 0;
}

static const struct opt_key keys[] = {
    {"path", 0, set_path},
    {"ro", OPT_VALUE_OPTIONAL, set_flag},
    {"root", OPT_VALUE_OPTIONAL, set_flag},
    {"id", 0, set_id},
    {"bw", 0, set_bucket},
    {"ops", 0, set_bucket},
    {NULL, 0, NULL},
};

int virtio_pmem_opts_parse(const char *arg, struct virtio_pmem_opts *opts, char *err, size_t errlen)
{
	struct opt_items items;
	int rc;

	if (!arg || !*arg)
		return parse_fail(err, errlen, "%s", OPTS_USAGE);
	rc = opts_split(arg, NULL, &items, err, errlen);
	if (!rc)
		rc = virtio_pmem_opts_from_items(&items, opts, err, errlen);
	opt_items_free(&items);
	return rc;
}

int virtio_pmem_opts_from_items(const struct opt_items *items, struct virtio_pmem_opts *opts,
				char *err, size_t errlen)
{
	struct virtio_pmem_opts *o;
	int rc;

	if (!items->n)
		return parse_fail(err, errlen, "%s", OPTS_USAGE);
	o = calloc(1, sizeof(*o)); /* a PATH_MAX path: not on the stack */
	if (!o)
		return parse_fail(err, errlen, "out of memory");
	rc = opts_parse_items(items, keys, o, OPTS_USAGE, err, errlen);
	if (!rc && !o->path[0])
		rc = parse_fail(err, errlen, "path= is missing (%s)", OPTS_USAGE);
	if (!rc)
		*opts = *o;
	free(o);
	return rc;
}

int virtio_pmem_opts_to_items(const struct virtio_pmem_opts *o, struct opt_items *out)
{
	int r = opt_items_add(out, "path", o->path);
	if (!r && o->read_only)
		r = opt_items_add(out, "ro", NULL);
	if (!r && o->root)
		r = opt_items_add(out, "root", NULL);
	if (!r && o->id[0])
		r = opt_items_add(out, "id", o->id);
	if (!r)
		r = rl_bucket_to_item(&o->rl.bw, "bw", out);
	return r ? r : rl_bucket_to_item(&o->rl.ops, "ops", out);
}
