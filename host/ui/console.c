/* Console backend: output ring + writer thread, input reader thread with the Ctrl-A escape. */
#include "host/ui/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/host_path.h"
#include "base/log.h"
#include "host/sandbox/sandbox.h"
#include "host/ui/terminal.h"
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define INPUT_CHUNK 256

static const char help_text[] = "\r\n"
				"C-a h    print this help\r\n"
				"C-a x    exit the VMM\r\n"
				"C-a C-a  send C-a to the guest\r\n";

/* --- escape parser ------------------------------------------------------------------------ */

enum console_escape_action console_escape_feed(struct console_escape *e, uint8_t byte, uint8_t *out)
{
	if (!e->pending) {
		if (byte == CONSOLE_ESCAPE_CHAR) {
			e->pending = true;
			return CONSOLE_ESC_SWALLOW;
		}
		*out = byte;
		return CONSOLE_ESC_FORWARD;
	}
	e->pending = false;
	switch (byte) {
	case CONSOLE_ESCAPE_CHAR:
		*out = byte;
		return CONSOLE_ESC_FORWARD;
	case 'x':
	case 'X':
		return CONSOLE_ESC_QUIT;
	case 'h':
	case 'H':
	case '?':
		return CONSOLE_ESC_HELP;
	default:
		return CONSOLE_ESC_SWALLOW; /* as QEMU: unknown commands are dropped */
	}
}

/* --- output --------------------------------------------------------------------------------- */

/* Write all of buf, riding out EINTR, short writes and a non-blocking fd. Returns 0 or -errno. */
static int write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			poll(&p, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes what a FIFO takes now (its fd is non-blocking): 0..n, or -errno. */
static ssize_t write_some(int fd, const uint8_t *buf, size_t n)
{
	for (;;) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		return w < 0 ? -errno : w;
	}
}

static bool stopping(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	bool s = c->out_stopping;
	pthread_mutex_unlock(&c->lock);
	return s;
}

static void notify_space(struct console *c);

/* Frees the first n bytes of the ring (written or dropped) for the writers. Lock held. */
static void ring_consume(struct console *c, size_t n)
{
	c->ring_tail = (c->ring_tail + n) % CONSOLE_RING_SIZE;
	c->ring_count -= n;
	pthread_cond_broadcast(&c->space_cond);
	notify_space(c);
}

/* A FIFO (out_lossy): writes the ring's first n bytes (buf) as its reader takes them, waiting for
 * room in slices of CONSOLE_FIFO_WAIT_MS so a stop is seen; once stopping, CONSOLE_FIFO_GRACE_MS
 * more at most, then the rest is dropped, so a FIFO nobody reads never holds up the VMM's exit.
 * What the reader took is freed at once (ring_consume()), not when the whole chunk is out: a slow
 * reader must not leave the writers a smaller ring, which dropped bytes it had room for. Lock not
 * held. Returns the bytes dropped (still in the ring); *err gets -errno when a write failed for
 * good. */
static size_t write_fifo(struct console *c, const uint8_t *buf, size_t n, int *err)
{
	uint64_t give_up = 0;

	while (n > 0) {
		ssize_t w = write_some(c->out_fd, buf, n);

		if (w < 0) {
			*err = (int)w;
			break;
		}
		if (w > 0) {
			pthread_mutex_lock(&c->lock);
			c->out_bytes += (size_t)w;
			ring_consume(c, (size_t)w);
			pthread_mutex_unlock(&c->lock);
		}
		buf += w;
		n -= (size_t)w;
		if (n == 0)
			break;
		uint64_t now = mono_ns();
		if (!give_up && stopping(c))
			give_up = now + CONSOLE_FIFO_GRACE_MS * 1000000ull;
		if (give_up && now >= give_up)
			break;
		struct pollfd p = {.fd = c->out_fd, .events = POLLOUT};
		poll(&p, 1, CONSOLE_FIFO_WAIT_MS);
	}
	return n;
}

/* Without the output thread (before console_start(), after console_stop()): a file or terminal
 * takes everything, a FIFO what it has room for now, the rest dropped. Lock held. */
static void write_through(struct console *c, const uint8_t *buf, size_t n)
{
	if (c->out_broken)
		return;
	if (!c->out_lossy) {
		c->out_broken = write_all(c->out_fd, buf, n) < 0;
		return;
	}
	ssize_t w = write_some(c->out_fd, buf, n);
	c->out_broken = w < 0;
	atomic_fetch_add_explicit(&c->out_dropped, w < 0 ? 0 : n - (size_t)w, memory_order_relaxed);
}

/* A non-blocking writer was refused bytes: tell it there is room now. Lock held; the callback
 * must not block or take locks (base/lock_order.h: the console lock is innermost). */
static void notify_space(struct console *c)
{
	if (!c->space_wanted)
		return;
	c->space_wanted = false;
	if (c->space_notify.fn)
		c->space_notify.fn(c->space_notify.opaque);
}

/* Called with the lock held; drops it around the write. Writes (or, broken, drops) the ring's
 * first contiguous run and frees it. */
static void flush_chunk(struct console *c)
{
	size_t chunk = c->ring_count, left = chunk;
	int err = 0;

	if (chunk > CONSOLE_RING_SIZE - c->ring_tail)
		chunk = left = CONSOLE_RING_SIZE - c->ring_tail;
	if (!c->out_broken) {
		const uint8_t *buf = c->ring + c->ring_tail;
		pthread_mutex_unlock(&c->lock);
		if (c->out_lossy) /* frees what it writes; `left`: dropped */
			left = write_fifo(c, buf, chunk, &err);
		else
			err = write_all(c->out_fd, buf, chunk);
		pthread_mutex_lock(&c->lock);
		c->out_writes++;
		if (c->out_lossy)
			atomic_fetch_add_explicit(&c->out_dropped, left, memory_order_relaxed);
		else
			c->out_bytes += err ? 0 : chunk;
	}
	if (err && !c->out_broken) {
		c->out_broken = true;
		log_warn("console: output write failed (%s); dropping further guest output",
			 strerror(-err));
	}
	ring_consume(c, left);
}

/* Coalescing: a write that follows the previous one within CONSOLE_LINGER_NS is part of a flood,
 * so wait until that much time has passed since the previous write (or CONSOLE_FLUSH_BYTES are
 * queued, or we are stopping) before writing. After an idle spell the first byte goes out at
 * once, so an interactive echo is never delayed. Lock held. */
static void linger(struct console *c)
{
	uint64_t deadline = c->last_flush_ns + CONSOLE_LINGER_NS;
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
			      .tv_nsec = (long)(deadline % 1000000000u)};

	if (mono_ns() >= deadline)
		return;
	c->out_lingering = true;
	while (c->ring_count < CONSOLE_FLUSH_BYTES && !c->out_stopping) {
		if (pthread_cond_timedwait(&c->data_cond, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	c->out_lingering = false;
}

/* The console threads' calls (sandbox.h): reading the input fd, writing the output fd (a
 * terminal, a pipe or a file), waiting on both, and the terminal size. */
static const struct sandbox_rule console_rules[] = {
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_write),
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ARG_EQ(SYS_ioctl, 1, TIOCGWINSZ),
    SB_ARG_EQ(SYS_ioctl, 1, TIOCGPGRP),
    SB_ARG_EQ(SYS_ioctl, 1, TCSETS),
    SB_ARG_EQ(SYS_ioctl, 1, TCSETSW),
    SB_ARG_EQ(SYS_ioctl, 1, FIONBIO),
    SB_ARG_EQ(SYS_ioctl, 1, FIONREAD),
    /* input typed into COM1 raises the UART's interrupt line from this thread */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE_STATUS),
};
static const struct sandbox_list console_sandbox = SANDBOX_LIST("console", console_rules);

int console_prepare_filter(void)
{
	const struct sandbox_list *lists[] = {&console_sandbox};
	return sandbox_prepare("console", lists, 1);
}

/* Each thread names itself (prctl on itself): pthread_setname_np() on another thread opens
 * /proc/self/task/TID/comm, which a confined creator may not. */
static void confine(const char *role)
{
	const struct sandbox_list *lists[] = {&console_sandbox};

	pthread_setname_np(pthread_self(), role);
	if (sandbox_enter(role, lists, 1))
		abort(); /* a console thread that cannot be confined must not run (logged) */
}

static void *output_thread(void *arg)
{
	struct console *c = arg;

	confine("console-out");
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->ring_count == 0 && !c->out_stopping) {
			c->out_waiting = true;
			pthread_cond_wait(&c->data_cond, &c->lock);
			c->out_waiting = false;
		}
		if (c->ring_count == 0)
			break; /* stopping, and everything is out */
		linger(c);
		flush_chunk(c);
		c->last_flush_ns = mono_ns();
	}
	c->out_running = false;
	pthread_cond_broadcast(&c->space_cond);
	notify_space(c);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Copy as much of buf as fits into the ring; returns how much. Lock held. */
static size_t ring_put(struct console *c, const uint8_t *buf, size_t n)
{
	size_t head = (c->ring_tail + c->ring_count) % CONSOLE_RING_SIZE;
	size_t room = CONSOLE_RING_SIZE - c->ring_count;
	size_t first;

	if (n > room)
		n = room;
	first = CONSOLE_RING_SIZE - head;
	if (first > n)
		first = n;
	memcpy(c->ring + head, buf, first);
	memcpy(c->ring, buf + first, n - first);
	c->ring_count += n;
	return n;
}

void console_write(struct console *c, const uint8_t *buf, size_t n)
{
	if (c->out_fd < 0 || n == 0)
		return;
	pthread_mutex_lock(&c->lock);
	while (n > 0) {
		size_t put;

		if (!c->out_running) {
			/* No thread (not started, or stopped): write through, in order. */
			write_through(c, buf, n);
			break;
		}
		put = ring_put(c, buf, n);
		buf += put;
		n -= put;
		/* Wake the output thread only when it sleeps for lack of data, or lingers and the
		 * batch is big enough: a flood costs the writer no syscall per byte. */
		if (put &&
		    (c->out_waiting || (c->out_lingering && c->ring_count >= CONSOLE_FLUSH_BYTES)))
			pthread_cond_signal(&c->data_cond);
		if (n > 0 && c->out_lossy) {
			/* a FIFO nobody drains: never stall the guest */
			atomic_fetch_add_explicit(&c->out_dropped, n, memory_order_relaxed);
			break;
		}
		if (n > 0)
			pthread_cond_wait(&c->space_cond, &c->lock);
	}
	pthread_mutex_unlock(&c->lock);
}

size_t console_try_write(struct console *c, const uint8_t *buf, size_t n)
{
	size_t put;

	if (c->out_fd < 0 || n == 0)
		return n;
	pthread_mutex_lock(&c->lock);
	if (!c->out_running) {
		/* No thread (not started, or stopped): write through, as console_write(). */
		write_through(c, buf, n);
		put = n;
	} else {
		put = ring_put(c, buf, n);
		if (put &&
		    (c->out_waiting || (c->out_lingering && c->ring_count >= CONSOLE_FLUSH_BYTES)))
			pthread_cond_signal(&c->data_cond);
		if (put < n)
			c->space_wanted = true; /* notify_space() once the thread made room */
	}
	pthread_mutex_unlock(&c->lock);
	return put;
}

uint64_t console_dropped_bytes(struct console *c)
{
	return atomic_load(&c->out_dropped); /* lock-free: the metrics lock is a leaf */
}

void console_set_space_notify(struct console *c, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->space_notify.fn = fn;
	c->space_notify.opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

/* --- input ---------------------------------------------------------------------------------- */

struct input_state {
	uint8_t pending[INPUT_CHUNK]; /* filtered bytes the sink has not taken yet */
	size_t off, len;
	bool eof;
};

static void escape_command(struct console *c, enum console_escape_action a)
{
	if (a == CONSOLE_ESC_QUIT) {
		log_info("console: C-a x, stopping the VM");
		vm_control_stop(c->cfg.vm, VM_STOP_USER, VMM_EXIT_OK);
	} else if (a == CONSOLE_ESC_HELP) {
		console_write(c, (const uint8_t *)help_text, sizeof(help_text) - 1);
	}
}

/* Filter raw input through the escape parser into s->pending (which is empty). */
static void filter_input(struct console *c, struct input_state *s, const uint8_t *raw, size_t n)
{
	s->off = 0;
	s->len = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t out;
		enum console_escape_action a = CONSOLE_ESC_FORWARD;

		out = raw[i];
		if (!c->cfg.no_escape)
			a = console_escape_feed(&c->escape, raw[i], &out);
		if (a == CONSOLE_ESC_FORWARD)
			s->pending[s->len++] = out;
		else
			escape_command(c, a);
	}
}

static void deliver(struct console *c, struct input_state *s)
{
	size_t took;

	if (s->off == s->len)
		return;
	took = c->input.receive(c->input.opaque, s->pending + s->off, s->len - s->off);
	s->off += took < s->len - s->off ? took : s->len - s->off;
}

static void read_input(struct console *c, struct input_state *s)
{
	uint8_t raw[INPUT_CHUNK];
	ssize_t n = read(c->in_fd, raw, sizeof(raw));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF (a pipe or /dev/null) or a dead terminal: stop reading, keep the VM. */
		if (n < 0)
			log_warn("console: input read failed: %s", strerror(errno));
		s->eof = true;
		return;
	}
	filter_input(c, s, raw, (size_t)n);
	deliver(c, s);
}

static void *input_thread(void *arg)
{
	confine("console-in");
	struct console *c = arg;
	struct input_state s = {0};

	while (!c->in_stopping) {
		struct pollfd p[2] = {{.fd = c->wake_fd, .events = POLLIN},
				      {.fd = c->in_fd, .events = POLLIN}};
		/* With bytes still pending, wait for the sink (wake_fd) only: back-pressure. */
		nfds_t nfds = (s.off == s.len && !s.eof) ? 2 : 1;
		uint64_t v;

		if (poll(p, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("console: poll failed: %s", strerror(errno));
			break;
		}
		if (p[0].revents & POLLIN) {
			if (read(c->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
			deliver(c, &s);
		}
		if (nfds == 2 && p[1].revents)
			read_input(c, &s);
	}
	return NULL;
}

void console_input_ready(struct console *c)
{
	uint64_t one = 1;

	if (c->wake_fd >= 0 && write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; nothing to do. */
	}
}

/* --- lifecycle ------------------------------------------------------------------------------ */

/* file:PATH, through host_path_open() (docs/security.md, "Paths from outside"): write-only, a
 * regular file or a FIFO (never a device or a file of /proc), a file created when missing;
 * `created` remembers that, for console_discard(). A FIFO is opened as Firecracker opens its
 * serial_out_path (read-write, non-blocking: no reader needed) and is lossy (out_lossy). */
static int open_file(struct console *c)
{
	const struct console_config *cfg = &c->cfg;
	int flags = O_WRONLY | (cfg->append ? O_APPEND : O_TRUNC);
	char err[HOST_PATH_ERR_MAX];
	struct stat st;

	if (!cfg->path || !*cfg->path) {
		log_error("console: file mode needs a path");
		return -EINVAL;
	}
	int fd = host_path_open(cfg->path, flags, 0, HOST_PATH_REGULAR | HOST_PATH_FIFO, err,
				sizeof(err));
	if (fd == -ENOENT) {
		fd = host_path_open(cfg->path, flags | O_CREAT | O_EXCL, 0644, HOST_PATH_REGULAR,
				    err, sizeof(err));
		c->created = fd >= 0 && fstat(fd, &st) == 0;
		if (c->created) {
			c->created_dev = st.st_dev;
			c->created_ino = st.st_ino;
		}
	}
	if (fd < 0) {
		log_error("console: cannot open %s", err);
		return fd;
	}
	c->out_fd = fd;
	c->own_out_fd = true;
	c->out_lossy = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
	return 0;
}

static int open_backend(struct console *c)
{
	const struct console_config *cfg = &c->cfg;

	switch (cfg->mode) {
	case CONSOLE_MODE_NONE:
		return 0;
	case CONSOLE_MODE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		return 0;
	case CONSOLE_MODE_FDS:
		c->out_fd = cfg->out_fd;
		c->in_fd = cfg->in_fd;
		return 0;
	case CONSOLE_MODE_FILE:
		return open_file(c);
	}
	return -EINVAL;
}

int console_open(struct console *c, const struct console_config *cfg)
{
	pthread_condattr_t attr;
	int err;

	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->out_fd = c->in_fd = c->wake_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* linger() deadlines */
	pthread_cond_init(&c->data_cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&c->space_cond, NULL);
	c->ring = malloc(CONSOLE_RING_SIZE);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!c->ring || c->wake_fd < 0) {
		err = c->ring ? -errno : -ENOMEM;
		log_error("console: %s", strerror(-err));
		console_close(c);
		return err;
	}
	err = open_backend(c);
	if (err)
		console_close(c);
	return err;
}

void console_set_input(struct console *c, const struct console_input *in)
{
	c->input = *in;
}

/* Console threads block every signal: SIGINT/SIGTERM are the main thread's business, and a
 * blocked SIGPIPE turns a write to a closed pipe into EPIPE instead of killing the VMM. */
static int spawn(pthread_t *t, void *(*fn)(void *), struct console *c, const char *name)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(t, NULL, fn, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("console: cannot start the %s thread: %s", name, strerror(err));
		return -err;
	}
	return 0;
}

/* Only a foreground process may change the terminal or read it (else SIGTTOU/SIGTTIN stop us). */
static bool stdin_is_foreground_tty(void)
{
	return isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
}

static void setup_stdio_input(struct console *c)
{
	int err;

	if (c->cfg.mode != CONSOLE_MODE_STDIO || !isatty(STDIN_FILENO))
		return;
	if (!stdin_is_foreground_tty()) {
		log_info("console: not in the terminal's foreground, guest input disabled");
		c->in_fd = -1;
		return;
	}
	err = terminal_enter_raw(STDIN_FILENO);
	if (err < 0)
		log_warn("console: cannot put the terminal in raw mode: %s", strerror(-err));
	c->entered_raw = err > 0;
}

int console_start(struct console *c)
{
	int err;

	if (c->out_fd < 0)
		return 0;
	setup_stdio_input(c);
	pthread_mutex_lock(&c->lock);
	c->out_running = true;
	c->out_stopping = false;
	pthread_mutex_unlock(&c->lock);
	err = spawn(&c->out_thread, output_thread, c, "console-out");
	if (err) {
		c->out_running = false;
		goto fail;
	}
	if (c->in_fd >= 0 && c->input.receive) {
		c->in_stopping = false;
		err = spawn(&c->in_thread, input_thread, c, "console-in");
		if (err)
			goto fail;
		c->in_running = true;
	}
	return 0;
fail:
	console_stop(c);
	return err;
}

static void stop_output(struct console *c)
{
	bool running;

	pthread_mutex_lock(&c->lock);
	running = c->out_running;
	c->out_stopping = true;
	pthread_cond_signal(&c->data_cond);
	pthread_mutex_unlock(&c->lock);
	if (running)
		pthread_join(c->out_thread, NULL);
}

void console_stop(struct console *c)
{
	if (c->in_running) {
		c->in_stopping = true;
		console_input_ready(c);
		pthread_join(c->in_thread, NULL);
		c->in_running = false;
	}
	stop_output(c);
	if (c->entered_raw) {
		terminal_restore();
		c->entered_raw = false;
	}
}

void console_discard(struct console *c)
{
	struct stat st;

	/* only the file we made, if its name still leads to it */
	if (c->created && c->cfg.path && stat(c->cfg.path, &st) == 0 &&
	    st.st_dev == c->created_dev && st.st_ino == c->created_ino && unlink(c->cfg.path) < 0)
		log_debug("console: cannot remove %s: %s", c->cfg.path, strerror(errno));
	c->created = false;
}

void console_close(struct console *c)
{
	console_stop(c);
	if (c->own_out_fd && c->out_fd >= 0)
		close(c->out_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	c->out_fd = c->in_fd = c->wake_fd = -1;
	free(c->ring);
	c->ring = NULL;
	pthread_cond_destroy(&c->data_cond);
	pthread_cond_destroy(&c->space_cond);
	pthread_mutex_destroy(&c->lock);
}
