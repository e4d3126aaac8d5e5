/* --fs option parsing, from its string or its items: tag=NAME,socket=PATH[,num-queues=N,
 * queue-size=N]. */
#include <errno.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"
#include "virtio/fs/fs.h"

#define USAGE "expected tag=NAME,socket=PATH[,num-queues=N,queue-size=N]"

static int set_tag(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	struct virtio_fs_opts *o = dst;

	(void)key;
	if (!*v || strlen(v) > VIRTIO_FS_TAG_MAX)
		return parse_fail(err, errlen, "tag must have 1 to %d bytes", VIRTIO_FS_TAG_MAX);
	strcpy(o->tag, v);
	return 0;
}

static int set_socket(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	struct virtio_fs_opts *o = dst;

	(void)key;
	if (!*v || strlen(v) >= sizeof(o->socket))
		return parse_fail(err, errlen, "socket path must have 1 to %zu bytes",
				  sizeof(o->socket) - 1);
	strcpy(o->socket, v);
	return 0;
}

static int set_queues(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	(void)key;
	if (parse_uint(v, 1, VIRTIO_FS_MAX_REQUEST_QUEUES, &n))
		return parse_fail(err, errlen, "num-queues must be 1 to %d",
				  VIRTIO_FS_MAX_REQUEST_QUEUES);
	((struct virtio_fs_opts *)dst)->num_request_queues = (uint16_t)n;
	return 0;
}

static int set_queue_size(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	(void)key;
	/* 2.7: a power of two; the framework's bound for every device (VQ_CHAIN_MAX_SEGS) */
	if (parse_uint(v, 2, VQ_CHAIN_MAX_SEGS, &n) || (n & (n - 1)))
		return parse_fail(err, errlen, "queue-size must be a power of two, 2 to %u",
				  VQ_CHAIN_MAX_SEGS);
	((struct virtio_fs_opts *)dst)->queue_size = (uint16_t)n;
	return 0;
}

static const struct opt_key keys[] = {
    {"tag", 0, set_tag},
    {"socket", 0, set_socket},
    {"num-queues", 0, set_queues},
    {"queue-size", 0, set_queue_size},
    {NULL, 0, NULL},
};

int virtio_fs_opts_parse(const char *arg, struct virtio_fs_opts *o, char *err, size_t errlen)
{
	struct opt_items items;
	int rc = opts_split(arg, NULL, &items, err, errlen);
	if (!rc)
		rc = virtio_fs_opts_from_items(&items, o, err, errlen);
	opt_items_free(&items);
	return rc;
}

int virtio_fs_opts_from_items(const struct opt_items *items, struct virtio_fs_opts *o, char *err,
			      size_t errlen)
{
	struct virtio_fs_opts r = {.num_request_queues = 1, .queue_size = VIRTIO_FS_DEFAULT_QSIZE};
	int rc;

	if (!items->n)
		return parse_fail(err, errlen, USAGE);
	rc = opts_parse_items(items, keys, &r, USAGE, err, errlen);
	if (!rc && (!r.tag[0] || !r.socket[0]))
		rc = parse_fail(err, errlen, "tag and socket are both needed (%s)", USAGE);
	if (!rc)
		*o = r;
	return rc;
}

int virtio_fs_opts_to_items(const struct virtio_fs_opts *o, struct opt_items *out)
{
	int r = opt_items_add(out, "tag", o->tag);
	if (!r)
		r = opt_items_add(out, "socket", o->socket);
	if (!r && o->num_request_queues != 1)
		r = opt_items_addf(out, "num-queues", "%u", (unsigned)o->num_request_queues);
	if (!r && o->queue_size != VIRTIO_FS_DEFAULT_QSIZE)
		r = opt_items_addf(out, "queue-size", "%u", (unsigned)o->queue_size);
	return r;
}
