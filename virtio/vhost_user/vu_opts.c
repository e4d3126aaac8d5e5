/* --disk vhost-user=... and --net vhost-user=... option strings: see vu_opts.h. */
#include "virtio/vhost_user/vu_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/mac.h"
#include "base/options.h"
#include "base/parse.h"
#include "virtio/queue/virtqueue.h"

#define VU_BLK_MAX_QUEUES 16
#define VU_NET_QUEUES	  2

static const char *usage(enum vu_opts_kind kind)
{
	return kind == VU_OPTS_BLK
		   ? "expected vhost-user=PATH[,num-queues=N,queue-size=N,id=NAME]"
		   : "expected vhost-user=PATH[,mac=MAC,num-queues=2,queue-size=N,id=NAME]";
}

/* The kind of device being parsed rides along with the result, for num-queues. */
struct vu_parse {
	struct vu_opts *o;
	enum vu_opts_kind kind;
};

static int set_socket(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	struct vu_opts *o = ((struct vu_parse *)dst)->o;

	(void)key;
	if (!*v || strlen(v) >= sizeof(o->socket))
		return parse_fail(err, errlen, "socket path must have 1 to %zu bytes",
				  sizeof(o->socket) - 1);
	strcpy(o->socket, v);
	return 0;
}

static int set_queues(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	struct vu_parse *p = dst;
	uint64_t n;

	(void)key;
	if (p->kind == VU_OPTS_NET) {
		/* one rx/tx pair: more needs the control queue in the VMM (vu_net.h) */
		if (parse_uint(v, VU_NET_QUEUES, VU_NET_QUEUES, &n))
			return parse_fail(err, errlen,
					  "num-queues must be 2 (one rx/tx pair; multiqueue is "
					  "not supported with vhost-user-net yet)");
	} else if (parse_uint(v, 1, VU_BLK_MAX_QUEUES, &n)) {
		return parse_fail(err, errlen, "num-queues must be 1 to %d", VU_BLK_MAX_QUEUES);
	}
	p->o->num_queues = (uint16_t)n;
	return 0;
}

static int set_queue_size(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	(void)key;
	/* 2.7: a power of two; the framework's bound for every device */
	if (parse_uint(v, 2, VQ_CHAIN_MAX_SEGS, &n) || (n & (n - 1)))
		return parse_fail(err, errlen, "queue-size must be a power of two, 2 to %u",
				  VQ_CHAIN_MAX_SEGS);
	((struct vu_parse *)dst)->o->queue_size = (uint16_t)n;
	return 0;
}

static int set_mac(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	struct vu_opts *o = ((struct vu_parse *)dst)->o;

	(void)key;
	if (mac_parse(v, o->mac, err, errlen))
		return -EINVAL;
	o->has_mac = true;
	return 0;
}

static int set_id(void *dst, const char *key, const char *v, char *err, size_t errlen)
{
	struct vu_opts *o = ((struct vu_parse *)dst)->o;

	(void)key;
	return parse_device_id(v, o->id, sizeof(o->id), err, errlen);
}

/* A disk has no MAC: its table lacks the key, so mac= is an unknown option there. */
static const struct opt_key blk_keys[] = {
    {"vhost-user", 0, set_socket},
    {"num-queues", 0, set_queues},
    {"queue-size", 0, set_queue_size},
    {"id", 0, set_id},
    {NULL, 0, NULL},
};
static const struct opt_key net_keys[] = {
    {"vhost-user", 0, set_socket},
    {"num-queues", 0, set_queues},
    {"queue-size", 0, set_queue_size},
    {"mac", 0, set_mac},
    {"id", 0, set_id},
    {NULL, 0, NULL},
};

bool vu_opts_is_spec(const char *arg)
{
	return arg && !strncmp(arg, VU_OPTS_PREFIX, strlen(VU_OPTS_PREFIX));
}

int vu_opts_from_items(const struct opt_items *items, enum vu_opts_kind kind, struct vu_opts *o,
		       char *err, size_t errlen)
{
	struct vu_opts r = {.num_queues = kind == VU_OPTS_NET ? VU_NET_QUEUES : 1,
			    .queue_size = VU_OPTS_DEFAULT_QSIZE};
	if (opt_items_find(items, "vhost-user") < 0) /* the socket, without which nothing */
		return parse_fail(err, errlen, "%s", usage(kind));
	struct vu_parse p = {&r, kind};
	int rc = opts_parse_items(items, kind == VU_OPTS_NET ? net_keys : blk_keys, &p, usage(kind),
				  err, errlen);
	if (!rc)
		*o = r;
	return rc;
}

int vu_opts_parse(const char *arg, enum vu_opts_kind kind, struct vu_opts *o, char *err,
		  size_t errlen)
{
	struct opt_items items;
	if (!vu_opts_is_spec(arg))
		return parse_fail(err, errlen, "%s", usage(kind));
	int rc = opts_split(arg, NULL, &items, err, errlen);
	if (!rc)
		rc = vu_opts_from_items(&items, kind, o, err, errlen);
	opt_items_free(&items);
	return rc;
}

int vu_opts_to_items(const struct vu_opts *o, enum vu_opts_kind kind, struct opt_items *out)
{
	const uint8_t *m = o->mac;
	int r = opt_items_add(out, "vhost-user", o->socket);
	if (!r && o->num_queues != (kind == VU_OPTS_NET ? VU_NET_QUEUES : 1))
		r = opt_items_addf(out, "num-queues", "%u", o->num_queues);
	if (!r && o->queue_size != VU_OPTS_DEFAULT_QSIZE)
		r = opt_items_addf(out, "queue-size", "%u", o->queue_size);
	if (!r && o->has_mac)
		r = opt_items_addf(out, "mac", "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				   m[3], m[4], m[5]);
	if (!r && o->id[0])
		r = opt_items_add(out, "id", o->id);
	return r;
}
