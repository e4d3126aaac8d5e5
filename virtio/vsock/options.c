/* --vsock cid=N,uds=PATH. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One "key=value" item; `item` is modified. */
static int parse_item(char *item, struct virtio_vsock_opts *o, char *err, size_t errlen)
{
	char *val = strchr(item, '=');

	if (!val)
		return fail(err, errlen, "missing '=' in", item);
	*val++ = '\0';
	if (!strcmp(item, "cid")) {
		if (o->cid)
			return fail(err, errlen, "given twice:", item);
		if (parse_cid(val, &o->cid))
			return fail(err, errlen, "bad cid", val);
		return 0;
	}
	if (!strcmp(item, "uds")) {
		if (o->uds[0])
			return fail(err, errlen, "given twice:", item);
		if (!*val || strlen(val) > VIRTIO_VSOCK_UDS_MAX)
			return fail(err, errlen, "uds path empty or longer than 96 bytes:", val);
		memcpy(o->uds, val, strlen(val) + 1);
		return 0;
	}
	if (!strcmp(item, "id")) {
		if (o->id[0])
			return fail(err, errlen, "given twice:", item);
		return parse_device_id(val, o->id, sizeof(o->id), err, errlen);
	}
	return fail(err, errlen, "unknown option", item);
}

int virtio_vsock_parse_opts(const char *arg, struct virtio_vsock_opts *o, char *err, size_t errlen)
{
	struct virtio_vsock_opts n = {0};
	char *copy, *item, *next;
	int ret = 0;

	if (!arg || !*arg)
		return fail(err, errlen, "no options in", "");
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	for (item = copy; !ret && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		ret = parse_item(item, &n, err, errlen);
	}
	free(copy);
	if (!ret && !n.cid)
		ret = fail(err, errlen, "missing cid in", arg);
	if (!ret && !n.uds[0])
		ret = fail(err, errlen, "missing uds in", arg);
	if (!ret)
		*o = n;
	return ret;
}
