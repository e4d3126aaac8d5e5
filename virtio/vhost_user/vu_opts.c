/* --disk vhost-user=... and --net vhost-user=... option strings: see vu_opts.h. */
#include "virtio/vhost_user/vu_opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int vu_opts_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	for (int i = 0; i < 6; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		char hex[3] = {s[0], s[1], '\0'};
		m[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	static const uint8_t zero[6];
	if ((m[0] & 1) || !memcmp(m, zero, 6)) /* multicast or none: not a NIC's own address */
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

static int parse_queues(const char *v, enum vu_opts_kind kind, struct vu_opts *o, char *err,
			size_t errlen)
{
	uint64_t n;
	if (kind == VU_OPTS_NET) {
		/* one rx/tx pair: more needs the control queue in the VMM (vu_net.h) */
		if (parse_uint(v, VU_NET_QUEUES, VU_NET_QUEUES, &n))
			return parse_fail(err, errlen,
					  "num-queues must be 2 (one rx/tx pair; multiqueue is "
					  "not supported with vhost-user-net yet)");
	} else if (parse_uint(v, 1, VU_BLK_MAX_QUEUES, &n)) {
		return parse_fail(err, errlen, "num-queues must be 1 to %d", VU_BLK_MAX_QUEUES);
	}
	o->num_queues = (uint16_t)n;
	return 0;
}

/* One KEY=VALUE item; `seen` has a bit per key so that a repeated key is refused. */
static int parse_item(const char *item, enum vu_opts_kind kind, struct vu_opts *o, unsigned *seen,
		      char *err, size_t errlen)
{
	static const char *const keys[] = {"vhost-user", "num-queues", "queue-size", "mac", "id"};
	const char *eq = strchr(item, '=');
	size_t klen = eq ? (size_t)(eq - item) : 0;
	unsigned k = 0;
	while (k < 5 && (strlen(keys[k]) != klen || strncmp(item, keys[k], klen)))
		k++;
	if (!eq || k == 5 || (k == 3 && kind != VU_OPTS_NET))
		return parse_fail(err, errlen, "unknown item '%s' (%s)", item, usage(kind));
	if (*seen & (1u << k))
		return parse_fail(err, errlen, "%s= is given twice", keys[k]);
	*seen |= 1u << k;
	const char *v = eq + 1;
	uint64_t n;
	switch (k) {
	case 0:
		if (!*v || strlen(v) >= sizeof(o->socket))
			return parse_fail(err, errlen, "socket path must have 1 to %zu bytes",
					  sizeof(o->socket) - 1);
		strcpy(o->socket, v);
		return 0;
	case 1:
		return parse_queues(v, kind, o, err, errlen);
	case 2:
		/* 2.7: a power of two; the framework's bound for every device */
		if (parse_uint(v, 2, VQ_CHAIN_MAX_SEGS, &n) || (n & (n - 1)))
			return parse_fail(err, errlen, "queue-size must be a power of two, 2 to %u",
					  VQ_CHAIN_MAX_SEGS);
		o->queue_size = (uint16_t)n;
		return 0;
	case 3:
		if (vu_opts_parse_mac(v, o->mac))
			return parse_fail(err, errlen,
					  "mac=%s: expected xx:xx:xx:xx:xx:xx, neither "
					  "all zeros nor a multicast address",
					  v);
		o->has_mac = true;
		return 0;
	default:
		return parse_device_id(v, o->id, sizeof(o->id), err, errlen);
	}
}

bool vu_opts_is_spec(const char *arg)
{
	return arg && !strncmp(arg, VU_OPTS_PREFIX, strlen(VU_OPTS_PREFIX));
}

int vu_opts_parse(const char *arg, enum vu_opts_kind kind, struct vu_opts *o, char *err,
		  size_t errlen)
{
	struct vu_opts r = {.num_queues = kind == VU_OPTS_NET ? VU_NET_QUEUES : 1,
			    .queue_size = VU_OPTS_DEFAULT_QSIZE};
	if (!vu_opts_is_spec(arg))
		return parse_fail(err, errlen, "%s", usage(kind));
	char *copy = strdup(arg);
	if (!copy)
		return parse_fail(err, errlen, "out of memory");
	int rc = 0;
	unsigned seen = 0;
	char *item = copy, *next;
	/* by hand, not strtok: an empty item ("vhost-user=/s,,id=a") is refused */
	for (; !rc && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		rc = *item ? parse_item(item, kind, &r, &seen, err, errlen)
			   : parse_fail(err, errlen, "empty item (%s)", usage(kind));
	}
	free(copy);
	if (!rc)
		*o = r;
	return rc;
}
