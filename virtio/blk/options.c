/* Parser of the `--disk` option string and its items (format in options.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"
#include "virtio/blk/options.h"

#define KNOWN                                                                                      \
	"known: ro, root, serial=, cache=, flush=, discard=, aio=, bw=, ops=, num-queues=, "       \
	"iothread-cpus=, id=, format=, backing_files=, backing_dirs="

/* Index of `value` in the NULL-terminated `names`, or -1. */
static int pick(const char *value, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(value, names[i]))
			return i;
	return -1;
}

static const char *const cache_names[] = {"writeback", "none", NULL};
static const char *const onoff_names[] = {"off", "on", NULL};
static const char *const aio_names[] = {"auto", "io_uring", "sync", NULL};
static const char *const format_names[] = {"auto", "raw", "qcow2", NULL};

static int set_flag(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct virtio_blk_opts *o = dst;

	(void)value, (void)err, (void)errlen;
	if (!strcmp(key, "ro"))
		o->ro = true;
	else
		o->root = true;
	return 0;
}

static int set_serial(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct virtio_blk_opts *o = dst;

	(void)key;
	if (strlen(value) > VIRTIO_BLK_ID_BYTES)
		return parse_fail(err, errlen, "serial '%s' is longer than %d bytes", value,
				  VIRTIO_BLK_ID_BYTES);
	o->has_serial = true;
	strcpy(o->serial, value);
	return 0;
}

static int set_cache(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	int idx = pick(value, cache_names);

	(void)key;
	if (idx < 0)
		return parse_fail(err, errlen, "cache=%s: expected cache=writeback or cache=none",
				  value);
	((struct virtio_blk_opts *)dst)->cache = (enum virtio_blk_cache)idx;
	return 0;
}

/* flush=on|off, discard=on|off, backing_files=on|off */
static int set_on_off(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct virtio_blk_opts *o = dst;
	int idx = pick(value, onoff_names);

	if (idx < 0)
		return parse_fail(err, errlen, "%s=%s: expected %s=on or %s=off", key, value, key,
				  key);
	if (!strcmp(key, "flush"))
		o->no_flush = idx == 0;
	else if (!strcmp(key, "discard"))
		o->discard = idx == 1;
	else
		o->backing_files = idx == 1;
	return 0;
}

static int set_aio(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	int idx = pick(value, aio_names);

	(void)key;
	if (idx < 0)
		return parse_fail(err, errlen, "aio=%s: expected aio=auto, io_uring or sync",
				  value);
	((struct virtio_blk_opts *)dst)->aio = (enum virtio_blk_aio)idx;
	return 0;
}

/* bw=, ops=: a bucket of the disk's rate limiter */
static int set_bucket(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct virtio_blk_opts *o = dst;

	return rl_bucket_parse(value, key[0] == 'b' ? &o->rl.bw : &o->rl.ops, err, errlen) ? -EINVAL
											   : 0;
}

static int set_queues(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t n;

	(void)key;
	if (parse_uint(value, 1, 8, &n))
		return parse_fail(err, errlen, "num-queues=%s: expected a number from 1 to 8",
				  value);
	((struct virtio_blk_opts *)dst)->num_queues = (unsigned)n;
	return 0;
}

static int set_cpus(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	(void)key;
	return virtio_cpu_list_parse(value, &((struct virtio_blk_opts *)dst)->iothread_cpus, err,
				     errlen);
}

static int set_id(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct virtio_blk_opts *o = dst;

	(void)key;
	return parse_device_id(value, o->id, sizeof(o->id), err, errlen) ? -EINVAL : 0;
}

/* format=raw|qcow2 ("auto", the default, is not a value a user gives) */
static int set_format(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	int idx = pick(value, format_names);

	(void)key;
	if (idx < 1)
		return parse_fail(err, errlen, "format=%s: expected format=raw or format=qcow2",
				  value);
	((struct virtio_blk_opts *)dst)->format = (enum virtio_blk_format)idx;
	return 0;
}

/* backing_dirs=DIR[:DIR...]: folders, none empty */
static int set_backing_dirs(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct virtio_blk_opts *o = dst;
	size_t n = strlen(value);

	(void)key;
	if (!n || value[0] == ':' || value[n - 1] == ':' || strstr(value, "::"))
		return parse_fail(err, errlen,
				  "backing_dirs=%s: expected DIR[:DIR...], no empty one", value);
	if (n >= sizeof(o->backing_dirs))
		return parse_fail(err, errlen, "backing_dirs: longer than %d bytes",
				  VIRTIO_BLK_BACKING_DIRS_MAX - 1);
	memcpy(o->backing_dirs, value, n + 1);
	memset(o->backing_dir_list, 0, sizeof(o->backing_dir_list));
	for (size_t i = 0; i < n; i++)
		o->backing_dir_list[i] = value[i] == ':' ? '\0' : value[i];
	return 0;
}

static const struct opt_key keys[] = {
    {"ro", OPT_FLAG, set_flag},
    {"root", OPT_FLAG, set_flag},
    {"serial", 0, set_serial},
    {"cache", 0, set_cache},
    {"flush", 0, set_on_off},
    {"discard", 0, set_on_off},
    {"aio", 0, set_aio},
    {"bw", 0, set_bucket},
    {"ops", 0, set_bucket},
    {"num-queues", 0, set_queues},
    {"iothread-cpus", 0, set_cpus},
    {"id", 0, set_id},
    {"format", 0, set_format},
    {"backing_files", 0, set_on_off},
    {"backing_dirs", 0, set_backing_dirs},
    {NULL, 0, NULL},
};

#define PATH_ITEM "path" /* the item the string's first element is */

int virtio_blk_opts_check_spec(const char *spec, char *err, size_t errlen)
{
	const char *end = spec ? opts_item_end(spec) : NULL; /* of the path */
	if (!spec || end == spec)
		return parse_fail(err, errlen, "empty disk path");
	if (*end && !end[1])
		return parse_fail(err, errlen, "empty option (stray comma)");
	return 0;
}

int virtio_blk_opts_parse(const char *spec, struct virtio_blk_opts *opts, char *err, size_t errlen)
{
	struct opt_items items;
	memset(opts, 0, sizeof(*opts));
	if (err && errlen)
		err[0] = '\0';
	int r = virtio_blk_opts_check_spec(spec, err, errlen);
	if (r)
		return r;
	r = opts_split(spec, PATH_ITEM, &items, err, errlen);
	if (!r)
		r = virtio_blk_opts_from_items(&items, opts, err, errlen);
	opt_items_free(&items);
	return r;
}

int virtio_blk_opts_from_items(const struct opt_items *items, struct virtio_blk_opts *opts,
			       char *err, size_t errlen)
{
	struct opt_items rest;
	char *path = NULL;
	memset(opts, 0, sizeof(*opts));
	if (err && errlen)
		err[0] = '\0';
	int r = opt_items_copy(&rest, items);
	if (!r)
		opt_items_take(&rest, PATH_ITEM, &path);
	if (!r && (!path || !*path))
		r = parse_fail(err, errlen, "empty disk path");
	if (!r)
		r = opts_parse_items(&rest, keys, opts, KNOWN, err, errlen);
	if (!r && opts->backing_dirs[0] && !opts->backing_files)
		r = parse_fail(err, errlen, "backing_dirs= without backing_files=on");
	opt_items_free(&rest);
	if (r) {
		free(path);
		memset(opts, 0, sizeof(*opts));
		return r;
	}
	opts->path = path;
	return 0;
}

/* The path, the flags and the choices of `o` that are not their defaults. */
static int head_to_items(const struct virtio_blk_opts *o, struct opt_items *out)
{
	int r = opt_items_add(out, PATH_ITEM, o->path ? o->path : "");
	if (!r && o->ro)
		r = opt_items_add(out, "ro", NULL);
	if (!r && o->root)
		r = opt_items_add(out, "root", NULL);
	if (!r && o->has_serial)
		r = opt_items_add(out, "serial", o->serial);
	if (!r && o->cache != VIRTIO_BLK_CACHE_WRITEBACK)
		r = opt_items_add(out, "cache", cache_names[o->cache]);
	if (!r && o->no_flush)
		r = opt_items_add(out, "flush", "off");
	if (!r && o->discard)
		r = opt_items_add(out, "discard", "on");
	if (!r && o->aio != VIRTIO_BLK_AIO_AUTO)
		r = opt_items_add(out, "aio", aio_names[o->aio]);
	if (!r && o->format != VIRTIO_BLK_FORMAT_AUTO)
		r = opt_items_add(out, "format", format_names[o->format]);
	return r;
}

int virtio_blk_opts_to_items(const struct virtio_blk_opts *o, struct opt_items *out)
{
	int r = head_to_items(o, out);
	if (!r)
		r = rl_bucket_to_item(&o->rl.bw, "bw", out);
	if (!r)
		r = rl_bucket_to_item(&o->rl.ops, "ops", out);
	if (!r && o->num_queues)
		r = opt_items_addf(out, "num-queues", "%u", o->num_queues);
	if (!r)
		r = virtio_cpu_list_to_item(&o->iothread_cpus, out);
	if (!r && o->id[0])
		r = opt_items_add(out, "id", o->id);
	if (!r && o->backing_files)
		r = opt_items_add(out, "backing_files", "on");
	if (!r && o->backing_dirs[0])
		r = opt_items_add(out, "backing_dirs", o->backing_dirs);
	return r;
}

void virtio_blk_opts_free(struct virtio_blk_opts *opts)
{
	free(opts->path);
	opts->path = NULL;
}

int virtio_blk_opts_set_backing(struct virtio_blk_opts *opts, bool on, const char *dirs, char *err,
				size_t errlen)
{
	struct virtio_blk_opts o = {.backing_files = on};
	int r = dirs[0] ? set_backing_dirs(&o, "backing_dirs", dirs, err, errlen) : 0;
	if (!r && dirs[0] && !on)
		r = parse_fail(err, errlen, "backing_dirs= without backing_files=on");
	if (r)
		return r;
	opts->backing_files = on;
	memcpy(opts->backing_dirs, o.backing_dirs, sizeof(o.backing_dirs));
	memcpy(opts->backing_dir_list, o.backing_dir_list, sizeof(o.backing_dir_list));
	return 0;
}
