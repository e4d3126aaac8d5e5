/* virtio-fs over vhost-user (virtio 1.2 5.11; QEMU docs/interop/vhost-user.rst): see fs.h. */
#include "virtio/fs/fs.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio/vhost_user/vu_frontend.h"
#include "vmm/base/log.h"

/* Ring features the back-end implements and the guest may use through it (no packed ring: the
 * front-end hands over split rings only). */
#define FS_PASS_FEATURES                                                                           \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC |                        \
	 1ull << VIRTIO_RING_F_EVENT_IDX)

#define FS_HEALTH_PERIOD_S 1
/* A running device whose back-end died waits this long for one on the same socket (a restarted
 * virtiofsd) before it fails; each second it tries once, with this timeout. */
#define FS_RECONNECT_GRACE_S	10
#define FS_RECONNECT_TIMEOUT_MS 1000

struct fs_dev {
	struct virtio_dev dev;
	struct virtio_fs_config config;
	struct virtio_fs_opts opts;
	struct vu_frontend fe;
	int timeout_ms;
	int call_fd[VIRTIO_DEV_MAX_QUEUES];
	int timer_fd;
	int down_s; /* seconds the running device has been without its back-end, -1: up */
};

static struct fs_dev *fs_of(struct virtio_dev *dev)
{
	return dev->priv;
}

/* The I/O thread's health check peeks at the socket (recvfrom MSG_PEEK, poll) and reconnects a
 * running device to a restarted back-end (a new Unix socket, the whole set-up). */
static const struct sandbox_rule fs_rules[] = {
    SB_ALLOW(SYS_recvfrom), SB_ALLOW(SYS_poll),	      SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_sendmsg),  SB_ALLOW(SYS_recvmsg),    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ALLOW(SYS_connect),  SB_ALLOW(SYS_getsockopt), SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_close),
};
static const struct sandbox_list fs_sandbox = SANDBOX_LIST("virtio-fs", fs_rules);

/* (Re)connects when the last connection is gone; the driver's features must still be offered
 * (a back-end restarted with fewer is refused). */
static int ensure_connected(struct fs_dev *fs, int timeout_ms)
{
	if (vu_frontend_alive(&fs->fe))
		return 0;
	vu_frontend_close(&fs->fe);
	int err = vu_frontend_connect(&fs->fe, fs->opts.socket, timeout_ms);
	fs->fe.conn.timeout_ms = fs->timeout_ms; /* the requests after the connect */
	if (err)
		return err;
	uint64_t want = fs->dev.driver_features & FS_PASS_FEATURES;
	if ((fs->fe.features & want) != want) {
		snprintf(fs->fe.error, sizeof(fs->fe.error),
			 "vhost-user back-end %s: offers %#llx now, the driver uses %#llx",
			 fs->opts.socket, (unsigned long long)fs->fe.features,
			 (unsigned long long)want);
		return -EPROTO;
	}
	log_info("virtio-fs %s: connected to %s", fs->opts.tag, fs->opts.socket);
	return 0;
}

static int start_queue(struct fs_dev *fs, uint16_t q, uint16_t base)
{
	const struct virtqueue *vq = &fs->dev.vqs[q];
	struct vu_vring_cfg v = {.ring = {.num = vq->num,
					  .desc = vq->desc_addr,
					  .avail = vq->driver_addr,
					  .used = vq->device_addr},
				 .base = base,
				 .kick_fd = fs->dev.kick_fd[q],
				 .call_fd = fs->call_fd[q],
				 .err_fd = -1};
	return vu_frontend_start_vring(&fs->fe, q, &v);
}

/* Where a resumed ring starts: its used index in guest memory. That is right only for a drained
 * ring (see rings_drained()); a fresh ring after the driver's set-up starts at 0 (2.7). */
static uint16_t resume_base(struct fs_dev *fs, uint16_t q)
{
	uint16_t idx = 0;
	if (guest_mem_read(fs->dev.mem, fs->dev.vqs[q].device_addr + 2, &idx, sizeof(idx)))
		return 0;
	return le16toh(idx);
}

/* True when every active ring's avail index equals its used index: no request is pending. A
 * dead back-end may have completed requests out of order (virtiofsd serves them on a thread
 * pool), so with requests pending nothing tells which of them it took or completed: resuming
 * at the used index could run a completed request again and never run an earlier one. Without
 * in-flight tracking (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, not done) such a device fails. */
static bool rings_drained(struct fs_dev *fs, uint16_t *busy_q)
{
	for (uint16_t q = 0; q < fs->dev.num_queues; q++) {
		const struct virtqueue *vq = &fs->dev.vqs[q];
		uint16_t avail = 0, used = 0;
		if (!vq->active)
			continue;
		if (guest_mem_read(fs->dev.mem, vq->driver_addr + 2, &avail, sizeof(avail)) ||
		    guest_mem_read(fs->dev.mem, vq->device_addr + 2, &used, sizeof(used)) ||
		    avail != used) {
			*busy_q = q;
			return false;
		}
	}
	return true;
}

/* Features, the memory table and every active queue to the connected back-end. */
static int hand_over(struct fs_dev *fs, bool resume)
{
	struct virtio_dev *dev = &fs->dev;
	struct vu_mem_table t;

	int err = vu_frontend_set_features(&fs->fe, dev->driver_features & FS_PASS_FEATURES);
	if (!err && vu_mem_table_from_guest(&t, dev->mem)) {
		snprintf(fs->fe.error, sizeof(fs->fe.error),
			 "guest RAM is not shareable with a vhost-user back-end");
		err = -EINVAL;
	}
	if (!err)
		err = vu_frontend_set_mem_table(&fs->fe, &t);
	for (uint16_t q = 0; !err && q < dev->num_queues; q++) {
		if (dev->vqs[q].active)
			err = start_queue(fs, q, resume ? resume_base(fs, q) : 0);
	}
	return err;
}

/* DRIVER_OK: features, the memory table and every ready queue to the back-end. */
static int fs_activate(struct virtio_dev *dev)
{
	struct fs_dev *fs = fs_of(dev);

	/* the whole hand-over within one timeout: this runs on the vCPU that wrote the status,
	 * with the device lock held, so a back-end may not stretch it message by message */
	vu_conn_set_budget(&fs->fe.conn, fs->timeout_ms);
	int err = ensure_connected(fs, fs->timeout_ms);
	if (!err)
		err = hand_over(fs, false);
	vu_conn_set_budget(&fs->fe.conn, 0);
	if (err) {
		log_error("virtio-fs %s: %s", fs->opts.tag, fs->fe.error);
		return -1; /* the framework sets DEVICE_NEEDS_RESET */
	}
	fs->down_s = -1;
	return 0;
}

/* Status 0: the back-end stops every ring (GET_VRING_BASE) before the driver reuses its
 * memory, then resets (RESET_DEVICE when it has it). */
static void fs_reset(struct virtio_dev *dev)
{
	struct fs_dev *fs = fs_of(dev);
	if (!vu_frontend_alive(&fs->fe))
		return;
	vu_conn_set_budget(&fs->fe.conn, fs->timeout_ms); /* as in fs_activate() */
	int err = vu_frontend_reset(&fs->fe);
	vu_conn_set_budget(&fs->fe.conn, 0);
	if (err) {
		/* it may still own the rings the driver now reuses: hang up, which makes the
		 * back-end stop them; the next DRIVER_OK connects again */
		log_warn("virtio-fs %s: reset: %s; disconnecting", fs->opts.tag, fs->fe.error);
		vu_frontend_close(&fs->fe);
	}
}

static void fs_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev, (void)q; /* the back-end reads the kicks; nothing reaches here */
}

/* The back-end used buffers of one queue: the interrupt, as the transport raises it. */
static void call_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct fs_dev *fs = fs_of(dev);
	uint64_t n;
	(void)revents;
	if (read(fd, &n, sizeof(n)) != sizeof(n) || !virtio_dev_running(dev))
		return;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (fs->call_fd[q] == fd)
			virtio_dev_raise_queue_irq(dev, q);
	}
}

/* Once a second: a running device whose back-end hung up tries to reconnect to the socket and
 * resume its rings where the used rings are (the guest sees a pause); after
 * FS_RECONNECT_GRACE_S without a back-end it fails (DEVICE_NEEDS_RESET; the driver's next
 * DRIVER_OK connects afresh). */
static void health_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct fs_dev *fs = fs_of(dev);
	uint64_t n;
	(void)revents;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (!virtio_dev_running(dev) || (fs->down_s < 0 && vu_frontend_alive(&fs->fe)))
		return;
	if (fs->down_s < 0) {
		log_warn("virtio-fs %s: vhost-user back-end %s closed the connection; waiting %d s "
			 "for it on the same socket",
			 fs->opts.tag, fs->opts.socket, FS_RECONNECT_GRACE_S);
		fs->down_s = 0;
	}
	vu_frontend_close(&fs->fe);
	uint16_t busy_q = 0;
	if (!rings_drained(fs, &busy_q)) {
		log_error("virtio-fs %s: the back-end went away with requests pending on queue %u: "
			  "they cannot be resumed safely, the device needs a reset",
			  fs->opts.tag, busy_q);
		fs->down_s = -1;
		virtio_dev_fail(dev, "vhost-user back-end gone with requests pending");
		return;
	}
	vu_conn_set_budget(&fs->fe.conn, fs->timeout_ms); /* the I/O thread, as fs_activate() */
	bool back = !ensure_connected(fs, FS_RECONNECT_TIMEOUT_MS) && !hand_over(fs, true);
	vu_conn_set_budget(&fs->fe.conn, 0);
	if (back) {
		log_info("virtio-fs %s: back-end reconnected after %d s, queues resumed",
			 fs->opts.tag, fs->down_s);
		fs->down_s = -1;
		return;
	}
	if (++fs->down_s < FS_RECONNECT_GRACE_S)
		return;
	log_error("virtio-fs %s: no vhost-user back-end on %s for %d s: %s", fs->opts.tag,
		  fs->opts.socket, fs->down_s, fs->fe.error);
	fs->down_s = -1;
	vu_frontend_close(&fs->fe);
	virtio_dev_fail(dev, "vhost-user back-end gone");
}

static void fs_destroy(struct virtio_dev *dev)
{
	struct fs_dev *fs = fs_of(dev);
	vu_frontend_close(&fs->fe);
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++) {
		if (fs->call_fd[q] >= 0)
			close(fs->call_fd[q]);
	}
	if (fs->timer_fd >= 0)
		close(fs->timer_fd);
	/* the struct itself is freed with the device (it starts with it) */
}

static const struct virtio_dev_ops fs_ops = {
    .activate = fs_activate,
    .queue_notify = fs_queue_notify,
    .reset = fs_reset,
    .destroy = fs_destroy,
    /* no .save: the queues' state lives in the back-end (snapshots refuse the device) */
};

static struct fs_dev *fs_alloc(const struct virtio_fs_opts *o, int timeout_ms)
{
	struct fs_dev *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->dev.priv = fs;
	fs->opts = *o;
	fs->timeout_ms = timeout_ms;
	fs->timer_fd = -1;
	fs->down_s = -1;
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		fs->call_fd[q] = -1;
	vu_frontend_init(&fs->fe);
	/* 5.11.4: tag (NUL padded, not terminated) and the request queue count, little endian */
	memcpy(fs->config.tag, o->tag, strnlen(o->tag, VIRTIO_FS_TAG_MAX));
	fs->config.num_request_queues = htole32(o->num_request_queues);
	return fs;
}

static void describe(struct fs_dev *fs)
{
	struct virtio_dev *d = &fs->dev;
	d->name = "vhost-user virtio-fs";
	d->device_id = VIRTIO_ID_FS;
	d->host_features = fs->fe.features & FS_PASS_FEATURES;
	d->num_queues = (uint16_t)(1 + fs->opts.num_request_queues); /* hiprio + requests */
	d->queue_max_size = fs->opts.queue_size;
	d->config = &fs->config;
	d->config_len = sizeof(fs->config);
	d->ops = &fs_ops;
	d->sandbox = &fs_sandbox;
	d->priv = fs;
	d->external_queues = true;
}

int virtio_fs_create(struct virtio_dev **out, const struct virtio_fs_opts *o, int timeout_ms)
{
	struct fs_dev *fs = fs_alloc(o, timeout_ms);
	if (!fs)
		return -ENOMEM;
	int err = vu_frontend_connect(&fs->fe, o->socket, timeout_ms);
	unsigned nq = 1u + o->num_request_queues;
	if (!err && fs->fe.max_queues && fs->fe.max_queues < nq) {
		snprintf(fs->fe.error, sizeof(fs->fe.error),
			 "vhost-user back-end %s has %u queues, %u are needed", o->socket,
			 fs->fe.max_queues, nq);
		err = -EINVAL;
	}
	if (!err && !(fs->fe.features & (1ull << VIRTIO_F_VERSION_1))) {
		snprintf(fs->fe.error, sizeof(fs->fe.error),
			 "vhost-user back-end %s does not offer VIRTIO_F_VERSION_1", o->socket);
		err = -EINVAL;
	}
	for (unsigned q = 0; !err && q < nq; q++) {
		fs->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fs->call_fd[q] < 0)
			err = -errno;
	}
	if (err) {
		log_error("--fs tag=%s: %s", o->tag,
			  fs->fe.error[0] ? fs->fe.error : strerror(-err));
		fs_destroy(&fs->dev);
		free(fs);
		return err;
	}
	describe(fs);
	*out = &fs->dev;
	return 0;
}

int virtio_fs_attach(struct virtio_dev *dev)
{
	struct fs_dev *fs = fs_of(dev);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		int err = virtio_dev_add_fd(dev, fs->call_fd[q], EPOLLIN, call_ready);
		if (err)
			return err;
	}
	fs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fs->timer_fd < 0)
		return -errno;
	struct itimerspec its = {.it_interval = {FS_HEALTH_PERIOD_S, 0},
				 .it_value = {FS_HEALTH_PERIOD_S, 0}};
	if (timerfd_settime(fs->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return virtio_dev_add_fd(dev, fs->timer_fd, EPOLLIN, health_ready);
}
