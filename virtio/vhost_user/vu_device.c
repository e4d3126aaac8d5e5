/* A virtio device served by a vhost-user back-end (QEMU docs/interop/vhost-user.rst, "Starting
 * and stopping rings"): see vu_device.h. */
#include "virtio/vhost_user/vu_device.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

/* The I/O thread's health check peeks at the socket (recvfrom MSG_PEEK, poll) and reconnects a
 * running device to a restarted back-end (a new Unix socket, the whole set-up). */
static const struct sandbox_rule vu_rules[] = {
    SB_ALLOW(SYS_recvfrom), SB_ALLOW(SYS_poll),	      SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_sendmsg),  SB_ALLOW(SYS_recvmsg),    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ALLOW(SYS_connect),  SB_ALLOW(SYS_getsockopt), SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_close),
};
const struct sandbox_list vu_sandbox = SANDBOX_LIST("vhost-user", vu_rules);

void vu_device_init(struct vu_device *vd, const char *socket, const char *label, int timeout_ms)
{
	memset(vd, 0, sizeof(*vd));
	vd->dev.priv = vd;
	snprintf(vd->socket, sizeof(vd->socket), "%s", socket);
	snprintf(vd->label, sizeof(vd->label), "%s", label);
	vd->timeout_ms = timeout_ms;
	vd->timer_fd = -1;
	vd->down_since_ms = -1;
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		vd->call_fd[q] = vd->given_call[q] = -1;
	vu_frontend_init(&vd->fe);
}

/* The grace period is measured on the monotonic clock, not in health ticks: a tick may take up
 * to the device's timeout on top of the timer's period. */
static int refuse(struct vu_device *vd, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct vu_device *vd, int err, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(vd->fe.error, sizeof(vd->fe.error), "vhost-user back-end %s %s", vd->socket, why);
	return err;
}

int vu_device_connect(struct vu_device *vd, unsigned nq)
{
	if (nq == 0 || nq > VIRTIO_DEV_MAX_QUEUES)
		return refuse(vd, -EINVAL, "cannot serve %u queues (1 to %u)", nq,
			      VIRTIO_DEV_MAX_QUEUES);
	int err = vu_frontend_connect(&vd->fe, vd->socket, vd->timeout_ms);
	if (err)
		return err;
	if (vd->fe.max_queues && vd->fe.max_queues < nq)
		return refuse(vd, -EINVAL, "has %u queues, %u are needed", vd->fe.max_queues, nq);
	if (!(vd->fe.features & (1ull << VIRTIO_F_VERSION_1)))
		return refuse(vd, -EINVAL, "does not offer VIRTIO_F_VERSION_1");
	for (unsigned q = 0; q < nq; q++) {
		vd->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vd->call_fd[q] < 0)
			return -errno;
	}
	return 0;
}

void vu_device_describe(struct vu_device *vd, unsigned nq, uint16_t qsize, uint64_t pass,
			uint64_t local, const struct virtio_dev_ops *ops)
{
	struct virtio_dev *d = &vd->dev;
	vd->backend_features = vd->fe.features & pass;
	d->host_features = vd->backend_features | local;
	d->num_queues = (uint16_t)nq;
	d->queue_max_size = qsize;
	d->ops = ops;
	d->sandbox = &vu_sandbox;
	d->priv = vd;
	d->external_queues = true;
}

/* Connects `fe` to the device's back-end; the driver's features `want` must still be offered (a
 * back-end restarted with fewer is refused). Touches nothing of the device but its constant
 * socket, label and timeout: the reconnect runs it without the device lock. */
static int connect_checked(const struct vu_device *vd, struct vu_frontend *fe, uint64_t want)
{
	vu_frontend_close(fe);
	int err = vu_frontend_connect(fe, vd->socket, vd->timeout_ms);
	if (err)
		return err;
	if ((fe->features & want) != want) {
		snprintf(fe->error, sizeof(fe->error),
			 "vhost-user back-end %s: offers %#llx now, the driver uses %#llx",
			 vd->socket, (unsigned long long)fe->features, (unsigned long long)want);
		return -EPROTO;
	}
	log_info("%s: connected to %s", vd->label, vd->socket);
	return 0;
}

/* The driver's features the back-end serves. */
static uint64_t wanted_features(const struct vu_device *vd)
{
	return vd->dev.driver_features & vd->backend_features;
}

/* Connects when the last connection is gone. */
static int ensure_connected(struct vu_device *vd)
{
	return vu_frontend_alive(&vd->fe) ? 0 : connect_checked(vd, &vd->fe, wanted_features(vd));
}

/* The fd queue q's back-end should signal: the transport's irqfd when it has one for the queue
 * now (the guest is interrupted without the VMM), else the relay eventfd. */
static int wanted_call_fd(struct vu_device *vd, uint16_t q)
{
	int fd = virtio_dev_queue_irqfd(&vd->dev, q);
	return fd >= 0 ? fd : vd->call_fd[q];
}

/* With -v -v: which way ring q's calls go now (the fd it was just given). */
static void log_call_route(struct vu_device *vd, uint16_t q)
{
	log_debug("%s: queue %u: the back-end's calls go %s", vd->label, q,
		  vd->given_call[q] != vd->call_fd[q] ? "straight to the guest (irqfd)"
						      : "through the VMM (relay)");
}

/* Ring q as the hand-over sends it, starting at `base`. */
static struct vu_vring_cfg ring_cfg(struct vu_device *vd, uint16_t q, uint16_t base)
{
	const struct virtqueue *vq = &vd->dev.vqs[q];
	return (struct vu_vring_cfg){.ring = {.num = vq->num,
					      .desc = vq->desc_addr,
					      .avail = vq->driver_addr,
					      .used = vq->device_addr},
				     .base = base,
				     .kick_fd = vd->dev.kick_fd[q],
				     .call_fd = wanted_call_fd(vd, q),
				     .err_fd = -1};
}

/* Where a resumed ring starts: its used index in guest memory (2.7.8). That is right only for
 * a drained ring, or a device that tolerates lost and repeated requests (resume_pending); a
 * fresh ring after the driver's set-up starts at 0 (2.7). */
static uint16_t resume_base(struct vu_device *vd, uint16_t q)
{
	uint16_t idx = 0;
	if (guest_mem_read(vd->dev.mem, vd->dev.vqs[q].device_addr + 2, &idx, sizeof(idx)))
		return 0;
	return le16toh(idx);
}

/* True when every active ring's avail index equals its used index: no request is pending. A
 * dead back-end may have completed requests out of order (virtiofsd and qemu-storage-daemon
 * serve them concurrently), so with requests pending nothing tells which of them it took or
 * completed: resuming at the used index could run a completed request again and never run an
 * earlier one. Without in-flight tracking (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, not done)
 * such a device fails. */
static bool rings_drained(struct vu_device *vd, uint16_t *busy_q)
{
	for (uint16_t q = 0; q < vd->dev.num_queues; q++) {
		const struct virtqueue *vq = &vd->dev.vqs[q];
		uint16_t avail = 0, used = 0;
		if (!vq->active)
			continue;
		if (guest_mem_read(vd->dev.mem, vq->driver_addr + 2, &avail, sizeof(avail)) ||
		    guest_mem_read(vd->dev.mem, vq->device_addr + 2, &used, sizeof(used)) ||
		    avail != used) {
			*busy_q = q;
			return false;
		}
	}
	return true;
}

/* What a hand-over sends: the device's state, taken with its lock held (plan()), sent with or
 * without it (send_plan()). */
struct vu_plan {
	uint64_t features;
	struct vu_mem_table mem;
	uint16_t nq;
	bool active[VIRTIO_DEV_MAX_QUEUES];
	struct vu_vring_cfg ring[VIRTIO_DEV_MAX_QUEUES];
};

/* The hand-over of the device as it is: resumed rings start at their used index. Returns 0, or
 * -EINVAL with the reason in fe->error (guest RAM not shareable). */
static int plan(struct vu_device *vd, bool resume, struct vu_plan *p, struct vu_frontend *fe)
{
	struct virtio_dev *dev = &vd->dev;
	p->features = wanted_features(vd);
	p->nq = dev->num_queues;
	if (vu_mem_table_from_guest(&p->mem, dev->mem)) {
		snprintf(fe->error, sizeof(fe->error),
			 "guest RAM is not shareable with a vhost-user back-end");
		return -EINVAL;
	}
	for (uint16_t q = 0; q < p->nq; q++) {
		p->active[q] = dev->vqs[q].active;
		if (p->active[q])
			p->ring[q] = ring_cfg(vd, q, resume ? resume_base(vd, q) : 0);
	}
	return 0;
}

/* Features, the memory table and every active ring of `p` to the back-end on `fe`. */
static int send_plan(struct vu_frontend *fe, const struct vu_plan *p)
{
	int err = vu_frontend_set_features(fe, p->features);
	if (!err)
		err = vu_frontend_set_mem_table(fe, &p->mem);
	for (uint16_t q = 0; !err && q < p->nq; q++) {
		if (p->active[q])
			err = vu_frontend_start_vring(fe, q, &p->ring[q]);
	}
	return err;
}

/* The rings of `p` were handed over: which call fd each was given. */
static void plan_done(struct vu_device *vd, const struct vu_plan *p)
{
	for (uint16_t q = 0; q < p->nq; q++) {
		if (!p->active[q])
			continue;
		vd->given_call[q] = p->ring[q].call_fd;
		log_call_route(vd, q);
	}
}

/* The hand-over at DRIVER_OK, on the connected back-end, with the device lock held. */
static int hand_over(struct vu_device *vd)
{
	struct vu_plan p;
	int err = plan(vd, false, &p, &vd->fe);
	if (!err)
		err = send_plan(&vd->fe, &p);
	if (!err)
		plan_done(vd, &p);
	return err;
}

int vu_device_activate(struct virtio_dev *dev)
{
	struct vu_device *vd = vu_device_of(dev);

	/* the whole hand-over within one timeout: this runs on the vCPU that wrote the status,
	 * with the device lock held, so a back-end may not stretch it message by message */
	vd->generation++;
	vu_conn_set_budget(&vd->fe.conn, vd->timeout_ms);
	int err = ensure_connected(vd);
	if (!err)
		err = hand_over(vd);
	vu_conn_set_budget(&vd->fe.conn, 0);
	if (err) {
		log_error("%s: %s", vd->label, vd->fe.error);
		return -1; /* the framework sets DEVICE_NEEDS_RESET */
	}
	vd->down_since_ms = -1;
	return 0;
}

void vu_device_reset(struct virtio_dev *dev)
{
	struct vu_device *vd = vu_device_of(dev);
	vd->generation++;
	if (!vu_frontend_alive(&vd->fe))
		return;
	vu_conn_set_budget(&vd->fe.conn, vd->timeout_ms); /* as in vu_device_activate() */
	int err = vu_frontend_reset(&vd->fe);
	vu_conn_set_budget(&vd->fe.conn, 0);
	if (err) {
		/* it may still own the rings the driver now reuses: hang up, which makes the
		 * back-end stop them; the next DRIVER_OK connects again */
		log_warn("%s: reset: %s; disconnecting", vd->label, vd->fe.error);
		vu_frontend_close(&vd->fe);
	}
}

void vu_device_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev, (void)q; /* the back-end reads the kicks; nothing reaches here */
}

/* Reads a relay eventfd: the calls waiting there (0: none), counted as relayed. */
static uint64_t take_relayed(struct vu_device *vd, int fd)
{
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	atomic_fetch_add_explicit(&vd->relayed, n, memory_order_relaxed);
	return n;
}

/* The back-end used buffers of one queue: the interrupt, as the transport raises it. */
static void call_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct vu_device *vd = vu_device_of(dev);
	(void)revents;
	if (!take_relayed(vd, fd) || !virtio_dev_running(dev))
		return;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (vd->call_fd[q] == fd)
			virtio_dev_raise_queue_irq(dev, q);
	}
}

/* Gives started ring q the call fd it should have now, if that is another one. Returns 0 or
 * -errno (the connection is then broken: the health check reconnects, and the hand-over gives
 * every ring the right fd). */
static int switch_call(struct vu_device *vd, uint16_t q)
{
	int want = wanted_call_fd(vd, q);
	if (want == vd->given_call[q])
		return 0;
	int err = vu_frontend_set_vring_call(&vd->fe, q, want);
	if (err)
		return err;
	vd->given_call[q] = want;
	log_call_route(vd, q);
	bool direct = want != vd->call_fd[q];
	/* A call the back-end made on the relay just before the switch may not have been read
	 * yet; look now rather than when the I/O thread gets the lock (QEMU checks its masked
	 * notifier the same way on unmask). Spurious interrupts are allowed (2.7.7). */
	if (direct && take_relayed(vd, vd->call_fd[q]) && virtio_dev_running(&vd->dev))
		virtio_dev_raise_queue_irq(&vd->dev, q);
	return 0;
}

void vu_device_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx)
{
	put(ctx, "calls_relayed", atomic_load(&vu_device_of(dev)->relayed));
}

void vu_device_irqfd_changed(struct virtio_dev *dev)
{
	struct vu_device *vd = vu_device_of(dev);
	vd->generation++; /* a reconnect under way plans with the fds of before */
	if (vd->fe.conn.fd < 0 || vd->fe.conn.broken)
		return; /* the next hand-over gives each ring the right fd */
	/* with the device lock held, as the hand-over: the whole of it within one timeout */
	vu_conn_set_budget(&vd->fe.conn, vd->timeout_ms);
	int err = 0;
	for (uint16_t q = 0; !err && q < dev->num_queues; q++) {
		if (vd->fe.started[q])
			err = switch_call(vd, q);
	}
	vu_conn_set_budget(&vd->fe.conn, 0);
	if (err)
		log_warn("%s: %s", vd->label, vd->fe.error);
}

/* After a resume: the dead back-end may have consumed the guest's last kick (and left
 * avail_event or VRING_USED_F_NO_NOTIFY stale), and may have written used entries without
 * signalling them. One kick per started ring and one interrupt per queue make both sides look
 * again; spurious notifications are allowed either way (virtio 1.2, 2.7.7). */
static void nudge_rings(struct vu_device *vd)
{
	struct virtio_dev *dev = &vd->dev;
	const uint64_t one = 1;
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		if (!dev->vqs[q].active)
			continue;
		if (dev->kick_fd[q] >= 0 && write(dev->kick_fd[q], &one, sizeof(one)) < 0)
			log_warn("%s: kicking queue %u after the resume: %s", vd->label, q,
				 strerror(errno));
		virtio_dev_raise_queue_irq(dev, q);
	}
}

/* The back-end is gone: may the rings be resumed on a new one? */
static bool may_resume(struct vu_device *vd)
{
	uint16_t busy_q = 0;
	if (vd->resume_pending || rings_drained(vd, &busy_q))
		return true;
	log_error("%s: the back-end went away with requests pending on queue %u: they cannot be "
		  "resumed safely, the device needs a reset",
		  vd->label, busy_q);
	vd->down_since_ms = -1;
	virtio_dev_fail(&vd->dev, "vhost-user back-end gone with requests pending");
	return false;
}

/* One reconnect attempt, called with the device lock held: the hand-over is planned under it,
 * and the lock is let go while a new connection runs the handshake and the hand-over (a back-end
 * may take the whole timeout for it: a vCPU touching the device does not wait for that, and the
 * kicks wait anyway, this being their I/O thread). Back under the lock, the connection becomes
 * the device's only if the driver did nothing to the device meanwhile (generation); else it is
 * dropped and the next attempt plans again. True when the back-end is back. */
static bool reconnect(struct vu_device *vd)
{
	struct virtio_dev *dev = &vd->dev;
	struct vu_frontend fe;
	struct vu_plan p;
	vu_frontend_init(&fe);
	uint64_t gen = vd->generation, want = wanted_features(vd);
	int err = plan(vd, true, &p, &fe);
	pthread_mutex_unlock(&dev->lock);
	vu_conn_set_budget(&fe.conn, vd->timeout_ms); /* the whole attempt, as a hand-over */
	if (!err)
		err = connect_checked(vd, &fe, want);
	if (!err)
		err = send_plan(&fe, &p);
	vu_conn_set_budget(&fe.conn, 0);
	pthread_mutex_lock(&dev->lock);
	if (!err && (gen != vd->generation || !virtio_dev_running(dev))) {
		snprintf(fe.error, sizeof(fe.error), "the driver changed the device meanwhile");
		err = -EAGAIN;
	}
	if (err) {
		memcpy(vd->fe.error, fe.error, sizeof(fe.error));
		vu_frontend_close(&fe);
		return false;
	}
	vu_frontend_close(&vd->fe);
	vd->fe = fe;
	plan_done(vd, &p);
	return true;
}

/* Once a second: a running device whose back-end hung up tries to reconnect to the socket and
 * resume its rings where the used rings are (the guest sees a pause); after VU_DEVICE_GRACE_S
 * without a back-end it fails (DEVICE_NEEDS_RESET; the driver's next DRIVER_OK connects
 * afresh). Each attempt gets the device's timeout, without the device lock (reconnect()). */
static void health_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	struct vu_device *vd = vu_device_of(dev);
	uint64_t n;
	(void)revents;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (!virtio_dev_running(dev) || (vd->down_since_ms < 0 && vu_frontend_alive(&vd->fe)))
		return;
	if (vd->down_since_ms < 0) {
		log_warn("%s: vhost-user back-end %s closed the connection; waiting %d s for it on "
			 "the same socket",
			 vd->label, vd->socket, VU_DEVICE_GRACE_S);
		vd->down_since_ms = (int64_t)mono_ms();
	} else if ((int64_t)mono_ms() - vd->last_try_ms < VU_DEVICE_HEALTH_PERIOD_S * 1000 / 2) {
		/* the timer expired during the last attempt: a period's pause before the next */
		return;
	}
	vu_frontend_close(&vd->fe);
	if (!may_resume(vd))
		return;
	bool back = reconnect(vd);
	vd->last_try_ms = (int64_t)mono_ms();
	if (!virtio_dev_running(dev)) /* reset meanwhile: the driver's DRIVER_OK connects */
		return;
	int64_t down_ms = vd->last_try_ms - vd->down_since_ms;
	if (back) {
		log_info("%s: back-end reconnected after %lld ms, queues resumed", vd->label,
			 (long long)down_ms);
		vd->down_since_ms = -1;
		nudge_rings(vd);
		return;
	}
	if (down_ms < (int64_t)VU_DEVICE_GRACE_S * 1000)
		return;
	log_error("%s: no vhost-user back-end on %s for %lld s: %s", vd->label, vd->socket,
		  (long long)(down_ms / 1000), vd->fe.error);
	vd->down_since_ms = -1;
	vu_frontend_close(&vd->fe);
	virtio_dev_fail(dev, "vhost-user back-end gone");
}

void vu_device_destroy(struct virtio_dev *dev)
{
	struct vu_device *vd = vu_device_of(dev);
	if (vd->dev.initialized)
		log_info("%s: %llu calls of the back-end relayed by the VMM", vd->label,
			 (unsigned long long)atomic_load(&vd->relayed));
	vu_frontend_close(&vd->fe);
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++) {
		if (vd->call_fd[q] >= 0)
			close(vd->call_fd[q]);
		vd->call_fd[q] = -1;
	}
	if (vd->timer_fd >= 0)
		close(vd->timer_fd);
	vd->timer_fd = -1;
	/* the struct itself is freed with the device (it starts with it) */
}

void vu_device_free(struct vu_device *vd)
{
	vu_device_destroy(&vd->dev);
	free(vd);
}

const struct virtio_dev_ops vu_device_ops = {
    .activate = vu_device_activate,
    .queue_notify = vu_device_queue_notify,
    .reset = vu_device_reset,
    .destroy = vu_device_destroy,
    .irqfd_changed = vu_device_irqfd_changed,
    .counters = vu_device_counters,
    /* no .save: the queues' state lives in the back-end (snapshots refuse the device) */
};

int vu_device_attach(struct virtio_dev *dev)
{
	struct vu_device *vd = vu_device_of(dev);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		int err = virtio_dev_add_fd(dev, vd->call_fd[q], EPOLLIN, call_ready);
		if (err)
			return err;
	}
	vd->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vd->timer_fd < 0)
		return -errno;
	struct itimerspec its = {.it_interval = {VU_DEVICE_HEALTH_PERIOD_S, 0},
				 .it_value = {VU_DEVICE_HEALTH_PERIOD_S, 0}};
	if (timerfd_settime(vd->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return virtio_dev_add_fd(dev, vd->timer_fd, EPOLLIN, health_ready);
}
