/* Guest RAM filled by a page-fault handler process: Firecracker's `Uffd` memory backend
 * (PUT /snapshot/load, mem_backend {"backend_type": "Uffd", "backend_path": SOCKET}).
 *
 * The protocol, as Firecracker documents it (docs/snapshotting/
 * handling-page-faults-on-snapshot-resume.md): the VMM maps guest RAM anonymous, registers it
 * with a userfaultfd in missing-page mode (with remove events, for the balloon), connects to the
 * handler's Unix stream socket and sends, in one message, the userfaultfd as SCM_RIGHTS and a
 * JSON array describing each RAM region:
 *   [{"base_host_virt_addr": HVA, "size": BYTES, "offset": FILE_OFFSET, "page_size": 4096,
 *     "page_size_kib": 4096}, ...]
 * (page_size_kib is Firecracker's deprecated twin of page_size, in bytes despite its name; it is
 * sent for handlers written against older releases). Nothing else is ever said on the socket.
 * The handler resolves each fault with UFFDIO_COPY from the snapshot's memory file (or
 * UFFDIO_ZEROPAGE), and treats UFFD_EVENT_REMOVE (pages the balloon gave back) as "zero from now
 * on".
 *
 * Where Firecracker waits forever for a handler that died, this VMM watches it
 * (snap_uffd_watch_run()): the exit of the process that took the connection (its pidfd; a
 * handler may close the connection and go on serving, as Firecracker allows), a byte on the
 * socket, a fault left unread too long (whoever holds the userfaultfd), or a restore that does
 * not finish in time ends the VM with a message; then every range is unregistered, so
 * any thread blocked on a page wakes (it reads zeros: the VM is ending) and the VMM exits instead
 * of hanging. */
#ifndef VMM_SNAPSHOT_SNAP_UFFD_H
#define VMM_SNAPSHOT_SNAP_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define SNAP_UFFD_PAGE 4096u

/* How long the hand-off may wait for room in the socket, in ms. */
#define SNAP_UFFD_SEND_MS 5000
/* Defaults of struct snap_uffd_watch: a fault no one reads for this long means the handler is
 * not serving; a restore must be done in this time; after the VM stops, waiters are released
 * after this grace. */
#define SNAP_UFFD_STALL_MS   10000
#define SNAP_UFFD_RESTORE_MS 30000
#define SNAP_UFFD_GRACE_MS   2000
/* How often a wait looks at u->ending(). */
#define SNAP_UFFD_TICK_MS 100

struct snap_uffd {
	int uffd;    /* the VMM's own reference (-1: none) */
	int sock;    /* the connection to the handler (-1: none) */
	int peer_fd; /* pidfd of the process that accepted it (-1: none, e.g. Linux < 5.3) */
	int peer_pid;
	int nregions;
	struct {
		uint64_t host, size;
	} regions[GUEST_MEM_MAX_REGIONS];
	bool released;	      /* __atomic: ranges unregistered, nobody waits for the handler */
	bool failed;	      /* __atomic: the watch found the handler dead or not serving */
	char why[256];	      /* what it found (set before `failed`) */
	uint64_t deadline_ns; /* __atomic: CLOCK_MONOTONIC end of the restore, 0 = none */
	/* The VMM is ending (a stop signal): the hand-off stops waiting for the socket, and the
	 * watch fails a restore still under way at its next look (tick_ms), so a thread waiting
	 * for a page the handler never sends wakes and the VMM exits. May be NULL. */
	bool (*ending)(void);
};

/* An empty handle (no descriptors), safe to snap_uffd_close(). */
void snap_uffd_init(struct snap_uffd *u);

/* Checks `path` as a backend_path before anything is built: it must fit a sockaddr_un and name
 * a Unix socket ("no page-fault handler socket at PATH", "PATH is not a Unix socket"). Returns 0,
 * -ENAMETOOLONG, -ENOENT/-errno, -ENOTSOCK, with a message in err. */
int snap_uffd_check_path(const char *path, char *err, size_t errlen);

/* Creates the userfaultfd (the userfaultfd() call, or /dev/userfaultfd where that is refused),
 * asks for remove events, and registers every region of `mem` (all anonymous, untouched) in
 * missing-page mode. Returns 0 or -errno with a message naming what failed. */
int snap_uffd_register(struct snap_uffd *u, const struct guest_mem *mem, char *err, size_t errlen);

/* Connects to the handler at `path` and sends the userfaultfd with the mappings of `mem`
 * (bounded: SNAP_UFFD_SEND_MS, or u->ending(), looked at every SNAP_UFFD_TICK_MS); takes a pidfd of
 * the peer (SO_PEERCRED) to see it exit. Returns 0, or -errno with a message: -ENOENT (no socket),
 * -ECONNREFUSED (nobody listens), -EAGAIN (not accepting), -EPIPE (closed on us)... */
int snap_uffd_handoff(struct snap_uffd *u, const struct guest_mem *mem, const char *path, char *err,
		      size_t errlen);

/* Unregisters every range (threads waiting on a page wake and get a zero page) and reads
 * whatever events are queued (a balloon's madvise waits until its remove event is read). Safe
 * to call more than once and from any thread. */
void snap_uffd_release(struct snap_uffd *u);

/* Closes the socket and the userfaultfd (after the guest memory is unmapped). */
void snap_uffd_close(struct snap_uffd *u);

/* True, with the reason in `why`, once the watch found the handler failing. */
bool snap_uffd_failed(const struct snap_uffd *u, char *why, size_t len);

/* Sets (ms > 0) or clears (0) the time a restore has to finish. */
void snap_uffd_set_deadline(struct snap_uffd *u, unsigned ms);

/* What the watch needs. */
struct snap_uffd_watch {
	struct snap_uffd *u;
	int stop_fd;				       /* readable (an eventfd): the loop returns */
	unsigned stall_ms;			       /* SNAP_UFFD_STALL_MS */
	unsigned grace_ms;			       /* SNAP_UFFD_GRACE_MS */
	unsigned tick_ms;			       /* how often it looks: 100 */
	bool (*stopping)(void *opaque);		       /* the VM is ending (may be NULL) */
	void (*failed)(void *opaque, const char *why); /* called once, before the release */
	void *opaque;
};

/* Watches the handler until stop_fd is readable, then releases the ranges and returns: on a
 * failure it records the reason, calls w->failed and releases the ranges (a restore still under
 * way when u->ending() holds is such a failure); once w->stopping()
 * holds for grace_ms it releases them too (a stuck handler must not keep the VMM's threads from
 * being joined). Runs in its own thread, which is the one whose seccomp list has the
 * userfaultfd's ioctls once the VM runs. */
void snap_uffd_watch_run(const struct snap_uffd_watch *w);

#endif
