/* Watching a page-fault handler: is it there, does it read its faults. See snap_uffd.h. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "vmm/snapshot/snap_uffd.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The socket is readable: Firecracker's protocol has no answers, so the end of the stream
 * (the handler exited or closed it) and any byte at all are both fatal. */
static void socket_verdict(int sock, short revents, char *why, size_t len)
{
	char buf[64];
	ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0)
		snprintf(why, len,
			 "the page-fault handler sent %zd unexpected byte(s) on its socket (the "
			 "protocol has no replies)",
			 n);
	else if (n == 0 || (revents & (POLLHUP | POLLRDHUP)))
		snprintf(why, len, "the page-fault handler closed its socket (did it exit?)");
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		snprintf(why, len, "the page-fault handler's socket failed: %s", strerror(errno));
}

/* A fault nobody has read yet (the userfaultfd polls readable while one is queued). */
static bool fault_pending(int uffd)
{
	struct pollfd p = {uffd, POLLIN, 0};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void fail(const struct snap_uffd_watch *w, const char *why)
{
	struct snap_uffd *u = w->u;
	if (__atomic_load_n(&u->failed, __ATOMIC_ACQUIRE))
		return;
	snprintf(u->why, sizeof(u->why), "%s", why);
	__atomic_store_n(&u->failed, true, __ATOMIC_RELEASE);
	if (w->failed)
		w->failed(w->opaque, why);
	snap_uffd_release(u);
}

/* One look: the reason the handler is failing into why (empty: it is fine). `pending_since` is
 * when a fault was first seen queued in an unbroken run of looks (0: none). */
static void look(const struct snap_uffd_watch *w, short sock_revents, uint64_t *pending_since,
		 char *why, size_t len)
{
	struct snap_uffd *u = w->u;
	uint64_t now = now_ns();
	uint64_t deadline = __atomic_load_n(&u->deadline_ns, __ATOMIC_ACQUIRE);

	if (sock_revents)
		socket_verdict(u->sock, sock_revents, why, len);
	if (why[0])
		return;
	if (!fault_pending(u->uffd))
		*pending_since = 0;
	else if (!*pending_since)
		*pending_since = now;
	if (*pending_since && now - *pending_since >= (uint64_t)w->stall_ms * 1000000u)
		snprintf(why, len, "the page-fault handler has read no page fault for %u ms",
			 w->stall_ms);
	else if (deadline && now > deadline)
		snprintf(why, len,
			 "the snapshot was not restored in time: the page-fault handler does not "
			 "serve its pages");
}

void snap_uffd_watch_run(const struct snap_uffd_watch *w)
{
	struct snap_uffd *u = w->u;
	uint64_t pending_since = 0, stop_seen = 0;

	for (;;) {
		bool live = !__atomic_load_n(&u->released, __ATOMIC_ACQUIRE);
		struct pollfd p[2] = {{w->stop_fd, POLLIN, 0}, {u->sock, POLLIN | POLLRDHUP, 0}};
		int n = poll(p, live && u->sock >= 0 ? 2 : 1, (int)w->tick_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			break;
		if (!live)
			continue;
		char why[256] = "";
		look(w, n > 0 ? p[1].revents : 0, &pending_since, why, sizeof(why));
		if (why[0]) {
			fail(w, why);
			continue;
		}
		if (w->stopping && w->stopping(w->opaque)) {
			stop_seen = stop_seen ? stop_seen : now_ns();
			if (now_ns() - stop_seen >= (uint64_t)w->grace_ms * 1000000u)
				snap_uffd_release(u);
		}
	}
}
