/* Parser of the `--net` option (see options.h). */
#include "virtio/net/options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"

#define USAGE                                                                                      \
	"expected tap=IFNAME[,mac=MAC][,queues=N][,iothread-cpus=LIST], tapfd=N[,mac=MAC] or "     \
	"user[,mac=MAC][,hostfwd=tcp::HOSTPORT-:GUESTPORT]..., each with [,id=NAME]"

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = parse_hex_digit(s[3 * i]), lo = parse_hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	if (m[0] & 1)
		return -EINVAL; /* a multicast address is not a station address */
	memcpy(mac, m, 6);
	return 0;
}

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

int virtio_net_parse_hostfwd(const char *s, struct virtio_net_hostfwd *fwd)
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

/* Where a parser puts its message (base/errors.h: parsers do not log). */
struct errbuf {
	char *s;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static int fail(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (e->n)
		vsnprintf(e->s, e->n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- the whole option string ---- */

static int parse_first(const char *item, struct virtio_net_opts *o, struct errbuf *e)
{
	uint64_t fd;

	if (strcmp(item, "user") == 0) {
		o->kind = VIRTIO_NET_USER;
		return 0;
	}
	if (strncmp(item, "tap=", 4) == 0) {
		o->kind = VIRTIO_NET_TAP;
		if (!item[4] || strlen(item + 4) >= IFNAMSIZ || strchr(item + 4, '/')) {
			return fail(e, "bad tap interface name '%s' (1 to %d characters)", item + 4,
				    IFNAMSIZ - 1);
		}
		strcpy(o->ifname, item + 4);
		return 0;
	}
	if (strncmp(item, "tapfd=", 6) == 0) {
		o->kind = VIRTIO_NET_TAPFD;
		if (parse_uint(item + 6, 0, 0x7fffffff, &fd)) {
			return fail(e, "bad file descriptor '%s'", item + 6);
		}
		o->tapfd = (int)fd;
		return 0;
	}
	return fail(e, "unknown network type '%s' (%s)", item, USAGE);
}

static int parse_mac_item(const char *val, struct virtio_net_opts *o, struct errbuf *e)
{
	if (o->has_mac) {
		return fail(e, "mac given twice");
	}
	if (virtio_net_parse_mac(val, o->mac)) {
		return fail(e,
			    "bad MAC address '%s' (expected six hex bytes like "
			    "52:54:00:12:34:56, not a multicast address)",
			    val);
	}
	o->has_mac = true;
	return 0;
}

static int parse_hostfwd_item(const char *val, struct virtio_net_opts *o, struct errbuf *e)
{
	if (o->kind != VIRTIO_NET_USER) {
		return fail(e, "hostfwd needs user-mode networking (--net user,...)");
	}
	if (o->nhostfwd == VIRTIO_NET_MAX_HOSTFWD) {
		return fail(e, "more than %d hostfwd rules", VIRTIO_NET_MAX_HOSTFWD);
	}
	if (virtio_net_parse_hostfwd(val, &o->hostfwd[o->nhostfwd])) {
		return fail(e,
			    "bad hostfwd '%s' (expected "
			    "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
			    val);
	}
	o->nhostfwd++;
	return 0;
}

/* rx-bw, rx-ops, tx-bw, tx-ops: one bucket each, given once. */
static int parse_rate_item(const char *key, const char *val, struct virtio_net_opts *o,
			   struct errbuf *e)
{
	struct rate_limiter_cfg *rl = key[0] == 'r' ? &o->rx_rl : &o->tx_rl;
	struct rl_bucket_cfg *b;

	if (!strcmp(key + 3, "bw"))
		b = &rl->bw;
	else if (!strcmp(key + 3, "ops"))
		b = &rl->ops;
	else
		return fail(e, "unknown option '%s' (rate limits: rx-bw, rx-ops, tx-bw, tx-ops)",
			    key);
	if (b->size)
		return fail(e, "%s given twice", key);
	return rl_bucket_parse(val, b, e->s, e->n) ? -EINVAL : 0;
}

/* KEY=N once, N in 1..VIRTIO_NET_MAX_PAIRS, into *out (0: not given yet); `what` names N. */
static int parse_count(const char *key, const char *val, unsigned *out, const char *what,
		       struct errbuf *e)
{
	uint64_t n;

	if (*out)
		return fail(e, "%s given twice", key);
	if (parse_uint(val, 1, VIRTIO_NET_MAX_PAIRS, &n))
		return fail(e, "%s=%s: expected a number of %s from 1 to %d", key, val, what,
			    VIRTIO_NET_MAX_PAIRS);
	*out = (unsigned)n;
	return 0;
}

/* queues=N, io-threads=T (1..VIRTIO_NET_MAX_PAIRS) and iothread-cpus=LIST, each once. */
static int parse_mq_item(const char *key, const char *val, struct virtio_net_opts *o,
			 struct errbuf *e)
{
	if (!strcmp(key, "iothread-cpus")) {
		if (o->iothread_cpus.n)
			return fail(e, "iothread-cpus given twice");
		return virtio_cpu_list_parse(val, &o->iothread_cpus, e->s, e->n) ? -EINVAL : 0;
	}
	if (!strcmp(key, "io-threads"))
		return parse_count(key, val, &o->io_threads, "I/O threads", e);
	return parse_count(key, val, &o->queues, "queue pairs", e);
}

/* id=NAME once (base/parse.h). */
static int parse_id_item(const char *val, struct virtio_net_opts *o, struct errbuf *e)
{
	if (o->id[0])
		return fail(e, "id given twice");
	return parse_device_id(val, o->id, sizeof(o->id), e->s, e->n);
}

static int parse_item(char *item, struct virtio_net_opts *o, struct errbuf *e)
{
	char *val = strchr(item, '=');

	if (!val) {
		return fail(e, "'%s' needs a value (%s)", item, USAGE);
	}
	*val++ = '\0';
	if (strcmp(item, "mac") == 0)
		return parse_mac_item(val, o, e);
	if (strcmp(item, "hostfwd") == 0)
		return parse_hostfwd_item(val, o, e);
	if (strcmp(item, "id") == 0)
		return parse_id_item(val, o, e);
	if (!strncmp(item, "rx-", 3) || !strncmp(item, "tx-", 3))
		return parse_rate_item(item, val, o, e);
	if (!strcmp(item, "queues") || !strcmp(item, "io-threads") ||
	    !strcmp(item, "iothread-cpus"))
		return parse_mq_item(item, val, o, e);
	return fail(e, "unknown option '%s' (%s)", item, USAGE);
}

int virtio_net_opts_parse(const char *spec, struct virtio_net_opts *opts, char *errmsg,
			  size_t errlen)
{
	struct errbuf eb = {errmsg, errlen}, *e = &eb;
	struct virtio_net_opts o = {.tapfd = -1};
	char *copy, *item, *next;
	int err;

	*opts = o;
	if (!spec || !*spec) {
		return fail(e, "empty option (%s)", USAGE);
	}
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	next = strchr(copy, ',');
	if (next)
		*next++ = '\0';
	err = parse_first(copy, &o, e);
	/* Walk the commas by hand (strtok would skip empty items, so "user,," is refused). */
	for (item = next; !err && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!*item) {
			err = fail(e, "empty option in '%s'", spec);
		} else {
			err = parse_item(item, &o, e);
		}
	}
	free(copy);
	/* One tap fd or one slirp stack cannot feed several queue pairs. */
	if (!err && o.queues > 1 && o.kind != VIRTIO_NET_TAP)
		err = fail(e, "queues=%u needs tap=IFNAME (tapfd= and user have one queue pair)",
			   o.queues);
	if (!err && o.io_threads > (o.queues ? o.queues : 1))
		err = fail(e, "io-threads=%u: more I/O threads than queue pairs (queues=%u)",
			   o.io_threads, o.queues ? o.queues : 1);
	if (!err)
		*opts = o;
	return err;
}
