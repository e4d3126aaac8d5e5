/* virtio-fs over vhost-user (virtio/fs): options, config space, the hand-over of the rings at
 * DRIVER_OK to a fake back-end (kicks pass through untouched, the back-end's calls become
 * interrupts), the back-end dying (DEVICE_NEEDS_RESET, no hang) and a reconnect at the next
 * DRIVER_OK, private RAM refused, snapshots refused; on virtio-pci, the back-end's calls go to
 * the MSI-X vector's irqfd while it is deliverable and through the VMM's relay otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <linux/pci_regs.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "devices/pci/pci.h"
#include "devices/pci/pci_test.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/fs/fs.h"
#include "virtio/transport/virtio_mmio.h"
#include "virtio/transport/virtio_pci.h"
#include "virtio/vhost_user/vu_device.h"
#include "virtio/vhost_user/vu_msg.h"

/* ---- options ---- */

Test(virtio_fs_opts, parses_cloud_hypervisor_style)
{
	struct virtio_fs_opts o;
	char err[128];
	cr_assert_eq(virtio_fs_opts_parse("tag=myfs,socket=/tmp/fs.sock", &o, err, sizeof(err)), 0);
	cr_assert_str_eq(o.tag, "myfs");
	cr_assert_str_eq(o.socket, "/tmp/fs.sock");
	cr_assert_eq(o.num_request_queues, 1);
	cr_assert_eq(o.queue_size, VIRTIO_FS_DEFAULT_QSIZE);
	cr_assert_eq(virtio_fs_opts_parse("socket=/s,tag=t,num-queues=4,queue-size=256", &o, err,
					  sizeof(err)),
		     0);
	cr_assert_eq(o.num_request_queues, 4);
	cr_assert_eq(o.queue_size, 256);
}

Test(virtio_fs_opts, a_doubled_comma_is_a_comma_in_the_socket)
{
	struct virtio_fs_opts o;
	char err[128] = "";
	cr_assert_eq(virtio_fs_opts_parse("tag=a,socket=/s,,t", &o, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(o.socket, "/s,t");
}

Test(virtio_fs_opts, refuses_bad_input)
{
	struct virtio_fs_opts o;
	char err[128];
	const char *bad[] = {
	    "",
	    "tag=a",
	    "socket=/s",
	    "tag=a,,socket=/s", /* the tag "a,socket=/s", no socket */
	    "tag=a,socket=/s,,,",
	    "tag=a,socket=/s,num-queues=0",
	    "tag=a,socket=/s,num-queues=17",
	    "tag=a,socket=/s,queue-size=100",
	    "tag=a,socket=/s,queue-size=2048",
	    "tag=a,socket=/s,cache=always",
	    "tag=,socket=/s",
	    "tag=0123456789012345678901234567890123456,socket=/s",
	    "tag",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(virtio_fs_opts_parse(bad[i], &o, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_assert_neq(err[0], '\0', "a message for %s", bad[i]);
	}
}

/* ---- a fake back-end on a listening socket ---- */

#define F_PROTO (1ull << 30)
#define OFFERED                                                                                    \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX |                            \
	 1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_F_RING_PACKED | F_PROTO)

struct fake {
	char path[108];
	int lfd, fd;
	pthread_t thread;
	pthread_mutex_t lock;
	int nreq;
	uint32_t req[256];
	int kick[4], call[4]; /* the fds received, kept */
	uint32_t base[4];     /* SET_VRING_BASE */
	int mem_fds;
	bool mute_mem; /* no reply to SET_MEM_TABLE: a back-end that stalls the hand-over */
};

static void reply(int fd, uint32_t request, const void *p, uint32_t size)
{
	uint8_t buf[VU_MAX_MSG];
	struct vu_hdr h = {request, VU_FLAG_VERSION | VU_FLAG_REPLY, size};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + VU_HDR_SIZE, p, size);
	(void)!write(fd, buf, VU_HDR_SIZE + size);
}

static int recv_one(struct fake *f, uint8_t *buf, int *fds, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = {.iov_base = buf, .iov_len = VU_HDR_SIZE};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	if (recvmsg(f->fd, &mh, MSG_WAITALL) != VU_HDR_SIZE)
		return -1;
	*nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds + *nfds, CMSG_DATA(cm), sizeof(int) * (size_t)k);
		*nfds += k;
	}
	struct vu_hdr h;
	vu_msg_read_hdr(buf, &h);
	if (h.size && recv(f->fd, buf + VU_HDR_SIZE, h.size, MSG_WAITALL) != (ssize_t)h.size)
		return -1;
	return 0;
}

static void keep_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[VU_MAX_MSG];
	int fds[8], nfds;
	f->fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	while (f->fd >= 0 && recv_one(f, buf, fds, &nfds) == 0) {
		struct vu_hdr h;
		uint64_t v = 0, zero = 0;
		uint32_t st[2];
		vu_msg_read_hdr(buf, &h);
		memcpy(&v, buf + VU_HDR_SIZE, h.size >= 8 ? 8 : 0);
		memcpy(st, &v, 8);
		pthread_mutex_lock(&f->lock);
		f->req[f->nreq++ % 256] = h.request;
		unsigned q = (unsigned)(v & 0xff) % 4;
		if (h.request == VU_SET_VRING_KICK && nfds)
			keep_fd(&f->kick[q], fds[0]);
		else if (h.request == VU_SET_VRING_CALL && nfds)
			keep_fd(&f->call[q], fds[0]);
		else
			for (int i = 0; i < nfds; i++)
				close(fds[i]);
		if (h.request == VU_SET_MEM_TABLE)
			f->mem_fds = nfds;
		bool mute = h.request == VU_SET_MEM_TABLE && f->mute_mem;
		if (h.request == VU_SET_VRING_BASE)
			f->base[st[0] % 4] = st[1];
		pthread_mutex_unlock(&f->lock);
		uint64_t ans = h.request == VU_GET_FEATURES	       ? OFFERED
			       : h.request == VU_GET_PROTOCOL_FEATURES ? (1u << 3) | 1u
								       : 2;
		if (h.request == VU_GET_FEATURES || h.request == VU_GET_PROTOCOL_FEATURES ||
		    h.request == VU_GET_QUEUE_NUM)
			reply(f->fd, h.request, &ans, 8);
		else if (h.request == VU_GET_VRING_BASE)
			reply(f->fd, h.request, (uint32_t[]){st[0], 0}, 8);
		else if ((h.flags & VU_FLAG_NEED_REPLY) && !mute)
			reply(f->fd, h.request, &zero, 8);
	}
	return NULL;
}

static void fake_listen(struct fake *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->fd = -1;
	for (int i = 0; i < 4; i++)
		f->kick[i] = f->call[i] = -1;
	snprintf(f->path, sizeof(f->path), "%s", path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	unlink(path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 1), 0);
	pthread_create(&f->thread, NULL, fake_main, f);
}

/* The fake back-end listening on this test's socket path, written to `path`. */
static void fake_listen_here(struct fake *f, char *path, size_t len)
{
	snprintf(path, len, "/tmp/vfs-test-%d.sock", getpid());
	fake_listen(f, path);
}

/* The back-end dies: its socket closes. */
static void fake_kill(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR); /* ends an accept() still waiting: nobody connected */
	if (f->fd >= 0)
		shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	if (f->fd >= 0)
		close(f->fd);
	close(f->lfd);
	for (int i = 0; i < 4; i++) {
		if (f->kick[i] >= 0)
			close(f->kick[i]);
		if (f->call[i] >= 0)
			close(f->call[i]);
	}
}

static int count(struct fake *f, uint32_t request)
{
	int n = 0;
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->nreq && i < 256; i++)
		n += f->req[i] == request;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* ---- the device, driven as a driver would ---- */

static atomic_int irqs[VIRTIO_DEV_MAX_QUEUES];
static void raise_cb(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q < VIRTIO_DEV_MAX_QUEUES)
		atomic_fetch_add(&irqs[q], 1);
}

static struct guest_mem mem;
static char sock_path[108];
static int dev_timeout_ms = 1000; /* the device's per-message timeout */

static struct virtio_dev *make_dev(bool shared)
{
	struct virtio_fs_opts o;
	char arg[160], err[128];
	snprintf(sock_path, sizeof(sock_path), "/tmp/vfs-test-%d.sock", getpid());
	snprintf(arg, sizeof(arg), "tag=hostshare,socket=%s", sock_path);
	cr_assert_eq(virtio_fs_opts_parse(arg, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    shared ? guest_mem_alloc_shared(&mem, 16 << 20) : guest_mem_alloc(&mem, 16 << 20), 0);
	struct virtio_dev *dev = NULL;
	cr_assert_eq(virtio_fs_create(&dev, &o, dev_timeout_ms), 0);
	cr_assert_eq(virtio_dev_init(dev, &mem), 0);
	cr_assert_eq(virtio_fs_attach(dev), 0);
	dev->irq = (struct virtio_irq){raise_cb, NULL};
	return dev;
}

/* Features, two queues (hiprio, one request queue) at fixed addresses, DRIVER_OK. */
static void driver_start(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(dev, 0, (uint32_t)(1u << VIRTIO_RING_F_EVENT_IDX));
	virtio_dev_set_features(dev, 1, 1); /* VERSION_1 */
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	for (uint16_t q = 0; q < 2; q++) {
		struct virtqueue *vq = &dev->vqs[q];
		vq->num = 64;
		vq->desc_addr = 0x10000 + q * 0x10000;
		vq->driver_addr = vq->desc_addr + 0x1000;
		vq->device_addr = vq->desc_addr + 0x2000;
		virtio_dev_set_queue_ready(dev, q, true);
	}
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&dev->lock);
}

static uint8_t status_of(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	uint8_t s = dev->status;
	pthread_mutex_unlock(&dev->lock);
	return s;
}

static void free_dev(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
	guest_mem_free(&mem);
	unlink(sock_path);
}

Test(virtio_fs, config_space_and_features)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(true);
	cr_assert_eq(dev->device_id, VIRTIO_ID_FS);
	cr_assert_eq(dev->num_queues, 2);
	struct virtio_fs_config c;
	virtio_dev_config_read(dev, 0, &c, sizeof(c));
	cr_assert_eq(memcmp(c.tag, "hostshare\0", 10), 0);
	cr_assert_eq(c.num_request_queues, 1);
	cr_assert_eq(dev->host_features & ~(1ull << VIRTIO_F_VERSION_1),
		     1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_RING_F_INDIRECT_DESC,
		     "no packed ring, no vhost-user bit");
	free_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs, driver_ok_hands_the_rings_over_and_calls_become_interrupts)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(true);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(count(&f, VU_SET_MEM_TABLE), 1);
	cr_assert_eq(f.mem_fds, 1, "the memfd");
	cr_assert_eq(count(&f, VU_SET_VRING_KICK), 2);
	cr_assert_eq(count(&f, VU_SET_VRING_ENABLE), 2);

	/* a guest kick (the ioeventfd's eventfd) reaches the back-end untouched */
	uint64_t one = 1, got = 0;
	cr_assert_eq(write(dev->kick_fd[1], &one, 8), 8);
	struct pollfd p = {.fd = f.kick[1], .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 2000), 1);
	cr_assert_eq(read(f.kick[1], &got, 8), 8);
	cr_assert_eq(got, 1, "the I/O thread did not take the kick");

	/* the back-end's call: an interrupt of that queue */
	cr_assert_eq(write(f.call[1], &one, 8), 8);
	for (int i = 0; i < 200 && !atomic_load(&irqs[1]); i++)
		usleep(10000);
	cr_assert_eq(atomic_load(&irqs[1]), 1);
	cr_assert(dev->isr & 1);

	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0); /* reset: the rings are stopped */
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(count(&f, VU_GET_VRING_BASE), 2);
	free_dev(dev);
	fake_kill(&f);
}

/* A running device with its rings handed over to a fake back-end on `path`, queue 1's used and
 * avail indexes set, and that back-end killed. */
static struct virtio_dev *running_then_killed(struct fake *f, char *path, size_t len,
					      uint16_t used_idx, uint16_t avail_idx)
{
	fake_listen_here(f, path, len);
	struct virtio_dev *dev = make_dev(true);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev);
	cr_assert_eq(guest_mem_write(&mem, dev->vqs[1].device_addr + 2, &used_idx, 2), 0);
	cr_assert_eq(guest_mem_write(&mem, dev->vqs[1].driver_addr + 2, &avail_idx, 2), 0);
	fake_kill(f);
	return dev;
}

/* The back-end dies and comes back on the same socket while the guest runs: the device
 * reconnects by itself and resumes each ring at its used index (no reset, no NEEDS_RESET). */
Test(virtio_fs, restarted_backend_is_reconnected_while_running, .timeout = 30)
{
	struct fake f;
	char path[108];
	/* the old back-end completed the 5 requests of queue 1 */
	struct virtio_dev *dev = running_then_killed(&f, path, sizeof(path), 5, 5);
	fake_listen(&f, path);
	for (int i = 0; i < 500 && count(&f, VU_SET_VRING_ENABLE) < 2; i++)
		usleep(10000);
	cr_assert_eq(count(&f, VU_SET_MEM_TABLE), 1, "set up again on the new connection");
	cr_assert_eq(count(&f, VU_SET_VRING_ENABLE), 2);
	cr_assert_eq(f.base[1], 5, "resumed at the used index");
	cr_assert_eq(f.base[0], 0);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* the resume itself interrupts each queue once (nudge_rings); a call adds one more */
	uint64_t one = 1;
	for (int i = 0; i < 200 && !atomic_load(&irqs[0]); i++)
		usleep(10000);
	int before = atomic_load(&irqs[0]);
	cr_assert_eq(write(f.call[0], &one, 8), 8, "calls of the new back-end are interrupts");
	for (int i = 0; i < 200 && atomic_load(&irqs[0]) == before; i++)
		usleep(10000);
	cr_assert_eq(atomic_load(&irqs[0]), before + 1);
	free_dev(dev);
	fake_kill(&f);
}

/* A resumed back-end that works only when kicked: the old one consumed the guest's last kick
 * (and may have written used entries without signalling), so after the resume each started
 * ring is kicked once and each queue interrupted once (spurious ones are allowed, 2.7.7). */
Test(virtio_fs, resumed_backend_is_kicked_and_the_guest_interrupted, .timeout = 30)
{
	struct fake f;
	char path[108];
	struct virtio_dev *dev = running_then_killed(&f, path, sizeof(path), 5, 5);
	for (int q = 0; q < 2; q++)
		atomic_store(&irqs[q], 0);
	fake_listen(&f, path);
	for (int i = 0; i < 500 && count(&f, VU_SET_VRING_ENABLE) < 2; i++)
		usleep(10000);
	cr_assert_eq(count(&f, VU_SET_VRING_ENABLE), 2);
	for (int q = 0; q < 2; q++) {
		uint64_t got = 0;
		pthread_mutex_lock(&f.lock);
		int kfd = f.kick[q];
		pthread_mutex_unlock(&f.lock);
		struct pollfd p = {.fd = kfd, .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 2000), 1, "queue %d kicked after the resume", q);
		cr_assert_eq(read(kfd, &got, 8), 8);
		cr_assert_geq(got, 1);
		for (int i = 0; i < 200 && !atomic_load(&irqs[q]); i++)
			usleep(10000);
		cr_assert_geq(atomic_load(&irqs[q]), 1, "queue %d interrupted after the resume", q);
	}
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	free_dev(dev);
	fake_kill(&f);
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A restarted back-end that stalls the hand-over (no reply to SET_MEM_TABLE), with the device's
 * per-message timeout at 5 s: each reconnect attempt waits up to that without the device lock (a
 * vCPU touching the device does not wait for the back-end), and the grace period is 10 s of
 * time, not 10 attempts. */
Test(virtio_fs, a_stalled_reconnect_holds_the_device_lock_briefly, .timeout = 40)
{
	struct fake f;
	char path[108];
	dev_timeout_ms = 5000;
	struct virtio_dev *dev = running_then_killed(&f, path, sizeof(path), 5, 5);
	fake_listen(&f, path);
	pthread_mutex_lock(&f.lock);
	f.mute_mem = true;
	pthread_mutex_unlock(&f.lock);
	int64_t start = ms_now(), worst = 0;
	for (;;) {
		int64_t t = ms_now();
		uint8_t s = status_of(dev); /* what a vCPU reading the status register waits */
		if (ms_now() - t > worst)
			worst = ms_now() - t;
		if ((s & VIRTIO_CONFIG_S_NEEDS_RESET) || ms_now() - start > 30000)
			break;
		usleep(20000);
	}
	int64_t failed_after = ms_now() - start;
	cr_assert_geq(count(&f, VU_SET_MEM_TABLE), 1, "the hand-over was tried");
	cr_assert_lt(worst, 1000, "the device lock was held %lld ms", (long long)worst);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_lt(failed_after, 14000, "failed after %lld ms (lock held at most %lld ms)",
		     (long long)failed_after, (long long)worst);
	free_dev(dev);
	fake_kill(&f);
}

/* The back-end dies with requests pending (avail ahead of used): which of them it took or
 * completed (out of order) is unknown, so the device fails instead of resuming at the used
 * index, which could run a completed request twice and never run an earlier one. */
Test(virtio_fs, backend_gone_with_requests_pending_needs_reset, .timeout = 30)
{
	struct fake f;
	char path[108];
	struct virtio_dev *dev = running_then_killed(&f, path, sizeof(path), 5, 7);
	fake_listen(&f, path);
	for (int i = 0; i < 500 && !(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET); i++)
		usleep(10000);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(count(&f, VU_SET_MEM_TABLE), 0, "no hand-over to the new back-end");
	free_dev(dev);
	fake_kill(&f);
}

/* No back-end comes back: after the grace period the device needs a reset (the VMM carries
 * on); the driver's reset and next DRIVER_OK connect to a new back-end. */
Test(virtio_fs, backend_gone_for_good_needs_reset_then_driver_ok_reconnects, .timeout = 40)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(true);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev);
	fake_kill(&f);
	unlink(path);
	for (int i = 0; i < 1500 && !(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET); i++)
		usleep(10000);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);

	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0); /* the driver resets: nothing to stop, no hang */
	pthread_mutex_unlock(&dev->lock);
	fake_listen(&f, path); /* a new back-end */
	driver_start(dev);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(count(&f, VU_SET_MEM_TABLE), 1, "set up again on the new connection");
	free_dev(dev);
	fake_kill(&f);
}

/* The rings belong to the back-end: the I/O thread's adaptive polling (on in the VMM) must not
 * watch them, which would write the used ring's flags or avail_event (2.7.10) over the
 * back-end's and so suppress the guest's kicks. */
Test(virtio_fs, polling_leaves_the_rings_alone)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(true);
	dev->poll_max_ns = 50 * 1000 * 1000; /* long windows: the thread polls between events */
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev);
	const uint16_t mark = 0x1234; /* what "the back-end" wrote as avail_event */
	for (uint16_t q = 0; q < 2; q++)
		cr_assert_eq(guest_mem_write(&mem, dev->vqs[q].device_addr + 4 + 8 * 64, &mark, 2),
			     0);
	uint64_t one = 1;
	for (int i = 0; i < 200; i++) { /* events close together make the thread poll */
		cr_assert_eq(write(f.call[1], &one, 8), 8);
		usleep(1000);
	}
	usleep(100000);
	for (uint16_t q = 0; q < 2; q++) {
		uint16_t flags = 0xffff, event = 0;
		cr_assert_eq(guest_mem_read(&mem, dev->vqs[q].device_addr, &flags, 2), 0);
		cr_assert_eq(guest_mem_read(&mem, dev->vqs[q].device_addr + 4 + 8 * 64, &event, 2),
			     0);
		cr_assert_eq(flags, 0, "queue %u: used->flags written by the VMM", q);
		cr_assert_eq(event, mark, "queue %u: avail_event written by the VMM", q);
	}
	free_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs, private_ram_fails_the_device_not_the_vmm)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(false);
	driver_start(dev);
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(count(&f, VU_SET_MEM_TABLE), 0);
	free_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs, snapshot_is_refused_with_a_message)
{
	struct fake f;
	char path[108], err[160] = "";
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(true);
	struct virtio_dev_state st;
	uint8_t priv[4096];
	size_t len;
	cr_assert_eq(virtio_dev_snapshot_save(dev, &st, priv, sizeof(priv), &len, err, sizeof(err)),
		     -ENOTSUP);
	cr_assert(strstr(err, "vhost-user virtio-fs cannot be snapshotted"), "%s", err);
	free_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs, no_backend_is_a_clear_error)
{
	struct virtio_fs_opts o;
	char err[128];
	cr_assert_eq(
	    virtio_fs_opts_parse("tag=x,socket=/nonexistent/fs.sock", &o, err, sizeof(err)), 0);
	struct virtio_dev *dev = NULL;
	cr_assert_eq(virtio_fs_create(&dev, &o, 200), -ENOENT);
	cr_assert_null(dev);
}

/* ---- the back-end's calls straight to the guest: virtio-pci with MSI-X ----
 *
 * The device on a virtio-pci function whose host gives one eventfd per MSI-X vector (what
 * vm_pci_irq.c gives: the vector's KVM irqfd). While a queue's vector is deliverable (MSI-X on,
 * neither the function nor the vector masked, its route programmed) the back-end's call fd for
 * that queue is that eventfd; otherwise the relay, through the transport's pending bits. */

#define PSLOT 3

struct pci_rec {
	atomic_int msis[VIRTIO_PCI_MAX_VECTORS]; /* messages sent through the transport */
	atomic_int intx_level;
	int vec_fd[VIRTIO_PCI_MAX_VECTORS]; /* "the irqfds" */
	int routes; /* routes programmed (vector_irqfd with a new message) */
	uint64_t addr[VIRTIO_PCI_MAX_VECTORS];
	uint32_t data[VIRTIO_PCI_MAX_VECTORS];
	bool no_route; /* KVM refuses routes: no irqfd */
};

static struct pci_rec rec;
static struct virtio_pci pt;
static struct io_bus pmmio;
static struct pci_bus pbus;

static void prec_msi(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	atomic_fetch_add(&rec.msis[vector], 1);
}

static void prec_intx(void *opaque, int level)
{
	(void)opaque;
	atomic_store(&rec.intx_level, level);
}

static int prec_vector_irqfd(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	(void)opaque;
	if (rec.no_route)
		return -1;
	if (rec.addr[vector] != addr || rec.data[vector] != data) {
		rec.addr[vector] = addr;
		rec.data[vector] = data;
		rec.routes++;
	}
	return rec.vec_fd[vector];
}

/* True when two fds are the same open file (the fake back-end's copy of a call fd, and ours). */
static bool same_file(int a, int b)
{
	pid_t p = getpid();
	return a >= 0 && b >= 0 && syscall(SYS_kcmp, p, p, KCMP_FILE, a, b) == 0;
}

static int backend_call_fd(struct fake *f, unsigned q)
{
	pthread_mutex_lock(&f->lock);
	int fd = f->call[q];
	pthread_mutex_unlock(&f->lock);
	return fd;
}

static void pcfg_wr(uint32_t off, uint32_t v, uint32_t len)
{
	pci_bus_config_write(&pbus, 0, PCI_DEVFN(PSLOT, 0), off, &v, len);
}

static uint64_t pbar_rd(int bar, uint64_t off, uint32_t len)
{
	uint64_t v = 0;
	cr_assert_eq(io_bus_read(&pmmio, pci_func_bar_addr(&pt.func, bar) + off, &v, len), 1);
	return v;
}

static void pbar_wr(int bar, uint64_t off, uint64_t v, uint32_t len)
{
	cr_assert_eq(io_bus_write(&pmmio, pci_func_bar_addr(&pt.func, bar) + off, &v, len), 1);
}

static void pcommon_wr(uint32_t off, uint64_t v, uint32_t len)
{
	pbar_wr(VIRTIO_PCI_BAR, VIRTIO_PCI_COMMON_OFF + off, v, len);
}

static void msix_ctrl(uint16_t bits)
{
	pcfg_wr(pt.msix.cap + PCI_MSIX_FLAGS, bits, 2);
}

static void msix_mask(uint16_t v, bool masked)
{
	pbar_wr(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_TABLE_OFF + 16u * v + 12, masked, 4);
}

static void msix_message(uint16_t v, uint64_t addr, uint32_t data)
{
	pbar_wr(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_TABLE_OFF + 16u * v, addr, 8);
	pbar_wr(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_TABLE_OFF + 16u * v + 8, data, 4);
}

/* The virtio-fs device on a virtio-pci function, its I/O thread running. */
static struct virtio_dev *make_pci_dev(void)
{
	memset(&rec, 0, sizeof(rec));
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
		rec.vec_fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct virtio_dev *dev = make_dev(true);
	struct virtio_pci_host h = {prec_msi, prec_intx, NULL, NULL};
	cr_assert_eq(virtio_pci_init(&pt, dev, &h), 0);
	virtio_pci_set_irqfds(&pt, &(struct virtio_pci_irqfds){prec_vector_irqfd, NULL});
	io_bus_init(&pmmio, "mmio");
	cr_assert_eq(pci_bus_init(&pbus, &pmmio), 0);
	cr_assert_eq(pci_bus_add(&pbus, &pt.func, PSLOT), PSLOT);
	cr_assert_eq(virtio_dev_start(dev), 0);
	return dev;
}

static void free_pci_dev(struct virtio_dev *dev)
{
	pci_bus_destroy(&pbus);
	io_bus_destroy(&pmmio);
	free_dev(dev);
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
		close(rec.vec_fd[v]);
}

/* As Linux's virtio_pci_modern: features, each queue with its own vector (queue q: q + 1, the
 * config change: 0), every vector's message programmed and unmasked, MSI-X on, DRIVER_OK. */
static void pci_driver_start(void)
{
	const uint8_t feat = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	pcommon_wr(VIRTIO_PCI_COMMON_STATUS, feat, 1);
	pcommon_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	pcommon_wr(VIRTIO_PCI_COMMON_GF, 1, 4); /* VERSION_1 */
	pcommon_wr(VIRTIO_PCI_COMMON_STATUS, feat | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	for (uint16_t v = 0; v < 3; v++) {
		msix_message(v, 0xfee00000u, 0x40u + v);
		msix_mask(v, false);
	}
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	pcommon_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	for (uint16_t q = 0; q < 2; q++) {
		uint64_t desc = 0x10000 + q * 0x10000;
		pcommon_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		pcommon_wr(VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
		pcommon_wr(VIRTIO_PCI_COMMON_Q_DESCLO, desc, 8);
		pcommon_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, desc + 0x1000, 8);
		pcommon_wr(VIRTIO_PCI_COMMON_Q_USEDLO, desc + 0x2000, 8);
		pcommon_wr(VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
		pcommon_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	}
	pcommon_wr(VIRTIO_PCI_COMMON_STATUS,
		   feat | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* The back-end signals queue q's call fd, as after using buffers. */
static void backend_calls(struct fake *f, unsigned q)
{
	uint64_t one = 1;
	cr_assert_eq(write(backend_call_fd(f, q), &one, 8), 8);
}

/* Waits up to 2 s for `*counter` to reach `want`. */
static bool reaches(atomic_int *counter, int want)
{
	for (int i = 0; i < 200 && atomic_load(counter) < want; i++)
		usleep(10000);
	return atomic_load(counter) >= want;
}

/* Reads (and clears) an eventfd without waiting: the signals it holds. */
static uint64_t drain(int fd)
{
	uint64_t n = 0;
	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

static void take_relayed_counter(void *ctx, const char *name, uint64_t value)
{
	if (!strcmp(name, "calls_relayed"))
		*(uint64_t *)ctx = value;
}

/* The device's calls_relayed counter, as the metrics document reads it. */
static uint64_t relayed_calls(struct virtio_dev *dev)
{
	uint64_t v = UINT64_MAX;
	virtio_dev_extra_counters(dev, take_relayed_counter, &v);
	cr_assert_neq(v, UINT64_MAX, "the device reports calls_relayed");
	cr_assert_eq(v, atomic_load(&vu_device_of(dev)->relayed));
	return v;
}

Test(virtio_fs_pci, unmasked_msix_vector_irqfd_is_the_call_fd, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_pci_dev();
	pci_driver_start();
	cr_assert(status_of(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), rec.vec_fd[q + 1]),
			  "queue %u's call fd is its vector's irqfd", q);
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), 2, "one per ring, at the hand-over");
	cr_assert_eq(rec.addr[2], 0xfee00000u, "the route carries the guest's message");
	cr_assert_eq(rec.data[2], 0x42);

	backend_calls(&f, 1);
	cr_assert_eq(drain(rec.vec_fd[2]), 1, "the call went to the irqfd");
	usleep(50000);
	cr_assert_eq(atomic_load(&rec.msis[2]), 0, "not through the VMM");
	cr_assert_eq(relayed_calls(dev), 0);

	/* a message rewritten while unmasked (an IRQ affinity change): same fd, new route */
	int routes = rec.routes;
	msix_message(2, 0xfee01000u, 0x52);
	cr_assert_eq(rec.addr[2], 0xfee01000u);
	cr_assert_eq(rec.data[2], 0x52);
	cr_assert_gt(rec.routes, routes);
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), 2, "the fd is the same: nothing sent");
	free_pci_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs_pci, masked_vector_relays_and_sets_the_pending_bit_unmask_delivers, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_pci_dev();
	pci_driver_start();
	struct vu_device *vd = vu_device_of(dev);

	msix_mask(2, true);
	cr_assert(same_file(backend_call_fd(&f, 1), vd->call_fd[1]), "back to the relay");
	cr_assert(same_file(backend_call_fd(&f, 0), rec.vec_fd[1]), "queue 0 keeps its irqfd");
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), 3);

	backend_calls(&f, 1);
	for (int i = 0; i < 200 && !(pbar_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 8) & 4);
	     i++)
		usleep(10000);
	cr_assert(pbar_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 8) & 4,
		  "the call made while masked is pending in the PBA");
	cr_assert_eq(atomic_load(&rec.msis[2]), 0, "nothing sent while masked");
	cr_assert_eq(drain(rec.vec_fd[2]), 0);
	cr_assert_eq(relayed_calls(dev), 1);

	msix_mask(2, false);
	cr_assert_eq(atomic_load(&rec.msis[2]), 1, "unmasking sends the pending message");
	cr_assert_eq(pbar_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 8) & 4, 0);
	cr_assert(same_file(backend_call_fd(&f, 1), rec.vec_fd[2]), "the irqfd again");
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), 4);
	backend_calls(&f, 1);
	cr_assert_eq(drain(rec.vec_fd[2]), 1);
	free_pci_dev(dev);
	fake_kill(&f);
}

/* A call that reached the relay just before the unmask, not yet read by the I/O thread (parked
 * here): the switch to the irqfd looks at the relay and raises the interrupt once, at once. */
Test(virtio_fs_pci, unmask_rechecks_the_relay, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_pci_dev();
	pci_driver_start();
	msix_mask(2, true);
	virtio_dev_pause(dev);
	backend_calls(&f, 1); /* the relay's, not read */
	msix_mask(2, false);
	cr_assert_eq(atomic_load(&rec.msis[2]), 1, "raised by the unmask");
	cr_assert_eq(relayed_calls(dev), 1);
	virtio_dev_resume(dev);
	usleep(50000);
	cr_assert_eq(atomic_load(&rec.msis[2]), 1, "once");
	free_pci_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs_pci, function_mask_and_msix_disable_switch_to_the_relay, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_pci_dev();
	pci_driver_start();
	struct vu_device *vd = vu_device_of(dev);

	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), vd->call_fd[q]));
	backend_calls(&f, 0);
	for (int i = 0; i < 200 && !(pbar_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 8) & 2);
	     i++)
		usleep(10000);
	cr_assert(pbar_rd(VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA_OFF, 8) & 2);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(atomic_load(&rec.msis[1]), 1, "sent at the function's unmask");
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), rec.vec_fd[q + 1]));

	/* MSI-X off: INTx and the ISR, through the relay */
	msix_ctrl(0);
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), vd->call_fd[q]));
	backend_calls(&f, 1);
	cr_assert(reaches(&rec.intx_level, 1), "INTx asserted");
	cr_assert_eq(pbar_rd(VIRTIO_PCI_BAR, VIRTIO_PCI_ISR_OFF, 1) & 1, 1, "ISR queue bit");
	free_pci_dev(dev);
	fake_kill(&f);
}

Test(virtio_fs_pci, vector_change_resends_and_no_vector_relays, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_pci_dev();
	pci_driver_start();
	int sent = count(&f, VU_SET_VRING_CALL);

	pcommon_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	pcommon_wr(VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	cr_assert(same_file(backend_call_fd(&f, 1), rec.vec_fd[0]), "vector 0's irqfd now");
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), sent + 1);
	pcommon_wr(VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), sent + 1, "the same vector: nothing sent");

	pcommon_wr(VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
	cr_assert(same_file(backend_call_fd(&f, 1), vu_device_of(dev)->call_fd[1]));
	cr_assert_eq(count(&f, VU_SET_VRING_CALL), sent + 2);

	/* a reset stops the rings; the next DRIVER_OK hands them over with the irqfds again */
	pcommon_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	cr_assert_eq(count(&f, VU_GET_VRING_BASE), 2);
	pci_driver_start();
	cr_assert_not(status_of(dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), rec.vec_fd[q + 1]));
	free_pci_dev(dev);
	fake_kill(&f);
}

/* KVM refuses the route (the VMM sends MSIs with KVM_SIGNAL_MSI then): the relay stays. */
Test(virtio_fs_pci, no_route_keeps_the_relay, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_pci_dev();
	rec.no_route = true;
	pci_driver_start();
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), vu_device_of(dev)->call_fd[q]));
	backend_calls(&f, 0);
	cr_assert(reaches(&rec.msis[1], 1), "the relay sends the vector's message");
	free_pci_dev(dev);
	fake_kill(&f);
}

/* virtio-mmio has no per-queue interrupt: the back-end always gets the relay. */
Test(virtio_fs_pci, mmio_keeps_the_relay, .timeout = 30)
{
	struct fake f;
	char path[108];
	fake_listen_here(&f, path, sizeof(path));
	struct virtio_dev *dev = make_dev(true);
	struct virtio_mmio m;
	virtio_mmio_init(&m, dev);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_start(dev);
	for (unsigned q = 0; q < 2; q++)
		cr_assert(same_file(backend_call_fd(&f, q), vu_device_of(dev)->call_fd[q]));
	free_dev(dev);
	fake_kill(&f);
}
