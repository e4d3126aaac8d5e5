/* --vsock cid=N,uds=PATH. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"
#include "virtio/vsock/vsock.h"

#define USAGE "expected cid=N,uds=PATH[,id=NAME] (N from 3 to 4294967294)"

static int fail(char *err, size_t errlen, const char *what, const char *item)
{
	snprintf(err, errlen, "%s '%s' (" USAGE ")", what, item);
	return -EINVAL;
}

static int parse_cid(const char *val, uint64_t *cid)
{
	char *end;
	unsigned long long n;

	if (*val < '0' || *val > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(val, &end, 10);
	if (errno || *end || n < 3 || n > 0xfffffffeull)
		return -EINVAL;
	*cid = n;
	return 0;
}

static int set_cid(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	(void)key;
	if (parse_cid(val, &((struct virtio_vsock_opts *)dst)->cid))
		return fail(err, errlen, "bad cid", val);
	return 0;
}

static int set_uds(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_vsock_opts *o = dst;

	(void)key;
	if (!*val || strlen(val) > VIRTIO_VSOCK_UDS_MAX)
		return fail(err, errlen, "uds path empty or longer than 96 bytes:", val);
	memcpy(o->uds, val, strlen(val) + 1);
	return 0;
}

static int set_id(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_vsock_opts *o = dst;

	(void)key;
	return parse_device_id(val, o->id, sizeof(o->id), err, errlen);
}

static const struct opt_key keys[] = {
    {"cid", 0, set_cid},
    {"uds", 0, set_uds},
    {"id", 0, set_id},
    {NULL, 0, NULL},
};

/* The items as the option string that says them ("cid=3,uds=/v"), for the messages. */
static void items_text(const struct opt_items *l, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && n < len; i++) {
		const struct opt_item *it = &l->v[i];
		int k = snprintf(buf + n, len - n, "%s%s%s%s", i ? "," : "", it->key,
				 it->value ? "=" : "", it->value ? it->value : "");
		n += k > 0 ? (size_t)k : 0;
	}
}

int virtio_vsock_opts_from_items(const struct opt_items *items, struct virtio_vsock_opts *o,
				 char *err, size_t errlen)
{
	struct virtio_vsock_opts n = {0};
	char text[VIRTIO_VSOCK_UDS_MAX + VIRTIO_VSOCK_ID_MAX + 64];
	int ret;

	if (!items->n)
		return fail(err, errlen, "no options in", "");
	ret = opts_parse_items(items, keys, &n, USAGE, err, errlen);
	if (!ret && (!n.cid || !n.uds[0]))
		items_text(items, text, sizeof(text));
	if (!ret && !n.cid)
		ret = fail(err, errlen, "missing cid in", text);
	if (!ret && !n.uds[0])
		ret = fail(err, errlen, "missing uds in", text);
	if (!ret)
		*o = n;
	return ret;
}

int virtio_vsock_opts_parse(const char *arg, struct virtio_vsock_opts *o, char *err, size_t errlen)
{
	struct opt_items items;
	int ret = opts_split(arg, NULL, &items, err, errlen);

	if (!ret)
		ret = virtio_vsock_opts_from_items(&items, o, err, errlen);
	opt_items_free(&items);
	return ret;
}

int virtio_vsock_opts_to_items(const struct virtio_vsock_opts *o, struct opt_items *out)
{
	int ret = 0;

	if (o->cid)
		ret = opt_items_addf(out, "cid", "%llu", (unsigned long long)o->cid);
	if (!ret && o->uds[0])
		ret = opt_items_add(out, "uds", o->uds);
	if (!ret && o->id[0])
		ret = opt_items_add(out, "id", o->id);
	return ret;
}
