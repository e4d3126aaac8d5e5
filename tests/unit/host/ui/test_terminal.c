#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "host/ui/terminal.h"
#include "host/ui/terminal_test.h"

static int open_pty_slave(int *master)
{
	int fd;

	*master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(*master, 0);
	cr_assert_eq(grantpt(*master), 0);
	cr_assert_eq(unlockpt(*master), 0);
	fd = open(ptsname(*master), O_RDWR | O_NOCTTY);
	cr_assert_geq(fd, 0);
	return fd;
}

Test(terminal, not_a_tty_is_left_alone)
{
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(terminal_enter_raw(p[0]), 0);
	cr_assert_eq(terminal_is_raw(), 0);
	terminal_restore(); /* harmless without raw mode */
	close(p[0]);
	close(p[1]);
}

Test(terminal, raw_mode_then_restore)
{
	int master, fd = open_pty_slave(&master);
	struct termios before, raw, after;

	cr_assert_eq(tcgetattr(fd, &before), 0);
	cr_assert(before.c_lflag & ICANON);
	cr_assert_eq(terminal_enter_raw(fd), 1);
	cr_assert_eq(terminal_is_raw(), 1);
	cr_assert_eq(terminal_enter_raw(fd), 1, "idempotent");
	cr_assert_eq(tcgetattr(fd, &raw), 0);
	cr_assert_eq(raw.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0);
	cr_assert_eq(raw.c_iflag & (ICRNL | IXON), 0);
	cr_assert_eq(raw.c_oflag & (OPOST | ONLCR), OPOST | ONLCR, "output processing kept");
	cr_assert_eq(raw.c_cc[VMIN], 1);

	terminal_restore();
	cr_assert_eq(terminal_is_raw(), 0);
	cr_assert_eq(tcgetattr(fd, &after), 0);
	cr_assert_eq(after.c_lflag, before.c_lflag);
	cr_assert_eq(after.c_iflag, before.c_iflag);
	cr_assert_eq(after.c_oflag, before.c_oflag);
	terminal_restore(); /* second call: no-op */
	close(fd);
	close(master);
}

/* The atexit() hook restores the terminal even if nobody calls terminal_restore(). */
Test(terminal, restored_at_exit)
{
	int master, fd = open_pty_slave(&master);
	pid_t pid;
	int status;
	struct termios t;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);

		if (terminal_enter_raw(slave) != 1)
			_exit(1);
		exit(0); /* runs the atexit() hook */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_eq(tcgetattr(fd, &t), 0);
	cr_assert(t.c_lflag & ICANON, "child's exit restored canonical mode");
	close(fd);
	close(master);
}
