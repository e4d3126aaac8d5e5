/* libFuzzer target: virtio-console (virtio/console/console.c) behind virtio-mmio, on a host
 * console whose output goes to /dev/null (synchronous: the console is never started). Host input
 * comes from the input through the console's input sink (sometimes more than the device holds:
 * back-pressure), then the I/O thread's eventfd handlers run. The special operation can also make
 * the host console full: its ring takes bytes as if an output thread ran (out_running) while
 * nothing drains it, so transmit chains are held and emergency writes dropped, until a later
 * operation drains some or all of it and calls the space notifier as the output thread does.
 * A pseudo-terminal stands in for the output when the terminal size is asked (TIOCGWINSZ). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "host/ui/console.h"
#include "tools/fuzz/fuzz_dev_fds.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/fuzz/fuzz_virtio_dev.h"
#include "virtio/console/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct console con;
static int pty = -2; /* a pseudo-terminal's master side (-1: none to be had) */

/* Ends the emulated full console: back to synchronous writes, nothing queued (before the
 * console is stopped: no output thread to join). */
static void unstall(void)
{
	pthread_mutex_lock(&con.lock);
	con.out_running = false;
	con.ring_count = 0;
	con.space_wanted = false;
	pthread_mutex_unlock(&con.lock);
}

static int con_create(struct virtio_dev **out, const struct guest_mem *mem, struct fz_in *in)
{
	(void)in;
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct console_config cc = {.mode = CONSOLE_MODE_FDS, .in_fd = -1, .out_fd = null_fd};
	if (null_fd < 0 || console_open(&con, &cc)) {
		if (null_fd >= 0)
			close(null_fd);
		return -1;
	}
	if (virtio_console_create(out, &con))
		goto fail;
	if (virtio_dev_init(*out, mem)) {
		virtio_dev_destroy(*out);
		free(*out);
		goto fail;
	}
	return 0;
fail:
	console_close(&con);
	close(null_fd);
	return -1;
}

static void con_destroy(struct virtio_dev *dev)
{
	int fd = con.out_fd;
	unstall();
	console_stop(&con);
	virtio_dev_destroy(dev);
	free(dev);
	console_close(&con);
	if (fd >= 0)
		close(fd); /* CONSOLE_MODE_FDS: the fd is ours */
}

/* The host console's input thread hands over bytes (up to 255, offered up to 32 times: past
 * VCONSOLE_IN_BUF the device refuses some and owes console_input_ready()). */
static void host_input(struct fz_in *in)
{
	size_t len;
	const uint8_t *p = fz_take(in, fz_u8(in), &len);
	unsigned times = fz_u8(in) % 8 ? 1 : 1 + fz_u8(in) % 32;
	while (len && con.input.receive && times--) {
		size_t took = con.input.receive(con.input.opaque, p, len);
		FZ_ASSERT(took <= len, "receive took %zu of %zu", took, len);
	}
}

/* The console stalls (its ring takes bytes, nothing drains it), or drains some or all of the
 * ring and tells the device there is room, as the output thread's flush does. */
static void host_output(struct fz_in *in)
{
	uint8_t m = fz_u8(in);
	void (*fn)(void *) = NULL;
	void *opaque = NULL;

	pthread_mutex_lock(&con.lock);
	if (m & 1) {
		con.out_running = true;
	} else if (con.out_running) {
		size_t n = m & 2 ? con.ring_count : fz_u16(in) % (con.ring_count + 1);
		con.ring_tail = (con.ring_tail + n) % CONSOLE_RING_SIZE;
		con.ring_count -= n;
		if (m & 4)
			con.out_running = false; /* the thread is gone: synchronous again */
		if (con.space_wanted) {
			con.space_wanted = false;
			fn = con.space_notify.fn;
			opaque = con.space_notify.opaque;
		}
	}
	if (fn) /* with the console lock, as notify_space() calls it */
		fn(opaque);
	pthread_mutex_unlock(&con.lock);
}

/* The terminal has a size: the output is a pseudo-terminal of cols x rows (0: unknown) while the
 * device asks, then /dev/null again. */
static void host_resize(struct virtio_dev *dev, struct fz_in *in)
{
	struct winsize ws = {0};
	ws.ws_col = fz_u8(in) % 4 ? fz_u8(in) : 0; /* in order: an initializer list's is not */
	ws.ws_row = fz_u8(in);
	if (pty == -2)
		pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (pty >= 0 && ioctl(pty, TIOCSWINSZ, &ws) == 0) {
		int null_fd = con.out_fd;
		con.out_fd = pty;
		virtio_console_winch(dev);
		fz_dev_run_fds(dev);
		con.out_fd = null_fd;
	}
}

static void con_special(struct virtio_dev *dev, struct fz_in *in)
{
	switch (fz_u8(in) % 4) {
	case 0:
		host_output(in);
		break;
	case 1:
		host_resize(dev, in);
		break;
	default:
		host_input(in);
		if (fz_u8(in) & 1)
			virtio_console_winch(dev);
		break;
	}
	fz_dev_run_fds(dev);
}

static const struct fz_dev_hooks con_hooks = {
    .create = con_create, .destroy = con_destroy, .special = con_special, .snapshot = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_dev_run(data, size, &con_hooks);
}
