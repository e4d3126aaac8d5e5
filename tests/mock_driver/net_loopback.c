/* In-memory virtio-net backend (see net_loopback.h). */
#include "tests/mock_driver/net_loopback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/net/frame_queue.h"

/* recv_batch's buffers are aligned as a tap's are (the device reads the header in place). */
#define LB_SLOT_STRIDE ((NET_RX_SLOT_LEN + 63u) & ~63u)

struct sent_frame {
	size_t len;
	uint8_t *data;
};

struct loopback {
	struct net_backend be; /* first: the ops get it back by cast */
	struct net_frame_queue injected;
	struct sent_frame *sent;
	size_t nsent;
	int send_err;
	unsigned offloads, offload_calls;
	bool disabled;	/* set_enabled(false): a detached tap queue */
	uint8_t *slots; /* recv_batch's buffers: NET_RX_BATCH_MAX of NET_RX_SLOT_LEN bytes */
	unsigned batch_calls, batch_last_n;
	int batch_err; /* recv_batch fails with it (0: works) */
};

static struct loopback *to_lb(struct net_backend *be)
{
	return (struct loopback *)be;
}

static const struct loopback *to_clb(const struct net_backend *be)
{
	return (const struct loopback *)be;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

static int lb_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct loopback *lb = to_lb(be);
	size_t len = iov_total(iov, iovcnt), off = 0;
	uint8_t *copy;

	if (lb->send_err)
		return lb->send_err;
	if (lb->nsent == NET_LOOPBACK_MAX_RECORDED)
		return 0;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(copy + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	lb->sent[lb->nsent++] = (struct sent_frame){len, copy};
	return 0;
}

static ssize_t lb_recv(struct net_backend *be, void *buf, size_t len)
{
	return net_frame_queue_pop(&to_lb(be)->injected, buf, len);
}

/* Pops up to n frames into the slots, as a tap's batched read would (tap_rx.c). */
static int lb_recv_batch(struct net_backend *be, struct net_rx_frame *out, unsigned n)
{
	struct loopback *lb = to_lb(be);
	unsigned got = 0;

	lb->batch_calls++;
	lb->batch_last_n = n;
	if (lb->batch_err)
		return lb->batch_err;
	while (got < n) {
		uint8_t *slot = lb->slots + (size_t)got * LB_SLOT_STRIDE;
		ssize_t r = net_frame_queue_pop(&lb->injected, slot, NET_RX_SLOT_LEN);

		if (r == -EAGAIN)
			break;
		out[got++] = (struct net_rx_frame){slot, r};
	}
	return (int)got;
}

static int lb_set_offloads(struct net_backend *be, unsigned flags)
{
	struct loopback *lb = to_lb(be);

	lb->offloads = flags;
	lb->offload_calls++;
	return 0;
}

static int lb_set_enabled(struct net_backend *be, bool on)
{
	to_lb(be)->disabled = !on;
	return 0;
}

static void lb_destroy(struct net_backend *be)
{
	struct loopback *lb = to_lb(be);

	net_loopback_clear_sent(be);
	free(lb->sent);
	net_frame_queue_free(&lb->injected);
	free(lb->slots);
	free(lb);
}

static const struct net_backend_ops lb_ops = {
    .send = lb_send,
    .recv = lb_recv,
    .set_offloads = lb_set_offloads,
    .set_enabled = lb_set_enabled,
    .destroy = lb_destroy,
};

/* The same with batched receive (net_loopback_set_batch). */
static const struct net_backend_ops lb_batch_ops = {
    .send = lb_send,
    .recv = lb_recv,
    .recv_batch = lb_recv_batch,
    .set_offloads = lb_set_offloads,
    .set_enabled = lb_set_enabled,
    .destroy = lb_destroy,
};

int net_loopback_create(struct net_backend **out, bool vnet_hdr, unsigned offload_caps)
{
	struct loopback *lb = calloc(1, sizeof(*lb));
	int err;

	if (!lb)
		return -ENOMEM;
	lb->sent = calloc(NET_LOOPBACK_MAX_RECORDED, sizeof(*lb->sent));
	err = lb->sent ? net_frame_queue_init(&lb->injected, NET_LOOPBACK_MAX_QUEUED) : -ENOMEM;
	if (err) {
		free(lb->sent);
		free(lb);
		return err;
	}
	lb->be = (struct net_backend){
	    .ops = &lb_ops,
	    .kind = "loopback",
	    .vnet_hdr = vnet_hdr,
	    .offload_caps = vnet_hdr ? offload_caps : 0,
	    .rx_fd = lb->injected.event_fd,
	    .service_fd = -1,
	};
	*out = &lb->be;
	return 0;
}

int net_loopback_inject(struct net_backend *be, const void *frame, size_t len)
{
	return net_frame_queue_push(&to_lb(be)->injected, frame, len);
}

size_t net_loopback_sent_count(const struct net_backend *be)
{
	return to_clb(be)->nsent;
}

const uint8_t *net_loopback_sent(const struct net_backend *be, size_t i, size_t *len)
{
	const struct loopback *lb = to_clb(be);

	if (i >= lb->nsent)
		return NULL;
	*len = lb->sent[i].len;
	return lb->sent[i].data;
}

void net_loopback_clear_sent(struct net_backend *be)
{
	struct loopback *lb = to_lb(be);

	for (size_t i = 0; i < lb->nsent; i++)
		free(lb->sent[i].data);
	lb->nsent = 0;
}

void net_loopback_fail_send(struct net_backend *be, int err)
{
	to_lb(be)->send_err = err;
}

unsigned net_loopback_offloads(const struct net_backend *be, unsigned *calls)
{
	if (calls)
		*calls = to_clb(be)->offload_calls;
	return to_clb(be)->offloads;
}

bool net_loopback_enabled(const struct net_backend *be)
{
	return !to_clb(be)->disabled;
}

int net_loopback_set_batch(struct net_backend *be, bool on)
{
	struct loopback *lb = to_lb(be);

	if (on && !be->vnet_hdr)
		return -EINVAL; /* batches carry the header (backend.h) */
	if (on && !lb->slots && !(lb->slots = malloc((size_t)NET_RX_BATCH_MAX * LB_SLOT_STRIDE)))
		return -ENOMEM;
	be->ops = on ? &lb_batch_ops : &lb_ops;
	return 0;
}

unsigned net_loopback_batch_calls(const struct net_backend *be, unsigned *last_n)
{
	if (last_n)
		*last_n = to_clb(be)->batch_last_n;
	return to_clb(be)->batch_calls;
}

void net_loopback_fail_batch(struct net_backend *be, int err)
{
	to_lb(be)->batch_err = err;
}
