/* Parser of the `--disk` option string (format in options.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "virtio/blk/options.h"

/* Bits of the keys already seen, to refuse a repeated key. */
enum {
	SEEN_RO = 1,
	SEEN_SERIAL = 2,
	SEEN_CACHE = 4,
	SEEN_DISCARD = 8,
	SEEN_AIO = 16,
	SEEN_BW = 32,
	SEEN_OPS = 64,
	SEEN_QUEUES = 128,
	SEEN_CPUS = 256,
	SEEN_ID = 512,
	SEEN_ROOT = 1024,
	SEEN_FLUSH = 2048,
	SEEN_FORMAT = 4096, /* qcow2 (issue 51) */
};

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
static const char *const format_names[] = {"auto", "raw", "qcow2", NULL}; /* issue 51 */

/* Applies one `key` or `key=value` item (NUL-terminated, no comma). */
static int parse_item(char *item, struct virtio_blk_opts *o, unsigned *seen, char *err,
		      size_t errlen)
{
	char *value = strchr(item, '=');
	if (value)
		*value++ = '\0';
	unsigned bit;
	int idx = 0;
	if (!strcmp(item, "ro")) {
		if (value)
			return parse_fail(err, errlen, "option 'ro' takes no value");
		bit = SEEN_RO;
		o->ro = true;
	} else if (!strcmp(item, "root")) {
		if (value)
			return parse_fail(err, errlen, "option 'root' takes no value");
		bit = SEEN_ROOT;
		o->root = true;
	} else if (!strcmp(item, "serial")) {
		if (!value)
			return parse_fail(err, errlen, "option 'serial' needs a value (serial=ID)");
		if (strlen(value) > VIRTIO_BLK_ID_BYTES)
			return parse_fail(err, errlen, "serial '%s' is longer than %d bytes", value,
					  VIRTIO_BLK_ID_BYTES);
		bit = SEEN_SERIAL;
		o->has_serial = true;
		strcpy(o->serial, value);
	} else if (!strcmp(item, "cache")) {
		bit = SEEN_CACHE;
		if (!value || (idx = pick(value, cache_names)) < 0)
			return parse_fail(err, errlen,
					  "cache=%s: expected cache=writeback or cache=none",
					  value ? value : "");
		o->cache = (enum virtio_blk_cache)idx;
	} else if (!strcmp(item, "flush")) {
		bit = SEEN_FLUSH;
		if (!value || (idx = pick(value, onoff_names)) < 0)
			return parse_fail(err, errlen, "flush=%s: expected flush=on or flush=off",
					  value ? value : "");
		o->no_flush = idx == 0;
	} else if (!strcmp(item, "discard")) {
		bit = SEEN_DISCARD;
		if (!value || (idx = pick(value, onoff_names)) < 0)
			return parse_fail(err, errlen,
					  "discard=%s: expected discard=on or discard=off",
					  value ? value : "");
		o->discard = idx == 1;
	} else if (!strcmp(item, "aio")) {
		bit = SEEN_AIO;
		if (!value || (idx = pick(value, aio_names)) < 0)
			return parse_fail(err, errlen,
					  "aio=%s: expected aio=auto, io_uring or sync",
					  value ? value : "");
		o->aio = (enum virtio_blk_aio)idx;
	} else if (!strcmp(item, "bw") || !strcmp(item, "ops")) {
		bool bw = item[0] == 'b';
		bit = bw ? SEEN_BW : SEEN_OPS;
		if (rl_bucket_parse(value ? value : "", bw ? &o->rl.bw : &o->rl.ops, err, errlen))
			return -EINVAL;
	} else if (!strcmp(item, "num-queues")) {
		bit = SEEN_QUEUES;
		char *end = NULL;
		unsigned long n = value ? strtoul(value, &end, 10) : 0;
		if (!value || !*value || *end || n < 1 || n > 8)
			return parse_fail(err, errlen,
					  "num-queues=%s: expected a number from 1 to 8",
					  value ? value : "");
		o->num_queues = (unsigned)n;
	} else if (!strcmp(item, "iothread-cpus")) {
		bit = SEEN_CPUS;
		int r = virtio_cpu_list_parse(value, &o->iothread_cpus, err, errlen);
		if (r)
			return r;
	} else if (!strcmp(item, "format")) { /* qcow2 (issue 51): format=raw|qcow2 */
		bit = SEEN_FORMAT;
		if (!value || (idx = pick(value, format_names)) < 1)
			return parse_fail(err, errlen,
					  "format=%s: expected format=raw or format=qcow2",
					  value ? value : "");
		o->format = (enum virtio_blk_format)idx;
	} else if (!strcmp(item, "id")) {
		bit = SEEN_ID;
		if (parse_device_id(value, o->id, sizeof(o->id), err, errlen))
			return -EINVAL;
	} else {
		return parse_fail(err, errlen,
				  "unknown option '%s' (known: ro, root, serial=, cache=, flush=, "
				  "discard=, aio=, "
				  "bw=, ops=, num-queues=, iothread-cpus=, id=, format=)",
				  item);
	}
	if (*seen & bit)
		return parse_fail(err, errlen, "option '%s' given twice", item);
	*seen |= bit;
	return 0;
}

static int parse_items(char *rest, struct virtio_blk_opts *o, char *err, size_t errlen)
{
	unsigned seen = 0;
	while (rest) {
		char *item = rest;
		rest = strchr(rest, ',');
		if (rest)
			*rest++ = '\0';
		if (!*item)
			return parse_fail(err, errlen, "empty option (stray comma)");
		int r = parse_item(item, o, &seen, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

int virtio_blk_opts_parse(const char *spec, struct virtio_blk_opts *opts, char *err, size_t errlen)
{
	memset(opts, 0, sizeof(*opts));
	if (err && errlen)
		err[0] = '\0';
	if (!spec || !*spec || *spec == ',')
		return parse_fail(err, errlen, "empty disk path");
	char *copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	char *comma = strchr(copy, ',');
	if (comma)
		*comma = '\0';
	int r = parse_items(comma ? comma + 1 : NULL, opts, err, errlen);
	if (r) {
		free(copy);
		memset(opts, 0, sizeof(*opts));
		return r;
	}
	opts->path = copy; /* the path is the head of the copy, cut at the first comma */
	return 0;
}

void virtio_blk_opts_free(struct virtio_blk_opts *opts)
{
	free(opts->path);
	opts->path = NULL;
}
