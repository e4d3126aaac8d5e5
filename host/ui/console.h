/* The host side of a guest console: where the guest's output goes and where its input comes from.
 * Device-neutral: the 8250 UART uses it now, virtio-console can later (console_write() for the
 * guest's output, a struct console_input to hand over input).
 *
 * Output: console_write() copies into a ring buffer (64 KiB) and returns; a console thread writes
 * the ring to the output fd. After an idle spell (no write in the last CONSOLE_LINGER_NS) the
 * thread writes as soon as there is data, so an interactive echo is immediate; while the guest
 * floods, it writes at most once per CONSOLE_LINGER_NS or per CONSOLE_FLUSH_BYTES, so a guest
 * emitting one byte per VM exit still costs the host a few large writes. When the ring is full,
 * console_write() waits for room (back-pressure to the guest: nothing is dropped). console_stop()
 * flushes it all.
 *
 * A FIFO (file mode on a named pipe, as Firecracker's serial_out_path) is lossy instead: opened
 * so that no reader is needed, written non-blocking; when the ring is full console_write()
 * drops the rest rather than wait, the output thread waits for the reader only while the
 * console runs, and console_stop() gives it CONSOLE_FIFO_GRACE_MS, so a FIFO nobody reads
 * never stalls a vCPU or the VMM's exit. What is dropped is counted (console_dropped_bytes()).
 *
 * Input (stdio, fds): a second thread poll()s the input fd and an eventfd, filters the Ctrl-A
 * escape commands (as QEMU's -nographic: C-a x quit, C-a h help, C-a C-a a literal C-a) and
 * offers the rest to the input sink. If the sink takes fewer bytes than offered (a full UART
 * FIFO), the thread keeps them and stops reading the input fd until console_input_ready().
 *
 * Wiring with the UART (what vm_devices does):
 *   uart sink:    .tx = console_write adapter, .rx_space = console_input_ready adapter
 *   console sink: .receive = uart8250_receive adapter
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/vm_control.h"

#define CONSOLE_RING_SIZE     (64 * 1024)
#define CONSOLE_ESCAPE_CHAR   0x01     /* Ctrl-A */
#define CONSOLE_LINGER_NS     1000000u /* a flood is written at most once per ms... */
#define CONSOLE_FLUSH_BYTES   4096u    /* ...or as soon as this much is queued */
#define CONSOLE_FIFO_WAIT_MS  20       /* a full FIFO is polled in slices this long... */
#define CONSOLE_FIFO_GRACE_MS 100      /* ...and given this long to drain once stopping */

/* --console stdio|none|file:PATH (vmm/cli/cli.c), plus FDS for tests and later backends. */
enum console_mode {
	CONSOLE_MODE_STDIO =
	    0, /* stdout / stdin; a stdin terminal goes raw while the console runs */
	CONSOLE_MODE_NONE = 1, /* output discarded, no input */
	CONSOLE_MODE_FILE = 2, /* output to `path` (a file, or a FIFO: lossy), no input */
	CONSOLE_MODE_FDS = 3,  /* caller's out_fd / in_fd (tests, future sockets); never closed */
};

struct console_config {
	enum console_mode mode;
	const char *path; /* CONSOLE_MODE_FILE */
	bool append;	  /* CONSOLE_MODE_FILE: append to the file instead of truncating it */
	int in_fd;	  /* CONSOLE_MODE_FDS: input fd, or -1 for none */
	int out_fd;	  /* CONSOLE_MODE_FDS: output fd */
	bool no_escape;	  /* pass Ctrl-A through to the guest (no escape commands) */
	const struct vm_control *vm; /* Ctrl-A x calls vm_control_stop(VM_STOP_USER, 0) */
};

/* Where input goes. receive() returns how many of the n bytes it took (0..n); when it takes
 * fewer, it must later call console_input_ready(). Called from the input thread only. */
struct console_input {
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t n);
	void *opaque;
};

/* The Ctrl-A escape parser: a pure state machine, one input byte at a time. */
enum console_escape_action {
	CONSOLE_ESC_FORWARD, /* give *out to the guest */
	CONSOLE_ESC_SWALLOW, /* nothing to do (escape char, or unknown command) */
	CONSOLE_ESC_QUIT,    /* C-a x */
	CONSOLE_ESC_HELP,    /* C-a h or C-a ? */
};

struct console_escape {
	bool pending; /* the previous byte was the escape char */
};

struct console {
	struct console_config cfg;
	int out_fd, in_fd; /* -1 when absent */
	bool own_out_fd;   /* opened by us (file mode) */
	bool created;	   /* file mode: console_open() created the file (console_discard()) */
	dev_t created_dev; /* and its identity */
	ino_t created_ino;
	int wake_fd; /* eventfd: input ready / stop, for the input thread */
	struct console_input input;
	struct console_escape escape;

	pthread_mutex_t lock;	   /* guards everything below; order: base/lock_order.h */
	pthread_cond_t data_cond;  /* ring got data, or stop: output thread */
	pthread_cond_t space_cond; /* ring got room, or output stopped: writers */
	uint8_t *ring;
	size_t ring_tail;	      /* oldest byte */
	size_t ring_count;	      /* bytes queued */
	bool out_waiting;	      /* the output thread sleeps on data_cond for data */
	bool out_lingering;	      /* the output thread waits to batch a flood (linger()) */
	uint64_t last_flush_ns;	      /* CLOCK_MONOTONIC end of the last write */
	bool out_running;	      /* the output thread exists */
	bool out_stopping;	      /* console_stop(): drain and exit */
	bool out_broken;	      /* a write failed for good: output is dropped from now on */
	bool out_lossy;		      /* a FIFO: drop what does not fit rather than wait (above) */
	_Atomic uint64_t out_dropped; /* bytes a lossy output dropped */
	uint64_t out_writes;	      /* write() calls that moved bytes (statistics, tests) */
	bool space_wanted;	      /* console_try_write() was short: call space_notify */
	struct {
		void (*fn)(void *opaque);
		void *opaque;
	} space_notify;
	uint64_t out_bytes;

	pthread_t out_thread, in_thread;
	bool in_running;
	_Atomic bool in_stopping;
	bool entered_raw;
};

/* Open the backend described by `cfg` (copied; `path` must outlive the console): opens the file,
 * the eventfd, allocates the ring. No thread yet, the terminal untouched. Returns 0 or -errno
 * (logged); on failure nothing is left to close. */
int console_open(struct console *c, const struct console_config *cfg);

/* Where input goes (before console_start(); without it input is not read). */
void console_set_input(struct console *c, const struct console_input *in);

/* Raw terminal (stdio, when stdin is a terminal and we are in the foreground), then the output
 * thread and, if there is input, the input thread. Returns 0 or -errno (nothing left running). */
int console_start(struct console *c);

/* Stop the input thread, flush every queued byte, stop the output thread, restore the terminal.
 * Idempotent. Later console_write() calls write synchronously. Blocks until the output fd has
 * taken everything (a reader that never reads stalls it, as it stalls a writing guest), except
 * a FIFO: CONSOLE_FIFO_GRACE_MS at most, then the rest is dropped. */
void console_stop(struct console *c);

/* For a VM that never ran (a failed start): removes the file console_open() created, if its
 * name still leads to it, so a failed start leaves nothing behind. Before console_close(). */
void console_discard(struct console *c);

/* console_stop() + release everything. Once per successful console_open(). */
void console_close(struct console *c);

/* Bytes a FIFO output dropped (full ring, full pipe); 0 for any other output. Any thread. */
uint64_t console_dropped_bytes(struct console *c);

/* The guest's output. Queues all n bytes (waits for room if the ring is full; a FIFO's output
 * drops what does not fit instead); before
 * console_start() and after console_stop(), writes them synchronously. Any thread. */
void console_write(struct console *c, const uint8_t *buf, size_t n);

/* The guest's output, never waiting: queues what fits in the ring and returns how many bytes it
 * took (0..n). After a short write, the space notifier (console_set_space_notify) is called once
 * when the output thread has made room. Before console_start() and after console_stop() it
 * writes synchronously, like console_write() (there is no thread to wait for). Any thread; for
 * callers that hold a device lock (virtio-console), so a stalled stdout cannot stall a vCPU. */
size_t console_try_write(struct console *c, const uint8_t *buf, size_t n);

/* Who to tell that the ring has room again after a short console_try_write(). `fn` runs on the
 * output thread with the console lock held: it must only wake someone (write an eventfd). */
void console_set_space_notify(struct console *c, void (*fn)(void *opaque), void *opaque);

/* The input sink has room again: retry the bytes it refused. Any thread; async-signal-safe. */
void console_input_ready(struct console *c);

/* Compiles ahead the filter of the console's threads (sandbox_prepare()). Returns 0 or -errno. */
int console_prepare_filter(void);

#endif
