/* virtio-gpu 2D device (virtio 1.2 section 5.7). See virtio/gpu/gpu.h. */
#include "virtio/gpu/gpu.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpu.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/serve.h"
#include "virtio/gpu/cmd.h"
#include "virtio/gpu/snapshot.h"
#include <sys/syscall.h>

#define GPU_BUDGET (2 * VIRTIO_GPU_QUEUE_SIZE) /* commands per wakeup */

struct vgpu {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_gpu_config config;
	struct gpu_state state;
	struct vq_chain chain;
	uint8_t *req; /* GPU_REQ_MAX bytes: the request being served */
	uint8_t resp[GPU_RESP_MAX];
	bool resize_watched;
};

/* A flush wakes the display: with an SDL window that is X11 traffic on this thread (sandbox.h). */
static const struct sandbox_rule gpu_rules[] = {
    SB_ALLOW(SYS_poll),	    SB_ALLOW(SYS_ppoll),   SB_ALLOW(SYS_writev),
    SB_ALLOW(SYS_readv),    SB_ALLOW(SYS_recvmsg), SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvfrom), SB_ALLOW(SYS_sendto),  SB_ALLOW(SYS_ioctl),
};
static const struct sandbox_list gpu_sandbox = SANDBOX_LIST("virtio-gpu", gpu_rules);

static struct vgpu *to_gpu(struct virtio_dev *dev)
{
	return dev->priv;
}

/* Reads the chain's request (at most GPU_REQ_MAX bytes: a longer one is cut, and a command then
 * finds what it needs or answers ERR_UNSPEC), runs it, writes what fits of the response. */
static int serve_chain(struct vgpu *g)
{
	struct vq_chain *c = &g->chain;
	uint32_t len = vq_chain_readable(c);
	size_t n;

	if (len > GPU_REQ_MAX)
		len = GPU_REQ_MAX;
	if (vq_chain_read(c, g->dev.mem, g->req, len))
		return -EFAULT;
	n = gpu_cmd_exec(&g->state, g->dev.mem, g->req, len, g->resp, sizeof(g->resp));
	if (n > vq_chain_writable(c))
		n = vq_chain_writable(c); /* a cursor command may come without a response buffer */
	if (n && vq_chain_write(c, g->dev.mem, g->resp, n))
		return -EFAULT;
	return 0;
}

static int gpu_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes)
{
	(void)opaque;
	if (serve_chain(to_gpu(dev)) < 0)
		return -EFAULT;
	*bytes += chain->written;
	return VIRTIO_CHAIN_PUSH;
}

/* A command can copy a whole framebuffer (TRANSFER_TO_HOST_2D): at most GPU_BUDGET of them per
 * wakeup, then the queue is rescheduled (virtio/core/serve.h) so the vCPUs get the lock. */
static void serve(struct vgpu *g, uint16_t q)
{
	const struct virtio_server s = {
	    .chain = &g->chain,
	    .max_chains = GPU_BUDGET,
	    .handle = gpu_handle,
	};

	virtio_serve_queue(&g->dev, q, &s);
}

static void gpu_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	if (q <= VIRTIO_GPU_CURSORQ)
		serve(to_gpu(dev), q);
}

/* The viewer asked for another size: report it (5.7.4 events_read, config interrupt). */
static void resize_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct vgpu *g = to_gpu(dev);
	uint64_t count;
	uint32_t w, h;

	(void)revents;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_debug("virtio-gpu: resize eventfd: %s", strerror(errno));
	display_preferred_size(g->state.disp, &w, &h);
	if (w == g->state.width && h == g->state.height)
		return;
	g->state.width = w;
	g->state.height = h;
	g->config.events_read |= VIRTIO_GPU_EVENT_DISPLAY;
	virtio_dev_config_changed(dev);
}

static int gpu_activate(struct virtio_dev *dev)
{
	struct vgpu *g = to_gpu(dev);

	if (g->state.disp && !g->resize_watched) {
		int err =
		    virtio_dev_add_fd(dev, display_resize_fd(g->state.disp), EPOLLIN, resize_ready);

		if (err) {
			log_error("virtio-gpu: cannot watch display resizes: %s", strerror(-err));
			return err;
		}
		g->resize_watched = true;
	}
	serve(g, VIRTIO_GPU_CONTROLQ);
	serve(g, VIRTIO_GPU_CURSORQ);
	return 0;
}

/* 2.4: resources and scanouts are gone after a reset; the pending event stays (the size did
 * change), as QEMU keeps it. */
static void gpu_reset(struct virtio_dev *dev)
{
	gpu_state_reset(&to_gpu(dev)->state);
}

/* 5.7.4: events_clear is write-1-to-clear over events_read; everything else is read-only. */
static void gpu_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len)
{
	struct vgpu *g = to_gpu(dev);
	uint32_t v = 0;

	if (offset != offsetof(struct virtio_gpu_config, events_clear) || len != sizeof(v))
		return;
	memcpy(&v, data, sizeof(v));
	g->config.events_read &= ~v;
}

static void gpu_destroy(struct virtio_dev *dev)
{
	struct vgpu *g = to_gpu(dev);

	gpu_res_clear(&g->state.res);
	free(g->req);
	g->req = NULL;
}

/* The snapshot: the config's pending events, then the 2D state (virtio/gpu/snapshot.h). */
struct vgpu_snap {
	uint32_t events_read;
	uint32_t reserved; /* zero */
};

static size_t gpu_save_size(struct virtio_dev *dev)
{
	return sizeof(struct vgpu_snap) + gpu_state_save_size(&to_gpu(dev)->state);
}

static int gpu_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vgpu *g = to_gpu(dev);
	struct vgpu_snap h = {g->config.events_read, 0};
	size_t n = 0;
	int r;

	if (cap < sizeof(h))
		return -ENOSPC;
	r = gpu_state_save(&g->state, (uint8_t *)buf + sizeof(h), cap - sizeof(h), &n);
	if (r)
		return r;
	memcpy(buf, &h, sizeof(h));
	*len = sizeof(h) + n;
	return 0;
}

/* 5.7.4: only VIRTIO_GPU_EVENT_DISPLAY can be pending. */
static int gpu_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vgpu *g = to_gpu(dev);
	struct vgpu_snap h;
	int r;

	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	if (h.events_read & ~(uint32_t)VIRTIO_GPU_EVENT_DISPLAY || h.reserved)
		return -EINVAL;
	r = gpu_state_restore(&g->state, dev->mem, (const uint8_t *)buf + sizeof(h),
			      len - sizeof(h));
	if (r)
		return -EINVAL;
	g->config.events_read = h.events_read;
	return 0;
}

static const struct virtio_dev_ops gpu_ops = {
    .activate = gpu_activate,
    .queue_notify = gpu_queue_notify,
    .reset = gpu_reset,
    .config_write = gpu_config_write,
    .destroy = gpu_destroy,
    .save = gpu_save,
    .restore = gpu_restore,
    .save_size = gpu_save_size,
};

int virtio_gpu_create(struct virtio_dev **out, struct display *disp, uint64_t mem_cap)
{
	struct vgpu *g = calloc(1, sizeof(*g));

	if (g)
		g->req = malloc(GPU_REQ_MAX);
	if (!g || !g->req) {
		free(g);
		return -ENOMEM;
	}
	gpu_state_init(&g->state, disp, mem_cap);
	g->config.num_scanouts = GPU_NUM_SCANOUTS;
	g->dev = (struct virtio_dev){
	    .name = "virtio-gpu",
	    .device_id = VIRTIO_ID_GPU,
	    .host_features = VIRTIO_DEV_RING_FEATURES,
	    .num_queues = 2,
	    .queue_max_size = VIRTIO_GPU_QUEUE_SIZE,
	    .config = &g->config,
	    .config_len = sizeof(g->config),
	    .ops = &gpu_ops,
	    .sandbox = &gpu_sandbox,
	    .priv = g,
	};
	*out = &g->dev;
	return 0;
}
