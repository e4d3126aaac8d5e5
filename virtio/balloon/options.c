/* --balloon's option string (virtio/balloon/balloon.h). */
#include "virtio/balloon/balloon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One "key=value"; `seen` has a bit per key so none repeats. */
static int parse_item(char *item, struct virtio_balloon_opts *o, unsigned *seen, char *err,
		      size_t errlen)
{
	static const char *const keys[] = {"size", "stats", "deflate-on-oom",
					   "free-page-reporting"};
	char *val = strchr(item, '=');
	unsigned k;

	if (val)
		*val++ = '\0';
	for (k = 0; k < 4 && strcmp(item, keys[k]); k++)
		;
	if (k == 4) {
		snprintf(err, errlen, "unknown option '%s' (%s)", item, OPTS_USAGE);
		return -EINVAL;
	}
	if (*seen & 1u << k) {
		snprintf(err, errlen, "'%s' given twice", item);
		return -EINVAL;
	}
	*seen |= 1u << k;
	if (!val || !*val)
		return bad(err, errlen, item, "");
	switch (k) {
	case 0:
		return parse_mib(val, &o->target_mib, err, errlen);
	case 1:
		return parse_seconds(val, &o->stats_interval_s, err, errlen);
	case 2:
		return parse_on_off(item, val, &o->deflate_on_oom, err, errlen);
	default:
		return parse_on_off(item, val, &o->free_page_reporting, err, errlen);
	}
}

int virtio_balloon_parse_opts(const char *arg, struct virtio_balloon_opts *opts, char *err,
			      size_t errlen)
{
	struct virtio_balloon_opts o = {0};
	char *copy, *item, *next;
	unsigned seen = 0;
	int rc = 0;

	*opts = o;
	if (!arg || !*arg)
		return 0;
	copy = strdup(arg);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Commas by hand, so an empty item ("size=1,,") is refused rather than skipped. */
	for (item = copy; !rc && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!*item) {
			snprintf(err, errlen, "empty option in '%s' (%s)", arg, OPTS_USAGE);
			rc = -EINVAL;
		} else {
			rc = parse_item(item, &o, &seen, err, errlen);
		}
	}
	free(copy);
	if (!rc)
		*opts = o;
	return rc;
}
