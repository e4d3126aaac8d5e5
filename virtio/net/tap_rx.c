/* Batched tap receive through io_uring (see tap_rx.h). */
#ifdef HAVE_LIBURING
#include "virtio/net/tap_rx.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/base/log.h"

#define SLOT_STRIDE (((NET_RX_SLOT_LEN) + 4095u) & ~4095u) /* page-aligned slots */
#define SLOTS_LEN   ((size_t)NET_RX_BATCH_MAX * SLOT_STRIDE)

struct tap_rx {
	struct io_uring ring;
	int fd;
	uint8_t *slots;	 /* NET_RX_BATCH_MAX slots of SLOT_STRIDE bytes */
	bool registered; /* the slots are the ring's buffer 0 */
};

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

		if (rx->registered)
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
			res[cqe->user_data] = cqe->res;
		seen++;
	}
	io_uring_cq_advance(&rx->ring, seen);
}

int tap_rx_batch(struct tap_rx *rx, struct net_rx_frame *out, unsigned n)
{
	int res[NET_RX_BATCH_MAX], r, err = 0;
	unsigned got = 0;

	if (n == 0 || n > NET_RX_BATCH_MAX)
		return -EINVAL;
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
	return got ? (int)got : err;
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
