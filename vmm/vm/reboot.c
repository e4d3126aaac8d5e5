/* A firmware-booted VM's reboot: a process per boot. See vmm/vm/reboot.h. */
#include "vmm/vm/reboot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/vm_control.h"

#define RESET_BYTE 'R'

bool reboot_guard_allow(struct reboot_guard *g, uint64_t now_ms)
{
	unsigned slot = g->n % REBOOT_LOOP_MAX; /* the oldest kept once the ring is full */
	if (g->n >= REBOOT_LOOP_MAX && now_ms - g->at[slot] < REBOOT_LOOP_WINDOW_MS)
		return false;
	g->at[slot] = now_ms;
	g->n++;
	return true;
}

void reboot_tell_reset(int reset_fd)
{
	char b = RESET_BYTE;
	if (write(reset_fd, &b, 1) != 1)
		log_warn("reboot: cannot tell the supervisor of the reset: %s", strerror(errno));
}

/* The signals the parent waits for: the stop signals it passes on, and its child's end. */
static void waited_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
}

/* The child's start: the parent's signal mask undone, and its end to be the child's too. */
static void child_start(pid_t parent, const sigset_t *old_mask)
{
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(128 + SIGTERM); /* the parent is gone already: no VM of its own */
}

/* The VMM's status for the child's wait status. */
static int child_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	log_error("reboot: the VM's process ended on signal %d (%s)", WTERMSIG(ws),
		  strsignal(WTERMSIG(ws)));
	return 128 + WTERMSIG(ws);
}

/* Waits for child `pid` to end, passing on the stop signals (the first one in *stop_sig);
 * returns its status. */
static int wait_child(pid_t pid, int *stop_sig)
{
	sigset_t set;
	struct timespec tick = {1, 0}; /* a lost SIGCHLD costs a second at most */
	waited_signals(&set);
	for (;;) {
		int ws;
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			return child_status(ws);
		if (r < 0 && errno != EINTR) {
			log_error("reboot: waitpid: %s", strerror(errno));
			return VMM_EXIT_ERROR;
		}
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig <= 0 || sig == SIGCHLD)
			continue;
		if (!*stop_sig)
			*stop_sig = sig;
		kill(pid, sig);
	}
}

/* Whether the child said its VM ended in a reset (the pipe is non-blocking: no byte, no). */
static bool read_reset(int fd)
{
	char b = 0;
	return read(fd, &b, 1) == 1 && b == RESET_BYTE;
}

/* One boot in a child; its status, and in *reset whether it ended in a reset. */
static int run_child(reboot_boot_fn boot, void *opaque, unsigned n, const sigset_t *old_mask,
		     bool *reset, int *stop_sig)
{
	int fds[2];
	*reset = false;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("reboot: pipe: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	fflush(NULL); /* nothing buffered is written twice, by the parent and the child */
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child_start(parent, old_mask);
		exit(boot(opaque, n, fds[1])); /* exit(): atexit handlers (the terminal's mode) */
	}
	close(fds[1]);
	int status = VMM_EXIT_ERROR;
	if (pid < 0)
		log_error("reboot: fork: %s", strerror(errno));
	else
		status = wait_child(pid, stop_sig);
	*reset = pid > 0 && status == VMM_EXIT_OK && read_reset(fds[0]);
	close(fds[0]);
	return status;
}

/* Whether the next boot may start after a reset; says why not. */
static bool may_restart(struct reboot_guard *g, unsigned next, int stop_sig)
{
	if (stop_sig) {
		log_info("reboot: the guest reset, and signal %d came: not starting it again",
			 stop_sig);
		return false;
	}
	if (!reboot_guard_allow(g, mono_ms())) {
		log_error("reboot: the guest reset %u times within %u s: a reset loop; stopping "
			  "(exit status %d)",
			  REBOOT_LOOP_MAX + 1, REBOOT_LOOP_WINDOW_MS / 1000, VMM_EXIT_ERROR);
		return false;
	}
	log_info("reboot: the guest reset: starting the firmware again (boot %u)", next);
	return true;
}

int reboot_supervise(reboot_boot_fn boot, void *opaque)
{
	struct reboot_guard guard = {0};
	sigset_t set, old_mask;
	int status, stop_sig = 0;
	bool reset;

	waited_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, &old_mask) < 0) {
		log_error("reboot: sigprocmask: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	for (unsigned n = 1;; n++) {
		status = run_child(boot, opaque, n, &old_mask, &reset, &stop_sig);
		if (!reset)
			break;
		if (!may_restart(&guard, n + 1, stop_sig)) {
			status = stop_sig ? 128 + stop_sig : VMM_EXIT_ERROR;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return status;
}
