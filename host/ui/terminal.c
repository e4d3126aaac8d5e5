#include "host/ui/terminal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "base/log.h"

static struct termios saved_termios;
static int saved_fd = -1;
static volatile sig_atomic_t raw_active;
static int atexit_registered;

static void make_raw(struct termios *t)
{
	cfmakeraw(t);
	/* Keep output processing as QEMU's stdio backend does: guests that print "\n" alone. */
	t->c_oflag |= OPOST | ONLCR;
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
}

int terminal_enter_raw(int fd)
{
	struct termios t;

	if (raw_active)
		return 1;
	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	saved_termios = t;
	saved_fd = fd;
	make_raw(&t);
	if (!atexit_registered) {
		if (atexit(terminal_restore) != 0)
			return -ENOMEM;
		atexit_registered = 1;
	}
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return -errno;
	raw_active = 1;
	log_set_raw_terminal(1);
	return 1;
}

void terminal_restore(void)
{
	int saved_errno = errno;

	if (!raw_active)
		return;
	raw_active = 0;
	/* TCSANOW: don't wait for pending output to drain, we may be in a signal handler. */
	tcsetattr(saved_fd, TCSANOW, &saved_termios);
	log_set_raw_terminal(0); /* a plain int store in base/log.c: safe here */
	errno = saved_errno;
}

int terminal_is_raw(void)
{
	return raw_active;
}
