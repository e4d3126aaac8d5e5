/* --balloon's option string (virtio/balloon/balloon.h). */
#include "virtio/balloon/balloon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"

#define MIB	(1ull << 20)
#define MAX_MIB (1ull << 24) /* 16 TiB: num_pages (u32 of 4 KiB pages) can say no more */
#define OPTS_USAGE                                                                                 \
	"expected size=MIB[,stats=SECONDSs][,deflate-on-oom=on|off][,free-page-reporting=on|off]"

static int bad(char *err, size_t errlen, const char *what, const char *val)
{
	snprintf(err, errlen, "bad %s '%s' (%s)", what, val, OPTS_USAGE);
	return -EINVAL;
}

static int parse_on_off(const char *key, const char *val, bool *out, char *err, size_t errlen)
{
	if (strcmp(val, "on") == 0 || strcmp(val, "off") == 0) {
		*out = strcmp(val, "on") == 0;
		return 0;
	}
	return bad(err, errlen, key, val);
}

/* "5", "5s": whole seconds, 0 (no statistics) to a day. */
static int parse_seconds(const char *val, uint32_t *out, char *err, size_t errlen)
{
	char num[24];
	size_t n = strlen(val);
	uint64_t v;

	if (n && val[n - 1] == 's')
		n--;
	if (n == 0 || n >= sizeof(num))
		return bad(err, errlen, "stats", val);
	memcpy(num, val, n);
	num[n] = '\0';
	if (parse_uint(num, 0, VIRTIO_BALLOON_MAX_STATS_S, &v))
		return bad(err, errlen, "stats", val);
	*out = (uint32_t)v;
	return 0;
}

static int parse_mib(const char *val, uint64_t *out, char *err, size_t errlen)
{
	uint64_t bytes;

	if (parse_size(val, MIB, &bytes) || bytes % MIB || bytes / MIB > MAX_MIB)
		return bad(err, errlen, "size (whole MiB)", val);
	*out = bytes / MIB;
	return 0;
}

static int set_size(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	(void)key;
	return parse_mib(val, &((struct virtio_balloon_opts *)dst)->target_mib, err, errlen);
}

static int set_stats(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	(void)key;
	return parse_seconds(val, &((struct virtio_balloon_opts *)dst)->stats_interval_s, err,
			     errlen);
}

static int set_on_off(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_balloon_opts *o = dst;

	return parse_on_off(
	    key, val, !strcmp(key, "deflate-on-oom") ? &o->deflate_on_oom : &o->free_page_reporting,
	    err, errlen);
}

static const struct opt_key keys[] = {
    {"size", 0, set_size},
    {"stats", 0, set_stats},
    {"deflate-on-oom", 0, set_on_off},
    {"free-page-reporting", 0, set_on_off},
    {NULL, 0, NULL},
};

int virtio_balloon_opts_from_items(const struct opt_items *items, struct virtio_balloon_opts *opts,
				   char *err, size_t errlen)
{
	struct virtio_balloon_opts o = {0};
	int rc = opts_parse_items(items, keys, &o, OPTS_USAGE, err, errlen);

	*opts = rc ? (struct virtio_balloon_opts){0} : o;
	return rc;
}

int virtio_balloon_opts_parse(const char *arg, struct virtio_balloon_opts *opts, char *err,
			      size_t errlen)
{
	struct opt_items items;
	int rc = opts_split(arg, NULL, &items, err, errlen);

	*opts = (struct virtio_balloon_opts){0};
	if (!rc)
		rc = virtio_balloon_opts_from_items(&items, opts, err, errlen);
	opt_items_free(&items);
	return rc;
}

int virtio_balloon_opts_to_items(const struct virtio_balloon_opts *o, struct opt_items *out)
{
	int rc = 0;

	if (o->target_mib)
		rc = opt_items_addf(out, "size", "%llu", (unsigned long long)o->target_mib);
	if (!rc && o->stats_interval_s)
		rc = opt_items_addf(out, "stats", "%us", o->stats_interval_s);
	if (!rc && o->deflate_on_oom)
		rc = opt_items_add(out, "deflate-on-oom", "on");
	if (!rc && o->free_page_reporting)
		rc = opt_items_add(out, "free-page-reporting", "on");
	return rc;
}
