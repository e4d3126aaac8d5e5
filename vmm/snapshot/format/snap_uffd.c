/* Registering guest RAM with a userfaultfd and handing it to a page-fault handler. See
 * snap_uffd.h. */
#include "vmm/snapshot/format/snap_uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "vmm/snapshot/format/snap_err.h"

void snap_uffd_init(struct snap_uffd *u)
{
	memset(u, 0, sizeof(*u));
	u->uffd = u->sock = u->peer_fd = -1;
}

int snap_uffd_check_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return snap_err(err, errlen, -ENAMETOOLONG,
				"mem_backend: backend_path must name a Unix socket in at most %zu "
				"bytes",
				sizeof(sa.sun_path) - 1);
	if (stat(path, &st))
		return snap_err(err, errlen, -errno,
				"mem_backend: no page-fault handler socket at %s: %s", path,
				strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return snap_err(
		    err, errlen, -ENOTSOCK,
		    "mem_backend: %s is not a Unix socket (backend_type Uffd wants the "
		    "socket a page-fault handler listens on; File wants the memory file)",
		    path);
	return 0;
}

/* The userfaultfd() call needs vm.unprivileged_userfaultfd=1 or CAP_SYS_PTRACE to see faults
 * that KVM takes in the kernel; /dev/userfaultfd (Linux 6.1) is governed by its file mode. */
static int open_uffd(char *err, size_t errlen)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	int first = errno;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		int e = errno;
		close(dev);
		if (fd >= 0)
			return fd;
		errno = e;
	}
	return snap_err(err, errlen, -first,
			"userfaultfd: %s, and /dev/userfaultfd: %s (allow one: "
			"sysctl vm.unprivileged_userfaultfd=1, or read-write access to "
			"/dev/userfaultfd)",
			strerror(first), strerror(errno));
}

int snap_uffd_register(struct snap_uffd *u, const struct guest_mem *mem, char *err, size_t errlen)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE};
	int fd = open_uffd(err, errlen);

	if (fd < 0)
		return fd;
	u->uffd = fd;
	if (ioctl(fd, UFFDIO_API, &api))
		return snap_err(err, errlen, -errno,
				"userfaultfd: UFFDIO_API with remove events: %s", strerror(errno));
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct uffdio_register reg = {
		    .range = {(uint64_t)(uintptr_t)r->host, r->size},
		    .mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		if (ioctl(fd, UFFDIO_REGISTER, &reg))
			return snap_err(
			    err, errlen, -errno,
			    "userfaultfd: cannot register RAM region %d (%llu bytes): %s", i,
			    (unsigned long long)r->size, strerror(errno));
		u->regions[i].host = (uint64_t)(uintptr_t)r->host;
		u->regions[i].size = r->size;
		u->nregions = i + 1;
	}
	return 0;
}

int snap_uffd_mappings(const struct guest_mem *mem, char *buf, size_t len)
{
	size_t n = 0;
	uint64_t offset = 0;

	for (int i = 0; i <= mem->nregions; i++) {
		int w;
		if (i == mem->nregions) {
			w = snprintf(buf + n, len - n, "]");
		} else {
			const struct guest_region *r = &mem->regions[i];
			w = snprintf(
			    buf + n, len - n,
			    "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
			    "\"page_size\":%u,\"page_size_kib\":%u}",
			    i ? "," : "[", (unsigned long long)(uintptr_t)r->host,
			    (unsigned long long)r->size, (unsigned long long)offset, SNAP_UFFD_PAGE,
			    SNAP_UFFD_PAGE);
			offset += r->size;
		}
		if (w < 0 || (size_t)w >= len - n)
			return -ENOSPC;
		n += (size_t)w;
	}
	return (int)n;
}

static int connect_handler(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r = snap_uffd_check_path(path, err, errlen);
	if (r)
		return r;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return snap_err(err, errlen, -errno, "mem_backend: socket: %s", strerror(errno));
	/* A Unix connect never waits: it succeeds, is refused, or finds the backlog full. */
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return s;
	int e = errno;
	close(s);
	if (e == ECONNREFUSED)
		return snap_err(err, errlen, -e,
				"mem_backend: the page-fault handler at %s refused the connection "
				"(nothing listens there)",
				path);
	if (e == EAGAIN)
		return snap_err(err, errlen, -e,
				"mem_backend: the page-fault handler at %s accepts no connection "
				"(its backlog is full)",
				path);
	return snap_err(err, errlen, -e, "mem_backend: cannot connect to %s: %s", path,
			strerror(e));
}

/* Waits (at most `ms`) until `fd` can take more bytes; -EINTR as soon as u->ending(). */
static int wait_writable(const struct snap_uffd *u, int fd, int ms)
{
	struct pollfd p = {fd, POLLOUT, 0};
	int n = 0;
	for (int left = ms; left > 0 && n == 0; left -= SNAP_UFFD_TICK_MS) {
		if (u->ending && u->ending())
			return -EINTR;
		n = poll(&p, 1, left < SNAP_UFFD_TICK_MS ? left : SNAP_UFFD_TICK_MS);
		if (n < 0 && errno == EINTR)
			n = 0;
	}
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return (p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLOUT) ? -EPIPE : 0;
}

/* One message: the body, with the userfaultfd on its first byte. */
static int send_body(const struct snap_uffd *u, int s, const char *body, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	size_t sent = 0;

	while (sent < len) {
		struct iovec iov = {(char *)body + sent, len - sent};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		if (sent == 0) {
			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &u->uffd, sizeof(int));
		}
		ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_writable(u, s, SNAP_UFFD_SEND_MS);
			if (r)
				return r;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		sent += (size_t)n;
	}
	return 0;
}

/* The process at the other end, as a pidfd that polls readable once it has exited. Without
 * one (no SO_PEERCRED pid, no pidfd_open), the end of the connection stands for the exit. */
static void watch_peer(struct snap_uffd *u)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(u->sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid <= 0)
		return;
	u->peer_pid = cred.pid;
	u->peer_fd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
}

int snap_uffd_handoff(struct snap_uffd *u, const struct guest_mem *mem, const char *path, char *err,
		      size_t errlen)
{
	char body[GUEST_MEM_MAX_REGIONS * 160 + 8];
	int len = snap_uffd_mappings(mem, body, sizeof(body));

	if (len < 0)
		return snap_err(err, errlen, len, "mem_backend: the mappings do not fit a message");
	int s = connect_handler(path, err, errlen);
	if (s < 0)
		return s;
	int r = send_body(u, s, body, (size_t)len);
	if (r) {
		close(s);
		return snap_err(err, errlen, r,
				"mem_backend: cannot hand the guest memory to the page-fault "
				"handler at %s: %s",
				path,
				r == -ETIMEDOUT ? "it reads nothing"
				: r == -EINTR	? "the VMM is stopping on a signal"
						: strerror(-r));
	}
	u->sock = s;
	watch_peer(u);
	return 0;
}

/* Reads every queued message: a remove event is complete (its madvise returns) once read; a
 * fault read here stays blocked until the unregistration wakes it. */
static void drain(int uffd)
{
	struct uffd_msg msgs[16];
	while (read(uffd, msgs, sizeof(msgs)) > 0)
		;
}

void snap_uffd_release(struct snap_uffd *u)
{
	if (u->uffd < 0 || __atomic_exchange_n(&u->released, true, __ATOMIC_ACQ_REL))
		return;
	for (int i = 0; i < u->nregions; i++) {
		struct uffdio_range range = {u->regions[i].host, u->regions[i].size};
		/* also wakes every thread waiting in the range; EINVAL once unmapped */
		(void)ioctl(u->uffd, UFFDIO_UNREGISTER, &range);
	}
	drain(u->uffd);
}

void snap_uffd_close(struct snap_uffd *u)
{
	if (u->sock >= 0)
		close(u->sock);
	if (u->uffd >= 0)
		close(u->uffd);
	if (u->peer_fd >= 0)
		close(u->peer_fd);
	u->sock = u->uffd = u->peer_fd = -1;
}

bool snap_uffd_failed(const struct snap_uffd *u, char *why, size_t len)
{
	if (!__atomic_load_n(&u->failed, __ATOMIC_ACQUIRE))
		return false;
	if (why && len)
		snprintf(why, len, "%s", u->why);
	return true;
}

void snap_uffd_set_deadline(struct snap_uffd *u, unsigned ms)
{
	uint64_t now = mono_ns();
	__atomic_store_n(&u->deadline_ns, ms ? now + (uint64_t)ms * 1000000u : 0, __ATOMIC_RELEASE);
}
