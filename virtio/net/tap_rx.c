/* Batched tap receive through io_uring (see tap_rx.h). */
#ifdef HAVE_LIBURING
#include "virtio/net/tap_rx.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"

#define SLOT_STRIDE (((NET_RX_SLOT_LEN) + 4095u) & ~4095u) /* page-aligned slots */
#define SLOTS_LEN   ((size_t)NET_RX_BATCH_MAX * SLOT_STRIDE)

struct tap_rx {
	struct io_uring ring;
	int fd;
	uint8_t *slots;	 /* NET_RX_BATCH_MAX slots of SLOT_STRIDE bytes */
	bool registered; /* the slots are the ring's buffer 0 */
	bool plain;	 /* the kernel refused RWF_NOWAIT on the tap: read() from now on */
	char ifname[32]; /* for the fallback's message */
};

/* tap_rx_test.h: when nonzero, every ring read answers -test_nowait_err without reading. */
static int test_nowait_err;

void tap_rx_test_fail_nowait(int err)
{
	test_nowait_err = err;
}

static uint8_t *slot(const struct tap_rx *rx, unsigned i)
{
	return rx->slots + (size_t)i * SLOT_STRIDE;
}

/* The slots become the ring's buffer 0 when the kernel lets us pin them. The file is not
 * registered: a ring's registered file is let go only when the kernel gets round to tearing the
 * ring down, after the process has gone, and until then the tap refuses the next VMM with EBUSY
 * (registering it saved nothing measurable). */
static void rx_register(struct tap_rx *rx, const char *ifname)
{
	struct iovec iov = {rx->slots, SLOTS_LEN};
	int r = io_uring_register_buffers(&rx->ring, &iov, 1);

	rx->registered = r == 0;
	if (r < 0)
		log_debug("virtio-net: tap %s: receive buffers not registered (%s): reads copy "
			  "through user pages",
			  ifname, strerror(-r));
}

int tap_rx_init(struct tap_rx **out, int fd, const char *ifname)
{
	struct tap_rx *rx = calloc(1, sizeof(*rx));
	int r;

	if (!rx)
		return -ENOMEM;
	rx->slots =
	    mmap(NULL, SLOTS_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rx->slots == MAP_FAILED) {
		free(rx);
		return -ENOMEM;
	}
	rx->fd = fd;
	snprintf(rx->ifname, sizeof(rx->ifname), "%s", ifname ? ifname : "?");
	r = io_uring_queue_init(NET_RX_BATCH_MAX, &rx->ring, 0);
	if (r < 0) {
		log_debug("virtio-net: tap %s: no io_uring (%s): one read() per frame", ifname,
			  strerror(-r));
		munmap(rx->slots, SLOTS_LEN);
		free(rx);
		return r;
	}
	rx_register(rx, ifname);
	*out = rx;
	return 0;
}

/* Queues n non-blocking reads, slot i for the i-th frame; RWF_NOWAIT makes an empty tap answer
 * -EAGAIN at once instead of leaving the read waiting in the ring. */
static void rx_prep(struct tap_rx *rx, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&rx->ring); /* n <= ring size */

		if (test_nowait_err)
			io_uring_prep_nop(sqe); /* answered in rx_reap, the tap left unread */
		else if (rx->registered)
			io_uring_prep_read_fixed(sqe, rx->fd, slot(rx, i), NET_RX_SLOT_LEN, 0, 0);
		else
			io_uring_prep_read(sqe, rx->fd, slot(rx, i), NET_RX_SLOT_LEN, 0);
		sqe->rw_flags = RWF_NOWAIT;
		sqe->user_data = i;
	}
}

/* Collects the n answers by slot: a frame's length or -errno. */
static void rx_reap(struct tap_rx *rx, int *res, unsigned n)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&rx->ring, head, cqe)
	{
		if (cqe->user_data < n)
			res[cqe->user_data] = test_nowait_err ? -test_nowait_err : cqe->res;
		seen++;
	}
	io_uring_cq_advance(&rx->ring, seen);
}

/* The fallback: plain read()s of the non-blocking tap (tap.c sets O_NONBLOCK) into the same
 * slots, up to n frames or until the tap is empty; like tap_rx_batch(), 0 when none waits. */
static int rx_read_plain(struct tap_rx *rx, struct net_rx_frame *out, unsigned n)
{
	unsigned got = 0;

	while (got < n) {
		ssize_t r;

		do
			r = read(rx->fd, slot(rx, got), NET_RX_SLOT_LEN);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			if (got || errno == EAGAIN || errno == EWOULDBLOCK)
				break; /* empty; a lasting error comes back on the next call */
			return -errno;
		}
		out[got] = (struct net_rx_frame){slot(rx, got), r};
		got++;
	}
	return (int)got;
}

/* Linux 6.1 answers a RWF_NOWAIT io_uring read of a tap with -EOPNOTSUPP (seen under
 * tools/kvm-in-qemu; 6.12 and later: -EAGAIN when empty); a kernel that does not know the flag
 * says -EINVAL. Such a read consumed nothing, so switching to read() for good loses no frame. */
static bool rx_nowait_refused(struct tap_rx *rx, int err)
{
	if (err != -EOPNOTSUPP && err != -EINVAL)
		return false;
	rx->plain = true;
	log_info(
	    "virtio-net: tap %s: the kernel refuses non-blocking io_uring reads of a tap (%s): "
	    "one read() per frame from now on",
	    rx->ifname, strerror(-err));
	return true;
}

int tap_rx_batch(struct tap_rx *rx, struct net_rx_frame *out, unsigned n)
{
	int res[NET_RX_BATCH_MAX], r, err = 0;
	unsigned got = 0;

	if (n == 0 || n > NET_RX_BATCH_MAX)
		return -EINVAL;
	if (rx->plain)
		return rx_read_plain(rx, out, n);
	rx_prep(rx, n);
	do
		r = io_uring_submit_and_wait(&rx->ring, n);
	while (r == -EINTR);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		res[i] = -EAGAIN;
	rx_reap(rx, res, n);
	/* Reads run in slot order, so the frames are in the tap's order; a frame may follow an
	 * empty read (it came in between). A failure counts when the batch brought no frame (a
	 * lasting one comes back on the next call). */
	for (unsigned i = 0; i < n; i++) {
		if (res[i] >= 0)
			out[got++] = (struct net_rx_frame){slot(rx, i), res[i]};
		else if (res[i] != -EAGAIN && res[i] != -EINTR && !err)
			err = res[i];
	}
	if (got)
		return (int)got; /* a refusal, if any, switches on the next call */
	if (err && rx_nowait_refused(rx, err))
		return rx_read_plain(rx, out, n);
	return err;
}

void tap_rx_destroy(struct tap_rx *rx)
{
	if (!rx)
		return;
	io_uring_queue_exit(&rx->ring);
	munmap(rx->slots, SLOTS_LEN);
	free(rx);
}
#endif
