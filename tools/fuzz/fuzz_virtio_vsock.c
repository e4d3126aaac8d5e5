/* libFuzzer target: virtio-vsock (virtio/vsock) behind virtio-mmio, guest CID 3, with real Unix
 * sockets in a private directory as the host side: the guest's REQUESTs to ports 1 and 2 reach
 * host listeners (other ports are refused), and the input drives the host too: connect to PATH
 * with a CONNECT line (good or bad), accept the device's connections, write bytes into them,
 * drain them, close them; then the device serves its sockets as its I/O thread would. Checks the
 * device's own bounds: never more connections than VIRTIO_VSOCK_MAX_CONNS. */
#include <errno.h>
#include <fcntl.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NHOST 16

static char dir[64];
static int listeners[2] = {-1, -1};
static int host[NHOST];

static void path_of(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s/v.sock%s", dir, suffix);
}

static void cleanup(void)
{
	char p[128];
	const char *names[] = {"", "_1", "_2"};
	for (int i = 0; i < 3; i++) {
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
	if (kind & 1)
		len = snprintf(line, sizeof(line), "CONNECT %u\n", (unsigned)fz_u16(in));
	else
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
		for (uint32_t i = 0; i <= repeat && len; i++)
			if (send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
	} else {
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
}

static void vsock_special(struct virtio_dev *dev, struct fz_in *in)
{
	uint8_t op = fz_u8(in) % 6;

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
	default: /* every backend fd's handler, ready or not (the handshake timer's too) */
		fz_dev_wake_fds(dev);
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
