/* virtio-console, port 0 (virtio 1.2 section 5.3). See virtio/console/console.h for the flow
 * control and the threading. */
#include "virtio/console/console.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/serve.h"
#include <sys/syscall.h>

#define TX_CHUNK	4096
#define VCONSOLE_BUDGET (2 * VCONSOLE_QUEUE_SIZE) /* chains per wakeup */

struct vconsole {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct console *host;
	struct virtio_console_config config; /* little endian, as the guest reads it */
	struct vq_chain rx_chain;	     /* the receive chain being served (dev->lock) */
	/* Transmit (dev->lock): a chain the console could not take whole is held here, with the
	 * bytes read from it but not yet queued, until the console has room again. */
	struct vq_chain tx_chain;
	bool tx_held;
	uint32_t tx_left; /* bytes of tx_chain still to read (after the per-chain cap) */
	uint32_t tx_off, tx_len;
	uint8_t tx_buf[TX_CHUNK];
	uint64_t emerg_dropped; /* emerg_wr bytes the full console could not take */
	bool fds_added;		/* in_fd / winch_fd registered with the I/O thread */
	uint64_t tx_truncated;	/* transmit chains cut at VCONSOLE_TX_CHAIN_MAX */

	/* Host input not yet in a guest buffer. The input thread appends, the I/O thread takes;
	 * in_lock (taken after dev->lock, never before) guards these fields. */
	pthread_mutex_t in_lock;
	uint8_t in_buf[VCONSOLE_IN_BUF];
	size_t in_head;	 /* oldest byte */
	size_t in_count; /* bytes held */
	bool in_refused; /* receive() took fewer bytes than offered: console_input_ready() owed */

	int in_fd;    /* eventfd: input arrived (input thread -> I/O thread) */
	int winch_fd; /* eventfd: the terminal size may have changed */
};

static struct vconsole *to_vc(struct virtio_dev *dev)
{
	return dev->priv;
}

static void drain_eventfd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("virtio-console: eventfd read: %s", strerror(errno));
}

static void kick_eventfd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the reader is already woken. */
	}
}

/* ---- terminal size (5.3.4: cols, rows; valid with VIRTIO_CONSOLE_F_SIZE) ----
 * The spec's order (cols first) is kept. Linux read the two fields swapped for years and follows
 * the spec only since commit 5326ab737a47, so an older guest sees the size transposed (as with
 * every VMM that follows the spec). */

/* The console's size, asked of the host terminal (isatty, TIOCGWINSZ) on the I/O thread when
 * the driver reads the config space (sandbox.h). */
static const struct sandbox_rule vconsole_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, TCGETS),
    SB_ARG_EQ(SYS_ioctl, 1, TIOCGWINSZ),
};
static const struct sandbox_list vconsole_sandbox = SANDBOX_LIST("virtio-console", vconsole_rules);

static void host_size(const struct console *host, uint16_t *cols, uint16_t *rows)
{
	struct winsize ws;

	*cols = VCONSOLE_COLS;
	*rows = VCONSOLE_ROWS;
	if (host->out_fd < 0 || !isatty(host->out_fd))
		return;
	if (ioctl(host->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Returns true when the size changed. dev->lock held (or the device not yet visible). */
static bool update_size(struct vconsole *vc)
{
	uint16_t cols, rows;

	host_size(vc->host, &cols, &rows);
	if (le16toh(vc->config.cols) == cols && le16toh(vc->config.rows) == rows)
		return false;
	vc->config.cols = htole16(cols);
	vc->config.rows = htole16(rows);
	return true;
}

static void winch_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)revents;
	drain_eventfd(fd);
	if (update_size(to_vc(dev)))
		virtio_dev_config_changed(dev); /* 5.3.6.1: config change after a resize */
}

void virtio_console_winch(struct virtio_dev *dev)
{
	kick_eventfd(to_vc(dev)->winch_fd);
}

/* ---- transmitq: guest -> host ---- */

uint64_t virtio_console_tx_truncated(struct virtio_dev *dev)
{
	return to_vc(dev)->tx_truncated;
}

/* Moves bytes of the held transmit chain to the console until the chain is sent (true) or the
 * console's ring is full (false: the console calls space_ready() once it has room). */
static bool tx_pump(struct vconsole *vc, uint64_t *bytes)
{
	for (;;) {
		if (vc->tx_off < vc->tx_len) {
			size_t put = console_try_write(vc->host, vc->tx_buf + vc->tx_off,
						       vc->tx_len - vc->tx_off);

			vc->tx_off += (uint32_t)put;
			*bytes += put;
			if (vc->tx_off < vc->tx_len)
				return false;
		}
		if (vc->tx_left == 0)
			return true;
		uint32_t n = vc->tx_left < TX_CHUNK ? vc->tx_left : TX_CHUNK;
		if (vq_chain_read(&vc->tx_chain, vc->dev.mem, vc->tx_buf, n) < 0)
			return true; /* RAM vanished under us: nothing sensible to send */
		vc->tx_off = 0;
		vc->tx_len = n;
		vc->tx_left -= n;
	}
}

/* The chain's readable bytes go to the console, at most VCONSOLE_TX_CHAIN_MAX of them: a longer
 * chain (e.g. one descriptor table of 4 MiB buffers that all alias the same guest page) is cut
 * there, counted in tx_truncated, and used like any other. Writable buffers are ignored; the used
 * len stays 0 (the device writes nothing into a transmit buffer). A chain the console cannot
 * take now is held (never blocking under dev->lock) and finished by serve_tx() later. */
static int tx_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes)
{
	struct vconsole *vc = to_vc(dev);

	(void)opaque;
	vc->tx_left = vq_chain_readable(chain);
	if (vc->tx_left > VCONSOLE_TX_CHAIN_MAX) {
		vc->tx_left = VCONSOLE_TX_CHAIN_MAX;
		vc->tx_truncated++;
	}
	vc->tx_off = vc->tx_len = 0;
	if (tx_pump(vc, bytes))
		return VIRTIO_CHAIN_PUSH;
	vc->tx_held = true;
	return VIRTIO_CHAIN_HOLD;
}

/* Finishes the held chain if the console has room now. Returns false while it is still held. */
static bool finish_held(struct vconsole *vc)
{
	struct virtio_dev *dev = &vc->dev;
	uint64_t bytes = 0;
	int err;

	if (!tx_pump(vc, &bytes))
		return false;
	vc->tx_held = false;
	err = vq_push(&dev->vqs[VCONSOLE_TXQ], dev->mem, &vc->tx_chain);
	if (err < 0) {
		virtio_dev_fail(dev, vq_strerror(err));
	} else {
		virtio_dev_count_requests(dev, 1, bytes);
		virtio_dev_notify_used(dev, VCONSOLE_TXQ);
	}
	return err >= 0;
}

/* A guest that keeps adding buffers must not keep the device lock forever: after a budget of
 * chains or bytes, virtio_serve_queue() reschedules the queue. */
static void serve_tx(struct vconsole *vc)
{
	struct virtqueue *vq = &vc->dev.vqs[VCONSOLE_TXQ];
	const struct virtio_server s = {
	    .chain = &vc->tx_chain,
	    .max_chains = VCONSOLE_BUDGET,
	    .max_bytes = VCONSOLE_TX_WAKEUP_BYTES,
	    .handle = tx_handle,
	};

	if (!virtio_dev_running(&vc->dev) || !vq_is_active(vq))
		return;
	if (vc->tx_held && !finish_held(vc))
		return; /* the console is still full: space_ready() brings us back */
	vq_disable_notify(vq, vc->dev.mem); /* 2.7.10 */
	virtio_serve_queue(&vc->dev, VCONSOLE_TXQ, &s);
}

/* Console output thread, console lock held: the ring has room again. Only wakes the I/O thread
 * through the transmit queue's kick eventfd (base/lock_order.h: no device lock here). */
static void space_ready(void *opaque)
{
	struct vconsole *vc = opaque;

	if (vc->dev.kick_fd[VCONSOLE_TXQ] >= 0)
		kick_eventfd(vc->dev.kick_fd[VCONSOLE_TXQ]);
}

/* ---- receiveq: host -> guest ---- */

/* Input thread (struct console_input.receive): keep what fits, wake the I/O thread. */
static size_t vconsole_receive(void *opaque, const uint8_t *buf, size_t n)
{
	struct vconsole *vc = opaque;
	size_t took = 0;

	pthread_mutex_lock(&vc->in_lock);
	while (took < n && vc->in_count < VCONSOLE_IN_BUF) {
		size_t tail = (vc->in_head + vc->in_count) % VCONSOLE_IN_BUF;
		size_t room = tail >= vc->in_head ? VCONSOLE_IN_BUF - tail : vc->in_head - tail;
		size_t len = n - took < room ? n - took : room;

		memcpy(vc->in_buf + tail, buf + took, len);
		vc->in_count += len;
		took += len;
	}
	if (took < n)
		vc->in_refused = true; /* the I/O thread owes console_input_ready() */
	pthread_mutex_unlock(&vc->in_lock);
	if (took)
		kick_eventfd(vc->in_fd);
	return took;
}

/* Moves held input into the chain's writable bytes. Returns true when the input thread was
 * refused bytes and now has room again. in_lock is taken here (dev->lock held by the caller). */
static bool fill_chain(struct vconsole *vc)
{
	bool resume = false;

	pthread_mutex_lock(&vc->in_lock);
	while (vc->in_count > 0 && vq_chain_writable(&vc->rx_chain) > 0) {
		size_t len = VCONSOLE_IN_BUF - vc->in_head; /* contiguous part */

		if (len > vc->in_count)
			len = vc->in_count;
		if (len > vq_chain_writable(&vc->rx_chain))
			len = vq_chain_writable(&vc->rx_chain);
		if (vq_chain_write(&vc->rx_chain, vc->dev.mem, vc->in_buf + vc->in_head, len) < 0)
			break;
		vc->in_head = (vc->in_head + len) % VCONSOLE_IN_BUF;
		vc->in_count -= len;
	}
	if (vc->in_refused && vc->in_count < VCONSOLE_IN_BUF) {
		vc->in_refused = false;
		resume = true;
	}
	pthread_mutex_unlock(&vc->in_lock);
	return resume;
}

static size_t in_pending(struct vconsole *vc)
{
	size_t n;

	pthread_mutex_lock(&vc->in_lock);
	n = vc->in_count;
	pthread_mutex_unlock(&vc->in_lock);
	return n;
}

static int rx_has_work(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	return in_pending(to_vc(dev)) > 0 ? VIRTIO_WORK_CHAIN : VIRTIO_WORK_NONE;
}

/* A chain with no writable byte gets used len 0 and is not retried. */
static int rx_handle(struct virtio_dev *dev, struct vq_chain *chain, void *opaque, uint64_t *bytes)
{
	bool *resume = opaque;

	*resume |= fill_chain(to_vc(dev));
	*bytes += chain->written;
	return VIRTIO_CHAIN_PUSH;
}

/* Pops receive buffers only while there is input for them; with no buffer left, kicks stay
 * enabled so the guest adding one brings us back here (queue_notify on receiveq0). */
static void serve_rx(struct vconsole *vc)
{
	bool resume = false;
	const struct virtio_server s = {
	    .chain = &vc->rx_chain,
	    .max_chains = VCONSOLE_BUDGET,
	    .has_work = rx_has_work,
	    .handle = rx_handle,
	    .opaque = &resume,
	};

	virtio_serve_queue(&vc->dev, VCONSOLE_RXQ, &s);
	if (resume)
		console_input_ready(vc->host);
}

static void input_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)revents;
	drain_eventfd(fd); /* always: the fd is level-triggered */
	serve_rx(to_vc(dev));
}

/* ---- device ops ---- */

static void vconsole_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	if (q == VCONSOLE_RXQ)
		serve_rx(to_vc(dev)); /* new receive buffers: deliver held input */
	else if (q == VCONSOLE_TXQ)
		serve_tx(to_vc(dev));
}

static int vconsole_activate(struct virtio_dev *dev)
{
	struct vconsole *vc = to_vc(dev);
	int err = 0;

	/* The I/O thread's epoll set exists only after virtio_dev_init(); register once here. */
	if (!vc->fds_added) {
		err = virtio_dev_add_fd(dev, vc->in_fd, EPOLLIN, input_ready);
		if (!err)
			err = virtio_dev_add_fd(dev, vc->winch_fd, EPOLLIN, winch_ready);
		if (err) {
			log_error("virtio-console: cannot watch its eventfds: %s", strerror(-err));
			return err;
		}
		vc->fds_added = true;
	}
	serve_rx(vc); /* input typed before the driver was ready */
	return 0;
}

/* 5.3.4: a write to emerg_wr outputs its low byte, as if sent on port 0. */
static void vconsole_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
				  uint32_t len)
{
	const uint32_t at = offsetof(struct virtio_console_config, emerg_wr);

	if (!virtio_dev_has_feature(dev, VIRTIO_CONSOLE_F_EMERG_WRITE))
		return;
	/* Never wait under dev->lock (a vCPU holds it here): a full console drops the byte. */
	if (offset <= at && at - offset < len &&
	    console_try_write(to_vc(dev)->host, (const uint8_t *)data + (at - offset), 1) == 0)
		to_vc(dev)->emerg_dropped++;
}

/* 2.4: the queues are reset by the framework; a held transmit chain is forgotten with them. */
static void vconsole_reset(struct virtio_dev *dev)
{
	to_vc(dev)->tx_held = false;
}

static void vconsole_destroy(struct virtio_dev *dev)
{
	struct vconsole *vc = to_vc(dev);

	console_set_space_notify(vc->host, NULL, NULL); /* the console may outlive us */
	if (vc->in_fd >= 0)
		close(vc->in_fd);
	if (vc->winch_fd >= 0)
		close(vc->winch_fd);
	vc->in_fd = vc->winch_fd = -1;
	pthread_mutex_destroy(&vc->in_lock);
}

/* ---- snapshot (virtio/core/dev_snapshot.h) ---- */

/* The config space and the host input not yet handed to the guest (kept in order). The console
 * behind the device is the new VM's; a transmit chain held for a full console is in flight, so
 * vq_save() refuses such a device (-EBUSY) and the snapshot is retried. */
struct virtio_console_state {
	struct virtio_console_config config; /* little endian */
	uint32_t in_count;		     /* <= VCONSOLE_IN_BUF */
	uint8_t in_buf[VCONSOLE_IN_BUF];     /* the oldest byte first */
};

static int vconsole_save(struct virtio_dev *dev, void *buf, size_t cap, size_t *len)
{
	struct vconsole *vc = to_vc(dev);
	struct virtio_console_state st;

	if (vc->tx_held)
		return -EBUSY;
	if (cap < sizeof(st))
		return -ENOSPC;
	memset(&st, 0, sizeof(st));
	st.config = vc->config;
	pthread_mutex_lock(&vc->in_lock);
	for (size_t i = 0; i < vc->in_count; i++)
		st.in_buf[i] = vc->in_buf[(vc->in_head + i) % VCONSOLE_IN_BUF];
	st.in_count = (uint32_t)vc->in_count;
	pthread_mutex_unlock(&vc->in_lock);
	memcpy(buf, &st, sizeof(st)); /* buf may be unaligned */
	*len = sizeof(st);
	return 0;
}

/* max_nr_ports is the device's (one port); cols, rows and emerg_wr are plain values. */
static int vconsole_restore(struct virtio_dev *dev, const void *buf, size_t len)
{
	struct vconsole *vc = to_vc(dev);
	struct virtio_console_state st;

	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, buf, sizeof(st)); /* buf may be unaligned */
	if (st.in_count > VCONSOLE_IN_BUF || st.config.max_nr_ports != vc->config.max_nr_ports)
		return -EINVAL;
	vc->config = st.config;
	pthread_mutex_lock(&vc->in_lock);
	memcpy(vc->in_buf, st.in_buf, st.in_count);
	vc->in_head = 0;
	vc->in_count = st.in_count;
	pthread_mutex_unlock(&vc->in_lock);
	return 0;
}

static const struct virtio_dev_ops vconsole_ops = {
    .activate = vconsole_activate,
    .queue_notify = vconsole_queue_notify,
    .config_write = vconsole_config_write,
    .reset = vconsole_reset,
    .destroy = vconsole_destroy,
    .save = vconsole_save,
    .restore = vconsole_restore,
};

bool virtio_console_is(const struct virtio_dev *dev)
{
	return dev->ops == &vconsole_ops;
}

static void describe(struct vconsole *vc)
{
	struct virtio_dev *dev = &vc->dev;

	dev->name = "virtio-console";
	dev->device_id = VIRTIO_ID_CONSOLE;
	dev->host_features = VIRTIO_DEV_RING_FEATURES | 1ULL << VIRTIO_CONSOLE_F_SIZE |
			     1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE;
	dev->num_queues = 2;
	dev->queue_max_size = VCONSOLE_QUEUE_SIZE;
	dev->config = &vc->config;
	dev->config_len = sizeof(vc->config);
	dev->ops = &vconsole_ops;
	dev->sandbox = &vconsole_sandbox;
	dev->priv = vc;
	vc->config.max_nr_ports = htole32(1); /* meaningful only with MULTIPORT (5.3.4) */
}

int virtio_console_create(struct virtio_dev **out, struct console *host)
{
	struct vconsole *vc = calloc(1, sizeof(*vc));
	int err;

	if (!vc)
		return -ENOMEM;
	vc->host = host;
	vc->in_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vc->winch_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vc->in_fd < 0 || vc->winch_fd < 0) {
		err = -errno;
		log_error("virtio-console: eventfd: %s", strerror(-err));
		if (vc->in_fd >= 0)
			close(vc->in_fd);
		if (vc->winch_fd >= 0)
			close(vc->winch_fd);
		free(vc);
		return err;
	}
	pthread_mutex_init(&vc->in_lock, NULL);
	describe(vc);
	update_size(vc);
	console_set_input(host, &(struct console_input){vconsole_receive, vc});
	console_set_space_notify(host, space_ready, vc);
	*out = &vc->dev;
	return 0;
}
