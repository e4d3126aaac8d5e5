/* Watching a page-fault handler: is it there, does it read its faults. See snap_uffd.h. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/log.h"
#include "vmm/snapshot/format/snap_uffd.h"

/* What the loop knows between looks. */
struct watch_state {
	bool sock_open;		/* the handler has not closed its end yet */
	uint64_t pending_since; /* a fault queued in an unbroken run of looks since (0: none) */
	uint64_t stop_seen;	/* when the VM was first seen stopping (0: not yet) */
};

/* The socket is readable. Firecracker's protocol has no answers: any byte is fatal. The end
 * of the stream is fatal only when the peer's exit cannot be watched: a handler may close the
 * connection once it has the userfaultfd and go on serving (Firecracker never looks). */
static void socket_verdict(const struct snap_uffd *u, struct watch_state *st, short revents,
			   char *why, size_t len)
{
	char buf[64];
	ssize_t n = recv(u->sock, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0) {
		snprintf(why, len,
			 "the page-fault handler sent %zd unexpected byte(s) on its socket (the "
			 "protocol has no replies)",
			 n);
	} else if (n == 0 || (revents & (POLLHUP | POLLRDHUP | POLLERR))) {
		st->sock_open = false;
		if (u->peer_fd < 0)
			snprintf(why, len,
				 "the page-fault handler closed its socket (did it exit?)");
		else
			log_info("snapshot memory: the page-fault handler (pid %d) closed its "
				 "connection; its process and its faults are still watched",
				 u->peer_pid);
	}
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

/* The time rules: a fault unread for stall_ms, a restore past its deadline. */
static void timing_verdict(const struct snap_uffd_watch *w, struct watch_state *st, char *why,
			   size_t len)
{
	uint64_t now = mono_ns();
	uint64_t deadline = __atomic_load_n(&w->u->deadline_ns, __ATOMIC_ACQUIRE);

	if (!fault_pending(w->u->uffd))
		st->pending_since = 0;
	else if (!st->pending_since)
		st->pending_since = now;
	if (st->pending_since && now - st->pending_since >= (uint64_t)w->stall_ms * 1000000u)
		snprintf(why, len, "the page-fault handler has read no page fault for %u ms",
			 w->stall_ms);
	else if (deadline && now > deadline)
		snprintf(why, len,
			 "the snapshot was not restored in time: the page-fault handler does not "
			 "serve its pages");
}

/* One look after a poll: the reason the handler is failing into why (empty: it is fine). */
static void look(const struct snap_uffd_watch *w, struct watch_state *st, const struct pollfd *p,
		 int np, char *why, size_t len)
{
	const struct snap_uffd *u = w->u;
	/* a stop signal during a restore: nothing may wait for pages that will never come */
	if (u->ending && __atomic_load_n(&u->deadline_ns, __ATOMIC_ACQUIRE) && u->ending()) {
		snprintf(why, len, "the VMM is stopping on a signal during the restore");
		return;
	}
	for (int i = 1; i < np && !why[0]; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == u->peer_fd)
			snprintf(why, len, "the page-fault handler (pid %d) exited", u->peer_pid);
		else
			socket_verdict(u, st, p[i].revents, why, len);
	}
	if (!why[0])
		timing_verdict(w, st, why, len);
}

/* Releases the memory once the VM has been stopping for grace_ms. */
static void after_stop(const struct snap_uffd_watch *w, struct watch_state *st)
{
	if (!w->stopping || !w->stopping(w->opaque))
		return;
	st->stop_seen = st->stop_seen ? st->stop_seen : mono_ns();
	if (mono_ns() - st->stop_seen >= (uint64_t)w->grace_ms * 1000000u)
		snap_uffd_release(w->u);
}

void snap_uffd_watch_run(const struct snap_uffd_watch *w)
{
	struct snap_uffd *u = w->u;
	struct watch_state st = {.sock_open = u->sock >= 0};

	for (;;) {
		bool live = !__atomic_load_n(&u->released, __ATOMIC_ACQUIRE);
		struct pollfd p[3] = {{w->stop_fd, POLLIN, 0}};
		int np = 1;
		if (live && st.sock_open)
			p[np++] = (struct pollfd){u->sock, POLLIN | POLLRDHUP, 0};
		if (live && u->peer_fd >= 0)
			p[np++] = (struct pollfd){u->peer_fd, POLLIN, 0};
		if (poll(p, (nfds_t)np, (int)w->tick_ms) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			snap_uffd_release(u); /* here: the thread that ends it may not unregister */
			break;
		}
		if (!live)
			continue;
		char why[256] = "";
		look(w, &st, p, np, why, sizeof(why));
		if (why[0])
			fail(w, why);
		else
			after_stop(w, &st);
	}
}
