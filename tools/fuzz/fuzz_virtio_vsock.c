/* libFuzzer target: virtio-vsock (virtio/vsock) behind virtio-mmio, guest CID 3, with real Unix
 * sockets in a private directory as the host side: the guest's REQUESTs to ports 1 and 2 reach
 * host listeners (port 3 has none: refused), and the input drives the host too: connect to PATH
 * with a CONNECT line (good or bad) or without one (a flood past the handshake limit), accept the
 * device's connections, write bytes into them, drain them, half-close or close them; then the
 * device serves its sockets as its I/O thread would. Besides the raw chains of the shared harness,
 * the guest sends structured packets aimed at the connections that exist: ports of its own
 * REQUESTs and of the host's CONNECT lines (the device numbers host-initiated connections from
 * 0x40000000), every op, credit fields, payloads carried by input bytes or large ones from RAM
 * repeated past the host socket's buffer and past our credit, and gives rx and event buffers. A
 * handshake timeout of 0 makes the deadline timer fire; the socket-path checks and the create
 * failures run on paths of every kind. Checks the device's own bounds: never more connections
 * than VIRTIO_VSOCK_MAX_CONNS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/vsock/vsock.h"
#include "virtio/vsock/vsock_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NHOST	   40	       /* past VIRTIO_VSOCK_MAX_HANDSHAKES */
#define HOST_PORT0 0x40000000u /* the device's first local port for host connections */

static char dir[64];
static int listeners[2] = {-1, -1};
static int host[NHOST];
static uint32_t
    cports[4]; /* the ports of the last CONNECT lines: guest ports of host connections */
static unsigned ncports;
static uint32_t host_sent; /* bytes the host wrote: a guess at the guest's fwd_cnt */

static void path_of(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s/v.sock%s", dir, suffix);
}

static void cleanup(void)
{
	char p[128];
	const char *names[] = {"", "_1", "_2", "_file", "_stale"};
	for (int i = 0; i < 5; i++) {
		path_of(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Once per process: the directory and the host's listeners on PATH_1 and PATH_2 (removed at
 * exit). */
static void setup_once(void)
{
	if (dir[0])
		return;
	atexit(cleanup);
	snprintf(dir, sizeof(dir), "/tmp/fuzz-vsock-%d", (int)getpid());
	mkdir(dir, 0700);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		char suffix[8];
		snprintf(suffix, sizeof(suffix), "_%d", i + 1);
		path_of(sa.sun_path, sizeof(sa.sun_path), suffix);
		unlink(sa.sun_path);
		listeners[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (bind(listeners[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(listeners[i], 64))
			abort();
	}
}

static int vsock_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	struct virtio_vsock_opts o = {.cid = 3};

	(void)in;
	setup_once();
	for (int i = 0; i < NHOST; i++)
		host[i] = -1;
	ncports = 0;
	host_sent = 0;
	path_of(o.uds, sizeof(o.uds), "");
	if (virtio_vsock_create(out, &o))
		return -1;
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		return -1;
	}
	return 0;
}

static void vsock_destroy(struct virtio_dev *dev)
{
	virtio_dev_destroy(dev);
	free(dev);
	for (int i = 0; i < NHOST; i++) {
		if (host[i] >= 0)
			close(host[i]);
		host[i] = -1;
	}
	/* connections the device made but the host never accepted */
	for (int i = 0; i < 2; i++) {
		int fd;
		while ((fd = accept4(listeners[i], NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
	}
}

static int free_slot(void)
{
	for (int i = 0; i < NHOST; i++)
		if (host[i] < 0)
			return i;
	return -1;
}

/* The host connects to PATH and says CONNECT (or something else). */
static void host_connect(struct fz_in *in)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int slot = free_slot(), fd;
	char line[32];
	int len;

	if (slot < 0)
		return;
	path_of(sa.sun_path, sizeof(sa.sun_path), "");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return;
	}
	uint8_t kind = fz_u8(in);
	if (kind & 1) {
		uint32_t port = kind & 2 ? fz_u16(in) : 7000 + kind % 4;
		cports[ncports++ % 4] = port;
		len = snprintf(line, sizeof(line), "CONNECT %u\n", (unsigned)port);
	} else if (kind & 2) {
		len = 0; /* silent: holds a handshake slot */
	} else
		len = (int)fz_bytes(in, line, kind % sizeof(line));
	if (len > 0 && send(fd, line, (size_t)len, MSG_NOSIGNAL) < 0)
		(void)errno;
	host[slot] = fd;
}

static void host_accept(void)
{
	for (int i = 0; i < 2; i++) {
		int slot = free_slot();
		if (slot < 0)
			return;
		host[slot] = accept4(listeners[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
}

static void host_io(struct fz_in *in, uint8_t op)
{
	int fd = host[fz_u8(in) % NHOST];
	static uint8_t buf[65536];
	size_t len;

	if (fd < 0)
		return;
	if (op == 2) {
		const uint8_t *p = fz_take(in, fz_u8(in), &len);
		uint32_t repeat = fz_u8(in); /* a lot of bytes: to exhaust the guest's credit */
		for (uint32_t i = 0; i <= repeat && len; i++) {
			if (send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
			host_sent += (uint32_t)len;
		}
	} else {
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
}

/* A guest packet on the tx queue, aimed at a connection that may exist: a guest-initiated one
 * (guest ports 1000-1003 to host ports 1-3) or a host-initiated one (the ports of the CONNECT
 * lines, local ports from HOST_PORT0). Mostly well-formed (5.10.6: our CIDs, STREAM); the
 * payload of an RW is input bytes, or up to a whole packet of RAM, sent up to 6 times. */
static void guest_packet(struct fz_in *in)
{
	static const uint16_t ops[] = {
	    VIRTIO_VSOCK_OP_REQUEST,
	    VIRTIO_VSOCK_OP_RESPONSE,
	    VIRTIO_VSOCK_OP_RST,
	    VIRTIO_VSOCK_OP_SHUTDOWN,
	    VIRTIO_VSOCK_OP_RW,
	    VIRTIO_VSOCK_OP_RW,
	    VIRTIO_VSOCK_OP_CREDIT_UPDATE,
	    VIRTIO_VSOCK_OP_CREDIT_REQUEST,
	};
	uint8_t pkt[sizeof(struct virtio_vsock_hdr) + 256];
	struct virtio_vsock_hdr h = {.src_cid = 3, .dst_cid = 2, .type = VIRTIO_VSOCK_TYPE_STREAM};
	uint8_t m = fz_u8(in);
	uint32_t small = 0, bulk = 0, repeat = 1;

	if (m & 1) {
		h.src_port = cports[fz_below(in, 4)];
		h.dst_port = HOST_PORT0 + fz_below(in, 8);
	} else {
		h.src_port = 1000 + fz_below(in, 4);
		h.dst_port = 1 + fz_below(in, 3);
	}
	h.op = m & 2 ? ops[fz_below(in, 8)] : VIRTIO_VSOCK_OP_RW;
	h.flags = h.op == VIRTIO_VSOCK_OP_SHUTDOWN ? 1 + fz_below(in, 3) : 0;
	h.buf_alloc = m & 4 ? VIRTIO_VSOCK_BUF_ALLOC : fz_u8(in) * 64u; /* a small credit */
	h.fwd_cnt = m & 8 ? host_sent : 0;
	if (h.op == VIRTIO_VSOCK_OP_RW) {
		if (m & 16) {
			bulk = fz_u8(in) % 4 ? VIRTIO_VSOCK_MAX_PKT : fz_u16(in);
			repeat = 1 + fz_below(in, 6);
		} else {
			small = fz_bytes(in, pkt + sizeof(h), fz_u8(in));
		}
		h.len = small + bulk;
	}
	if (m & 32) { /* something not quite right */
		switch (fz_u8(in) % 6) {
		case 0:
			h.src_cid = fz_bool(in) ? 4 : fz_u64(in);
			break;
		case 1:
			h.dst_cid = fz_bool(in) ? 3 : fz_u64(in);
			break;
		case 2:
			h.type = fz_u16(in);
			break;
		case 3:
			h.op = fz_u16(in);
			break;
		case 4: /* more than the buffers carry, or a length on a control packet */
			h.len = fz_u32(in);
			break;
		default:
			h.fwd_cnt = fz_u32(in);
			break;
		}
	}
	memcpy(pkt, &h, sizeof(h));
	while (repeat--)
		if (!fz_dev_submit(in, 1, pkt, (uint32_t)sizeof(h) + small, bulk, 0))
			break;
}

/* Buffers for the device: rx (room for a header only, a small packet, a page or more), or one
 * event buffer (sometimes too small for an event). */
static void guest_buffers(struct fz_in *in)
{
	static const uint32_t sizes[] = {sizeof(struct virtio_vsock_hdr), 64, 4096, 16384};
	uint8_t m = fz_u8(in);

	if (m % 8 == 0) {
		fz_dev_submit(in, 2, NULL, 0, 0, m & 8 ? sizeof(struct virtio_vsock_event) : 2);
		return;
	}
	for (unsigned n = 1 + m % 8; n--;) {
		uint32_t w = sizes[fz_below(in, 4)];
		if (!fz_dev_submit(in, 0, NULL, 0, 0, w))
			break;
	}
}

/* The host floods PATH with silent connections, or half-closes one, or the handshake deadline
 * becomes 0 (connections from now on expire at the timer's next run). */
static void host_misc(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t m = fz_u8(in);
	int fd;

	switch (m % 3) {
	case 0:
		for (unsigned n = 1 + fz_below(in, NHOST); n--;) {
			struct fz_in silent = fz_in_make((const uint8_t *)"\2", 1);
			host_connect(&silent);
		}
		break;
	case 1:
		fd = host[fz_below(in, NHOST)];
		if (fd >= 0)
			shutdown(fd, m & 4 ? SHUT_WR : SHUT_RD);
		break;
	default:
		pthread_mutex_lock(&dev->lock);
		virtio_vsock_set_handshake_timeout(dev, m & 4 ? 0 : VIRTIO_VSOCK_HANDSHAKE_MS);
		pthread_mutex_unlock(&dev->lock);
		break;
	}
}

/* The checks the VMM makes of a socket path before KVM, and the device's create, on paths of
 * every kind: ours (a live socket: checked only), the directory, a regular file, a missing
 * directory, the root or a relative path (checked only: a relative one would be created in the
 * fuzzer's working directory), a stale socket file (replaced), or a CID out of range. */
static void options(struct fz_in *in)
{
	struct virtio_vsock_opts o = {.cid = 3};
	struct virtio_dev *dev;
	char err[256];
	uint8_t m = fz_u8(in);
	bool create = true;

	switch (m % 7) {
	case 0:
		path_of(o.uds, sizeof(o.uds), "");
		create = false;
		break;
	case 1:
		snprintf(o.uds, sizeof(o.uds), "%s", dir);
		break;
	case 2: { /* a regular file */
		path_of(o.uds, sizeof(o.uds), "_file");
		int fd = open(o.uds, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		break;
	}
	case 3:
		path_of(o.uds, sizeof(o.uds), "_missing/x");
		break;
	case 4:
		snprintf(o.uds, sizeof(o.uds), m & 8 ? "v.sock" : "/");
		create = false;
		break;
	case 5: { /* a socket file nobody listens on any more */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		path_of(o.uds, sizeof(o.uds), "_stale");
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o.uds);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			unlink(o.uds);
			if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
				(void)errno;
			close(fd);
		}
		break;
	}
	default:
		o.cid = fz_bool(in) ? 2 : 0xffffffffull + fz_u8(in);
		path_of(o.uds, sizeof(o.uds), "_stale");
		break;
	}
	int checked = virtio_vsock_check_opts(&o, err, sizeof(err));
	FZ_ASSERT(checked <= 0 && (checked == 0 || err[0]), "check_opts %d without a message",
		  checked);
	if (create && virtio_vsock_create(&dev, &o) == 0) {
		FZ_ASSERT(checked == 0, "created on a path the checks refused (%s)", err);
		virtio_dev_destroy(dev);
		free(dev);
	}
}

static void vsock_special(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t op = fz_u8(in) % 10;

	switch (op) {
	case 0:
		host_connect(in);
		break;
	case 1:
		host_accept();
		break;
	case 2:
	case 3:
		host_io(in, op);
		break;
	case 4: {
		int i = fz_u8(in) % NHOST;
		if (host[i] >= 0)
			close(host[i]);
		host[i] = -1;
		break;
	}
	case 5: /* the ready backend fds' handlers (the inner epoll set), then every non-blocking
		 * one's, ready or not (the handshake timer's too) */
		fz_dev_run_fds(dev);
		fz_dev_wake_fds(dev);
		break;
	case 6:
		guest_packet(in);
		break;
	case 7:
		guest_buffers(in);
		break;
	case 8:
		host_misc(dev, in);
		break;
	default:
		options(in);
		break;
	}
	pthread_mutex_lock(&dev->lock);
	virtio_vsock_poll(dev);
	FZ_ASSERT(virtio_vsock_conn_count(dev) <= VIRTIO_VSOCK_MAX_CONNS, "%u connections",
		  virtio_vsock_conn_count(dev));
	pthread_mutex_unlock(&dev->lock);
}

static const struct fz_dev_hooks vsock_hooks = {
    .create = vsock_create, .destroy = vsock_destroy, .special = vsock_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &vsock_hooks);
}
