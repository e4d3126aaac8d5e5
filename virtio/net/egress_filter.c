/* The egress policy in front of a virtio-net backend. See egress_filter.h. */
#include "virtio/net/egress_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/net/egress.h"

#define FILTER_IOV_MAX 1024 /* UIO_MAXIOV: writev's limit, as the transmit path's */

struct egress_filter {
	struct net_backend be; /* first: the device holds this */
	struct net_backend *inner;
	struct egress_policy *policy; /* NULL: every frame passes */
	struct egress_rule *fixed;    /* added to every policy (served hostfwd ports) */
	unsigned nfixed;
	uint8_t *bounce;		  /* VIRTIO_NET_MAX_FRAME + header, on first need */
	uint8_t head[EGRESS_HEAD_MAX];	  /* the judged (and sent) copy of the frame's start */
	struct iovec iov[FILTER_IOV_MAX]; /* header, head copy, rest of the frame */
};

static struct egress_filter *to_filter(struct net_backend *be)
{
	return (struct egress_filter *)be;
}

/* The frame in one buffer (too many segments to add the head copy's): the whole of it is then
 * a private copy. Returns the iovec count (1) or -errno. */
static int linearize(struct egress_filter *f, const struct iovec *iov, int iovcnt, size_t *skip,
		     size_t *got)
{
	size_t cap = NET_HDR_LEN + VIRTIO_NET_MAX_FRAME, len = 0;

	if (!f->bounce && !(f->bounce = malloc(cap)))
		return -ENOMEM;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > cap - len)
			return -EMSGSIZE;
		memcpy(f->bounce + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	*got = len - (*skip < len ? *skip : len);
	if (*got > EGRESS_HEAD_MAX)
		*got = EGRESS_HEAD_MAX;
	memcpy(f->head, f->bounce + *skip, *got);
	f->iov[0] = (struct iovec){f->bounce, len};
	return 1;
}

/* Rebuilds iov into f->iov: the header's pieces as given, the frame's first EGRESS_HEAD_MAX
 * bytes from a copy in f->head (*got of them), then the rest as given. Returns the count. */
static int split(struct egress_filter *f, const struct iovec *iov, int iovcnt, size_t skip,
		 size_t *got)
{
	int out = 0, i = 0;
	size_t off = 0; /* into iov[i] where the rest starts */

	*got = 0;
	for (; i < iovcnt; i++, off = 0) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len, s = skip < len ? skip : len, take;
		if (s)
			f->iov[out++] = (struct iovec){(void *)p, s};
		skip -= s;
		take = len - s < EGRESS_HEAD_MAX - *got ? len - s : EGRESS_HEAD_MAX - *got;
		memcpy(f->head + *got, p + s, take);
		*got += take;
		off = s + take;
		if (*got == EGRESS_HEAD_MAX && off < len)
			break; /* the rest starts inside this one */
	}
	f->iov[out++] = (struct iovec){f->head, *got};
	for (; i < iovcnt; i++, off = 0)
		if (iov[i].iov_len > off)
			f->iov[out++] =
			    (struct iovec){(uint8_t *)iov[i].iov_base + off, iov[i].iov_len - off};
	return out;
}

static int e_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct egress_filter *f = to_filter(be);
	size_t skip = be->vnet_hdr ? NET_HDR_LEN : 0, got;
	int n;

	if (!f->policy)
		return f->inner->ops->send(f->inner, iov, iovcnt);
	n = iovcnt + 2 > FILTER_IOV_MAX ? linearize(f, iov, iovcnt, &skip, &got)
					: split(f, iov, iovcnt, skip, &got);
	if (n < 0)
		return n;
	if (egress_classify(f->policy, f->head, got) != EGRESS_PASS)
		return -NET_SEND_REFUSED;
	return f->inner->ops->send(f->inner, f->iov, n);
}

static ssize_t e_recv(struct net_backend *be, void *buf, size_t len)
{
	struct egress_filter *f = to_filter(be);
	ssize_t n = f->inner->ops->recv(f->inner, buf, len);

	f->be.dropped = f->inner->dropped; /* the device reads the outer backend's count */
	return n;
}

static int e_recv_batch(struct net_backend *be, struct net_rx_frame *out, unsigned n)
{
	struct egress_filter *f = to_filter(be);
	int r = f->inner->ops->recv_batch(f->inner, out, n);

	f->be.dropped = f->inner->dropped;
	return r;
}

static int e_set_offloads(struct net_backend *be, unsigned tun_flags)
{
	struct net_backend *in = to_filter(be)->inner;
	return in->ops->set_offloads ? in->ops->set_offloads(in, tun_flags) : 0;
}

static int e_set_enabled(struct net_backend *be, bool on)
{
	struct net_backend *in = to_filter(be)->inner;
	return in->ops->set_enabled ? in->ops->set_enabled(in, on) : 0;
}

static void e_service(struct net_backend *be)
{
	struct net_backend *in = to_filter(be)->inner;
	if (in->ops->service)
		in->ops->service(in);
}

static void e_destroy(struct net_backend *be)
{
	struct egress_filter *f = to_filter(be);
	net_backend_destroy(f->inner);
	egress_policy_free(f->policy);
	free(f->fixed);
	free(f->bounce);
	free(f);
}

static const struct net_backend_ops filter_ops = {
    .send = e_send,
    .recv = e_recv,
    .recv_batch = e_recv_batch,
    .set_offloads = e_set_offloads,
    .set_enabled = e_set_enabled,
    .service = e_service,
    .destroy = e_destroy,
};

/* Without recv_batch in the inner backend, the filter has none either. */
static const struct net_backend_ops filter_ops_single = {
    .send = e_send,
    .recv = e_recv,
    .set_offloads = e_set_offloads,
    .set_enabled = e_set_enabled,
    .service = e_service,
    .destroy = e_destroy,
};

/* rules[0..n) and the filter's fixed rules compiled (n may be 0: only what the link needs). */
static struct egress_policy *compile(const struct egress_filter *f, const struct egress_rule *rules,
				     unsigned n)
{
	struct egress_rule *all = calloc((size_t)n + f->nfixed + 1, sizeof(*all));
	struct egress_policy *p = NULL;

	if (all) {
		if (n)
			memcpy(all, rules, n * sizeof(*all));
		if (f->nfixed)
			memcpy(all + n, f->fixed, f->nfixed * sizeof(*all));
		p = egress_policy_new(all, n + f->nfixed);
	}
	free(all);
	return p;
}

static int wrap(struct net_backend **be, const struct egress_rule *rules, unsigned n, bool on,
		const struct egress_rule *fixed, unsigned nfixed)
{
	struct net_backend *in = *be;
	struct egress_filter *f = calloc(1, sizeof(*f));

	if (f && nfixed && (f->fixed = calloc(nfixed, sizeof(*f->fixed)))) {
		memcpy(f->fixed, fixed, nfixed * sizeof(*fixed));
		f->nfixed = nfixed;
	}
	if (f && on)
		f->policy = compile(f, rules, n);
	if (!f || (nfixed && !f->fixed) || (on && !f->policy)) {
		if (f)
			free(f->fixed);
		free(f);
		return -ENOMEM;
	}
	f->inner = in;
	f->be = *in; /* kind, vnet_hdr, offload caps, fds, sandbox: the inner backend's */
	f->be.ops = in->ops->recv_batch ? &filter_ops : &filter_ops_single;
	f->be.egress = &f->be;
	*be = &f->be;
	return 0;
}

int net_egress_wrap(struct net_backend **be, const struct egress_rule *rules, unsigned n)
{
	return wrap(be, rules, n, rules != NULL, NULL, 0);
}

int net_egress_wrap_fixed(struct net_backend **be, const struct egress_rules *rules,
			  const struct egress_rule *fixed, unsigned nfixed)
{
	bool on = rules && rules->on;
	return wrap(be, on ? rules->rule : NULL, on ? rules->n : 0, on, fixed, nfixed);
}

int net_egress_compile(const struct net_backend *filter, const struct egress_rules *rules,
		       struct egress_policy **out)
{
	const struct egress_filter *f = (const struct egress_filter *)filter;

	*out = NULL;
	if (!rules || !rules->on)
		return 0;
	*out = compile(f, rules->rule, rules->n);
	return *out ? 0 : -ENOMEM;
}

struct egress_policy *net_egress_swap(struct net_backend *filter, struct egress_policy *p)
{
	struct egress_filter *f = to_filter(filter);
	struct egress_policy *old = f->policy;

	f->policy = p;
	return old;
}

struct net_backend *net_egress_inner(struct net_backend *filter)
{
	return to_filter(filter)->inner;
}
