/* Parser of the `--net` option (see options.h). */
#include "virtio/net/options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mac.h"
#include "base/options.h"
#include "base/parse.h"

#define USAGE                                                                                      \
	"expected tap=IFNAME[,mac=MAC][,queues=N][,iothread-cpus=LIST], tapfd=N[,mac=MAC] or "     \
	"user[,mac=MAC][,hostfwd=tcp::HOSTPORT-:GUESTPORT]..., each with [,id=NAME]"               \
	"[,egress=RULE[;RULE]...]"

/* "[ADDR]:PORT" -> address (0 when empty) and port 1..65535. Modifies s. */
static int parse_endpoint(char *s, uint32_t *addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');
	struct in_addr a = {0};
	uint64_t p;

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (*s && inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	if (parse_uint(colon + 1, 1, 65535, &p))
		return -EINVAL;
	*addr = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

static int parse_rule(char *s, struct virtio_net_hostfwd *fwd)
{
	char *colon = strchr(s, ':'), *dash;

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (strcmp(s, "udp") == 0)
		fwd->udp = true;
	else if (*s && strcmp(s, "tcp") != 0)
		return -EINVAL;
	s = colon + 1;
	dash = strchr(s, '-');
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	if (parse_endpoint(s, &fwd->host_addr, &fwd->host_port))
		return -EINVAL;
	return parse_endpoint(dash + 1, &fwd->guest_addr, &fwd->guest_port);
}

/* Parses one hostfwd RULE (options.h). Returns 0 or -EINVAL. */
static int virtio_net_parse_hostfwd(const char *s, struct virtio_net_hostfwd *fwd)
{
	struct virtio_net_hostfwd f = {0};
	char *copy = strdup(s);
	int err;

	if (!copy)
		return -ENOMEM;
	err = parse_rule(copy, &f);
	free(copy);
	if (!err)
		*fwd = f;
	return err;
}

/* ---- the whole option string ---- */

static int parse_first(const char *item, struct virtio_net_opts *o, char *err, size_t errlen)
{
	uint64_t fd;

	if (strcmp(item, "user") == 0) {
		o->kind = VIRTIO_NET_USER;
		return 0;
	}
	if (strncmp(item, "tap=", 4) == 0) {
		o->kind = VIRTIO_NET_TAP;
		if (!item[4] || strlen(item + 4) >= IFNAMSIZ || strchr(item + 4, '/'))
			return parse_fail(err, errlen,
					  "bad tap interface name '%s' (1 to %d characters)",
					  item + 4, IFNAMSIZ - 1);
		strcpy(o->ifname, item + 4);
		return 0;
	}
	if (strncmp(item, "tapfd=", 6) == 0) {
		o->kind = VIRTIO_NET_TAPFD;
		if (parse_uint(item + 6, 0, 0x7fffffff, &fd))
			return parse_fail(err, errlen, "bad file descriptor '%s'", item + 6);
		o->tapfd = (int)fd;
		return 0;
	}
	return parse_fail(err, errlen, "unknown network type '%s' (%s)", item, USAGE);
}

static int set_mac(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dst;

	(void)key;
	if (mac_parse(val, o->mac, err, errlen))
		return -EINVAL;
	o->has_mac = true;
	return 0;
}

static int set_hostfwd(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dst;

	(void)key;
	if (o->kind != VIRTIO_NET_USER)
		return parse_fail(err, errlen,
				  "hostfwd needs user-mode networking (--net user,...)");
	if (o->nhostfwd == VIRTIO_NET_MAX_HOSTFWD)
		return parse_fail(err, errlen, "more than %d hostfwd rules",
				  VIRTIO_NET_MAX_HOSTFWD);
	if (virtio_net_parse_hostfwd(val, &o->hostfwd[o->nhostfwd]))
		return parse_fail(err, errlen,
				  "bad hostfwd '%s' (expected "
				  "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
				  val);
	o->nhostfwd++;
	return 0;
}

/* rx-bw, rx-ops, tx-bw, tx-ops: one bucket each. */
static int set_rate(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dst;
	struct rate_limiter_cfg *rl = key[0] == 'r' ? &o->rx_rl : &o->tx_rl;

	return rl_bucket_parse(val, !strcmp(key + 3, "bw") ? &rl->bw : &rl->ops, err, errlen)
		   ? -EINVAL
		   : 0;
}

/* queues=N, io-threads=T: 1..VIRTIO_NET_MAX_PAIRS. */
static int set_count(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dst;
	bool queues = !strcmp(key, "queues");
	uint64_t n;

	if (parse_uint(val, 1, VIRTIO_NET_MAX_PAIRS, &n))
		return parse_fail(err, errlen, "%s=%s: expected a number of %s from 1 to %d", key,
				  val, queues ? "queue pairs" : "I/O threads",
				  VIRTIO_NET_MAX_PAIRS);
	*(queues ? &o->queues : &o->io_threads) = (unsigned)n;
	return 0;
}

static int set_cpus(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	(void)key;
	return virtio_cpu_list_parse(val, &((struct virtio_net_opts *)dst)->iothread_cpus, err,
				     errlen)
		   ? -EINVAL
		   : 0;
}

/* egress=RULE[;RULE]... (virtio/net/egress.h), added to the rules before it. */
static int set_egress(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	(void)key;
	return egress_rules_add(&((struct virtio_net_opts *)dst)->egress, val, err, errlen);
}

/* mtu=N: what the config space's mtu says (VIRTIO_NET_F_MTU); Firecracker's range. */
static int set_mtu(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dst;
	uint64_t v;

	(void)key;
	if (parse_uint(val, VIRTIO_NET_MIN_MTU, VIRTIO_NET_MAX_MTU, &v))
		return parse_fail(err, errlen, "mtu=%s: from %d to %d", val, VIRTIO_NET_MIN_MTU,
				  VIRTIO_NET_MAX_MTU);
	o->mtu = (unsigned)v;
	return 0;
}

/* id=NAME (base/parse.h). */
static int set_id(void *dst, const char *key, const char *val, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dst;

	(void)key;
	return parse_device_id(val, o->id, sizeof(o->id), err, errlen);
}

static const struct opt_key keys[] = {
    {"mac", 0, set_mac},
    {"mtu", 0, set_mtu},
    {"hostfwd", OPT_REPEAT, set_hostfwd},
    {"id", 0, set_id},
    {"egress", OPT_REPEAT, set_egress},
    {"rx-bw", 0, set_rate},
    {"rx-ops", 0, set_rate},
    {"tx-bw", 0, set_rate},
    {"tx-ops", 0, set_rate},
    {"queues", 0, set_count},
    {"io-threads", 0, set_count},
    {"iothread-cpus", 0, set_cpus},
    {NULL, 0, NULL},
};

/* The rules between items, once all are read. */
static int check_opts(const struct virtio_net_opts *o, char *err, size_t errlen)
{
	/* One tap fd or one slirp stack cannot feed several queue pairs. */
	if (o->queues > 1 && o->kind != VIRTIO_NET_TAP)
		return parse_fail(
		    err, errlen, "queues=%u needs tap=IFNAME (tapfd= and user have one queue pair)",
		    o->queues);
	if (o->io_threads > (o->queues ? o->queues : 1))
		return parse_fail(err, errlen,
				  "io-threads=%u: more I/O threads than queue pairs (queues=%u)",
				  o->io_threads, o->queues ? o->queues : 1);
	return 0;
}

int virtio_net_opts_parse(const char *spec, struct virtio_net_opts *opts, char *err, size_t errlen)
{
	struct virtio_net_opts o = {.tapfd = -1};
	char *copy, *next;
	int r;

	*opts = o;
	if (!spec || !*spec)
		return parse_fail(err, errlen, "empty option (%s)", USAGE);
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	next = strchr(copy, ',');
	if (next)
		*next++ = '\0';
	r = parse_first(copy, &o, err, errlen);
	if (!r && next) /* "user," ends in an empty item */
		r = *next ? opts_parse(next, keys, &o, USAGE, err, errlen)
			  : parse_fail(err, errlen, "empty option in '%s'", spec);
	free(copy);
	if (!r)
		r = check_opts(&o, err, errlen);
	if (!r)
		*opts = o;
	return r;
}
