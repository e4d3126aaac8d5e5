/* --fs option parsing: tag=NAME,socket=PATH[,num-queues=N,queue-size=N]. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "virtio/fs/fs.h"

#define USAGE "expected tag=NAME,socket=PATH[,num-queues=N,queue-size=N]"

static int parse_item(const char *item, struct virtio_fs_opts *o, char *err, size_t errlen)
{
	const char *eq = strchr(item, '=');
	if (!eq)
		return parse_fail(err, errlen, "'%s' is not KEY=VALUE (%s)", item, USAGE);
	size_t klen = (size_t)(eq - item);
	const char *v = eq + 1;
	uint64_t n;
	if (klen == 3 && !strncmp(item, "tag", 3)) {
		if (!*v || strlen(v) > VIRTIO_FS_TAG_MAX)
			return parse_fail(err, errlen, "tag must have 1 to %d bytes",
					  VIRTIO_FS_TAG_MAX);
		strcpy(o->tag, v);
	} else if (klen == 6 && !strncmp(item, "socket", 6)) {
		if (!*v || strlen(v) >= sizeof(o->socket))
			return parse_fail(err, errlen, "socket path must have 1 to %zu bytes",
					  sizeof(o->socket) - 1);
		strcpy(o->socket, v);
	} else if (klen == 10 && !strncmp(item, "num-queues", 10)) {
		if (parse_uint(v, 1, VIRTIO_FS_MAX_REQUEST_QUEUES, &n))
			return parse_fail(err, errlen, "num-queues must be 1 to %d",
					  VIRTIO_FS_MAX_REQUEST_QUEUES);
		o->num_request_queues = (uint16_t)n;
	} else if (klen == 10 && !strncmp(item, "queue-size", 10)) {
		/* 2.7: a power of two; the framework's bound for every device (VQ_CHAIN_MAX_SEGS)
		 */
		if (parse_uint(v, 2, VQ_CHAIN_MAX_SEGS, &n) || (n & (n - 1)))
			return parse_fail(err, errlen, "queue-size must be a power of two, 2 to %u",
					  VQ_CHAIN_MAX_SEGS);
		o->queue_size = (uint16_t)n;
	} else {
		return parse_fail(err, errlen, "unknown key in '%s' (%s)", item, USAGE);
	}
	return 0;
}

int virtio_fs_parse_opts(const char *arg, struct virtio_fs_opts *o, char *err, size_t errlen)
{
	struct virtio_fs_opts r = {.num_request_queues = 1, .queue_size = VIRTIO_FS_DEFAULT_QSIZE};
	if (!arg || !*arg)
		return parse_fail(err, errlen, USAGE);
	char *copy = strdup(arg);
	if (!copy)
		return parse_fail(err, errlen, "out of memory");
	int rc = 0;
	char *item = copy, *next;
	/* by hand, not strtok: an empty item ("tag=a,,socket=b") is refused */
	for (; !rc && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		rc = *item ? parse_item(item, &r, err, errlen)
			   : parse_fail(err, errlen, "empty item (%s)", USAGE);
	}
	free(copy);
	if (!rc && (!r.tag[0] || !r.socket[0]))
		rc = parse_fail(err, errlen, "tag and socket are both needed (%s)", USAGE);
	if (!rc)
		*o = r;
	return rc;
}
