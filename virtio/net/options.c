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

/* The kind item, wherever it is: tap=IFNAME, tapfd=N or the flag user. Its index, or -1. */
static int find_kind(const struct opt_items *items)
{
	for (size_t i = 0; i < items->n; i++) {
		const char *k = items->v[i].key;
		if (!strcmp(k, "user") || !strcmp(k, "tap") || !strcmp(k, "tapfd"))
			return (int)i;
	}
	return -1;
}

/* The kind item `it` into o->kind and its ifname or tapfd. */
static int parse_kind(const struct opt_item *it, struct virtio_net_opts *o, char *err,
		      size_t errlen)
{
	const char *v = it->value;
	uint64_t fd;

	if (!strcmp(it->key, "user") && !v) {
		o->kind = VIRTIO_NET_USER;
		return 0;
	}
	if (!strcmp(it->key, "tap") && v) {
		o->kind = VIRTIO_NET_TAP;
		if (!v[0] || strlen(v) >= IFNAMSIZ || strchr(v, '/'))
			return parse_fail(err, errlen,
					  "bad tap interface name '%s' (1 to %d characters)", v,
					  IFNAMSIZ - 1);
		strcpy(o->ifname, v);
		return 0;
	}
	if (!strcmp(it->key, "tapfd") && v) {
		o->kind = VIRTIO_NET_TAPFD;
		if (parse_uint(v, 0, 0x7fffffff, &fd))
			return parse_fail(err, errlen, "bad file descriptor '%s'", v);
		o->tapfd = (int)fd;
		return 0;
	}
	/* the item as the option string writes it */
	return parse_fail(err, errlen, "unknown network type '%s%s%s' (%s)", it->key, v ? "=" : "",
			  v ? v : "", USAGE);
}

int virtio_net_opts_check_kind(const char *spec, char *err, size_t errlen)
{
	size_t len = spec ? (size_t)(opts_item_end(spec) - spec) : 0; /* the kind item's */

	if (!len && (!spec || !*spec))
		return parse_fail(err, errlen, "empty option (%s)", USAGE);
	if ((len == 4 && !strncmp(spec, "user", 4)) || !strncmp(spec, "tap=", 4) ||
	    !strncmp(spec, "tapfd=", 6))
		return 0;
	return parse_fail(err, errlen, "unknown network type '%.*s' (%s)", (int)len, spec, USAGE);
}

int virtio_net_opts_from_items(const struct opt_items *items, struct virtio_net_opts *opts,
			       char *err, size_t errlen)
{
	struct virtio_net_opts o = {.tapfd = -1};
	struct opt_items rest = {0};
	int k = find_kind(items), r;

	*opts = o;
	if (!items->n)
		return parse_fail(err, errlen, "empty option (%s)", USAGE);
	r = parse_kind(&items->v[k < 0 ? 0 : k], &o, err, errlen); /* none: item 0 is named */
	if (!r)
		r = opt_items_copy(&rest, items);
	if (!r) { /* the kind read, the rest by the table (a second kind is unknown there) */
		char *v = NULL;
		opt_items_take(&rest, items->v[k].key, &v); /* item k: its key's first */
		free(v);
		r = opts_parse_items(&rest, keys, &o, USAGE, err, errlen);
	}
	opt_items_free(&rest);
	if (!r)
		r = check_opts(&o, err, errlen);
	if (!r)
		*opts = o;
	return r;
}

int virtio_net_opts_parse(const char *spec, struct virtio_net_opts *opts, char *err, size_t errlen)
{
	struct opt_items items;
	int r = virtio_net_opts_check_kind(spec, err, errlen);

	*opts = (struct virtio_net_opts){.tapfd = -1};
	if (!r)
		r = opts_split(spec, NULL, &items, err, errlen);
	if (!r) {
		r = virtio_net_opts_from_items(&items, opts, err, errlen);
		opt_items_free(&items);
	}
	return r;
}

/* ---- back to items ---- */

/* "[ADDR]:PORT", the address left out when any. */
static int format_endpoint(uint32_t addr, uint16_t port, char *out, size_t len)
{
	char a[INET_ADDRSTRLEN] = "";
	struct in_addr in = {.s_addr = addr};

	if (addr && !inet_ntop(AF_INET, &in, a, sizeof(a)))
		return -EINVAL;
	return snprintf(out, len, "%s:%u", a, port) < (int)len ? 0 : -ENAMETOOLONG;
}

/* A hostfwd rule as the text parse_rule() reads back. */
static int hostfwd_to_item(const struct virtio_net_hostfwd *f, struct opt_items *out)
{
	char host[32], guest[32];
	int r = format_endpoint(f->host_addr, f->host_port, host, sizeof(host));

	if (!r)
		r = format_endpoint(f->guest_addr, f->guest_port, guest, sizeof(guest));
	return r ? r
		 : opt_items_addf(out, "hostfwd", "%s:%s-%s", f->udp ? "udp" : "tcp", host, guest);
}

/* egress: one item per rule ("none" for a policy without rules). */
static int egress_to_items(const struct egress_rules *e, struct opt_items *out)
{
	char text[EGRESS_RULE_TEXT];
	int r = e->on && !e->n ? opt_items_add(out, "egress", "none") : 0;

	for (unsigned i = 0; !r && i < e->n; i++) {
		egress_rule_format(&e->rule[i], text, sizeof(text));
		r = opt_items_add(out, "egress", text);
	}
	return r;
}

static int kind_to_item(const struct virtio_net_opts *o, struct opt_items *out)
{
	switch (o->kind) {
	case VIRTIO_NET_TAP:
		return opt_items_add(out, "tap", o->ifname);
	case VIRTIO_NET_TAPFD: /* a tap a migration handed over keeps its name (tap=NAME) */
		return o->ifname[0] ? opt_items_add(out, "tap", o->ifname)
				    : opt_items_addf(out, "tapfd", "%d", o->tapfd);
	case VIRTIO_NET_USER:
		break;
	}
	return opt_items_add(out, "user", NULL);
}

/* mac=, mtu=, id=, queues=, io-threads=: those given. */
static int scalars_to_items(const struct virtio_net_opts *o, struct opt_items *out)
{
	const uint8_t *m = o->mac;
	int r = 0;

	if (o->has_mac)
		r = opt_items_addf(out, "mac", "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				   m[3], m[4], m[5]);
	if (!r && o->mtu)
		r = opt_items_addf(out, "mtu", "%u", o->mtu);
	if (!r && o->queues)
		r = opt_items_addf(out, "queues", "%u", o->queues);
	if (!r && o->io_threads)
		r = opt_items_addf(out, "io-threads", "%u", o->io_threads);
	if (!r && o->id[0])
		r = opt_items_add(out, "id", o->id);
	return r;
}

int virtio_net_opts_to_items(const struct virtio_net_opts *o, struct opt_items *out)
{
	int r = kind_to_item(o, out);

	if (!r)
		r = scalars_to_items(o, out);
	for (unsigned i = 0; !r && i < o->nhostfwd; i++)
		r = hostfwd_to_item(&o->hostfwd[i], out);
	if (!r)
		r = rl_bucket_to_item(&o->rx_rl.bw, "rx-bw", out);
	if (!r)
		r = rl_bucket_to_item(&o->rx_rl.ops, "rx-ops", out);
	if (!r)
		r = rl_bucket_to_item(&o->tx_rl.bw, "tx-bw", out);
	if (!r)
		r = rl_bucket_to_item(&o->tx_rl.ops, "tx-ops", out);
	if (!r)
		r = virtio_cpu_list_to_item(&o->iothread_cpus, out);
	return r ? r : egress_to_items(&o->egress, out);
}
