/* A firmware VM's reboot (vmm/vm/reboot.h): a boot that ends in a reset is followed by another
 * in a new process, any other end is the VMM's status, a stop signal is passed on and ends the
 * reboots, and a reset loop is stopped by the guard. The boots here are the test's own
 * functions in the children; each child also writes its boot number on `seen`, so the test
 * knows which boots ran. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/vm_control.h"
#include "vmm/vm/reboot.h"

static int seen[2]; /* a pipe: one byte per boot, its number */

static void setup(void)
{
	cr_assert_eq(pipe2(seen, O_NONBLOCK), 0);
}

TestSuite(reboot, .init = setup);

/* The boot numbers the children wrote, as a string ("\1\2\3"). */
static const char *boots_seen(void)
{
	static char b[64];
	ssize_t n = read(seen[0], b, sizeof(b) - 1);
	b[n > 0 ? n : 0] = 0;
	return b;
}

static void note_boot(unsigned boot)
{
	char c = (char)boot;
	cr_assert_eq(write(seen[1], &c, 1), 1);
}

Test(reboot, guard_allows_the_max_within_the_window_then_refuses)
{
	struct reboot_guard g = {0};
	for (unsigned i = 0; i < REBOOT_LOOP_MAX; i++)
		cr_assert(reboot_guard_allow(&g, 1000 + i), "restart %u refused", i + 1);
	cr_assert_not(reboot_guard_allow(&g, 1000 + REBOOT_LOOP_MAX));
	cr_assert_not(reboot_guard_allow(&g, 1000 + REBOOT_LOOP_WINDOW_MS - 1),
		      "the window's last millisecond: the first restart is still in it");
	cr_assert(reboot_guard_allow(&g, 1000 + REBOOT_LOOP_WINDOW_MS),
		  "the first restart has left the window");
	cr_assert_eq(g.n, REBOOT_LOOP_MAX + 1);
}

Test(reboot, guard_allows_slow_resets_forever)
{
	struct reboot_guard g = {0};
	uint64_t every = REBOOT_LOOP_WINDOW_MS / (REBOOT_LOOP_MAX - 1);
	for (unsigned i = 0; i < 5 * REBOOT_LOOP_MAX; i++)
		cr_assert(reboot_guard_allow(&g, 5000 + i * every), "restart %u refused", i + 1);
}

/* Boot 1 and 2 reset, boot 3 ends with 40 + its number. */
static int resets_twice(void *opaque, unsigned boot, int reset_fd)
{
	(void)opaque;
	note_boot(boot);
	if (boot < 3) {
		reboot_tell_reset(reset_fd);
		_exit(VMM_EXIT_OK);
	}
	_exit(40 + (int)boot);
}

Test(reboot, a_reset_boots_again_until_another_end)
{
	cr_assert_eq(reboot_supervise(resets_twice, NULL), 43);
	cr_assert_str_eq(boots_seen(), "\1\2\3");
}

/* Ends with `*opaque` at boot 1, no reset; boot 2 would say so. */
static int ends(void *opaque, unsigned boot, int reset_fd)
{
	(void)reset_fd;
	note_boot(boot);
	_exit(boot == 1 ? *(int *)opaque : 99);
}

Test(reboot, a_power_off_ends_the_vmm_with_0)
{
	int status = VMM_EXIT_OK;
	cr_assert_eq(reboot_supervise(ends, &status), VMM_EXIT_OK);
	cr_assert_str_eq(boots_seen(), "\1");
}

Test(reboot, a_failed_boot_ends_the_vmm_with_its_status)
{
	int status = VMM_EXIT_USAGE;
	cr_assert_eq(reboot_supervise(ends, &status), VMM_EXIT_USAGE);
	cr_assert_str_eq(boots_seen(), "\1");
}

/* Says it reset, but ends with 1: not a reset. */
static int reset_then_fails(void *opaque, unsigned boot, int reset_fd)
{
	(void)opaque;
	note_boot(boot);
	reboot_tell_reset(reset_fd);
	_exit(boot == 1 ? VMM_EXIT_ERROR : 99);
}

Test(reboot, a_reset_with_a_failure_status_is_no_reset)
{
	cr_assert_eq(reboot_supervise(reset_then_fails, NULL), VMM_EXIT_ERROR);
	cr_assert_str_eq(boots_seen(), "\1");
}

static int always_resets(void *opaque, unsigned boot, int reset_fd)
{
	(void)opaque;
	note_boot(boot);
	reboot_tell_reset(reset_fd);
	_exit(VMM_EXIT_OK);
}

Test(reboot, a_reset_loop_is_stopped)
{
	cr_assert_eq(reboot_supervise(always_resets, NULL), VMM_EXIT_ERROR);
	const char *b = boots_seen();
	cr_assert_eq(strlen(b), REBOOT_LOOP_MAX + 1, "%zu boots, want the first and %u restarts",
		     strlen(b), REBOOT_LOOP_MAX);
}

static int killed(void *opaque, unsigned boot, int reset_fd)
{
	(void)opaque;
	(void)reset_fd;
	note_boot(boot);
	raise(SIGKILL);
	_exit(99);
}

Test(reboot, a_child_a_signal_ended_is_128_plus_it)
{
	cr_assert_eq(reboot_supervise(killed, NULL), 128 + SIGKILL);
	cr_assert_str_eq(boots_seen(), "\1");
}

/* Sends SIGTERM to the supervisor, which passes it on: the child ends on it. */
static int stopped(void *opaque, unsigned boot, int reset_fd)
{
	(void)opaque;
	(void)reset_fd;
	note_boot(boot);
	kill(getppid(), SIGTERM);
	sleep(30); /* ended by the SIGTERM passed on */
	_exit(99);
}

Test(reboot, a_stop_signal_reaches_the_child)
{
	cr_assert_eq(reboot_supervise(stopped, NULL), 128 + SIGTERM);
	cr_assert_str_eq(boots_seen(), "\1");
}

/* Resets while a SIGTERM is on its way (blocked here until the reset is told): no boot 2. */
static int reset_and_stopped(void *opaque, unsigned boot, int reset_fd)
{
	sigset_t term;
	struct timespec wait = {0, 200 * 1000 * 1000};
	(void)opaque;
	note_boot(boot);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	reboot_tell_reset(reset_fd);
	kill(getppid(), SIGTERM);
	nanosleep(&wait, NULL); /* the supervisor passes it on; blocked here */
	_exit(VMM_EXIT_OK);
}

Test(reboot, no_boot_follows_a_stop_signal)
{
	cr_assert_eq(reboot_supervise(reset_and_stopped, NULL), 128 + SIGTERM);
	cr_assert_str_eq(boots_seen(), "\1");
}
