/* The opener (host/sandbox/opener.c): without one a call runs on the caller; with one it runs
 * on the opener's own thread, which keeps no capability, and a file it creates for a thread
 * that Landlock confines comes back as a descriptor that thread writes through. The sandbox is
 * turned on (sandbox_init) in a forked child only: it cannot be turned off again. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/host_path.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/opener.h"
#include "host/sandbox/sandbox.h"

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int where(void *arg)
{
	*(pid_t *)arg = tid();
	return 5;
}

Test(opener, without_one_a_call_runs_on_the_caller)
{
	pid_t t = 0;
	char err[HOST_PATH_ERR_MAX];
	cr_expect(sandbox_opener_here());
	cr_expect_eq(sandbox_opener_start(), 0); /* no sandbox_init(): no thread */
	cr_expect_eq(sandbox_opener_run(where, &t), 5);
	cr_expect_eq(t, tid());
	int fd = sandbox_opener_open("/proc/self/status", O_RDONLY, 0, HOST_PATH_REGULAR, err,
				     sizeof(err));
	cr_expect_eq(fd, -EACCES, "host_path_open()'s rules hold: %d", fd);
	sandbox_opener_stop();
}

/* The calling thread's effective capabilities. */
static uint64_t cap_eff(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	if (syscall(SYS_capget, &hdr, data))
		return ~0ull;
	return data[0].effective | (uint64_t)data[1].effective << 32;
}

static int caps_of(void *arg)
{
	*(uint64_t *)arg = cap_eff();
	return 0;
}

/* Exit codes of the child: 0 all held, else the number of the check that failed. */
static int opener_child(const char *dir)
{
	char err[HOST_PATH_ERR_MAX], path[512];
	pid_t t = 0;
	uint64_t caps = 1;

	if (sandbox_init(SANDBOX_OFF) || sandbox_opener_start())
		return 1;
	if (sandbox_opener_here() || sandbox_opener_run(where, &t) != 5 || t == tid())
		return 2; /* on a thread of its own */
	if (sandbox_opener_run(caps_of, &caps) || caps)
		return 3; /* no capability at all */
	/* this thread under a Landlock set that allows nothing: it cannot create the file... */
	int abi = landlock_abi();
	if (abi >= 1) {
		int rs = landlock_ruleset_build(NULL, 0, abi);
		if (rs < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || landlock_restrict(rs))
			return 4;
	}
	snprintf(path, sizeof(path), "%s/made", dir);
	if (abi >= 1 && open(path, O_WRONLY | O_CREAT, 0600) != -1)
		return 5;
	/* ...the opener can, and this thread writes through the descriptor */
	int fd = sandbox_opener_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600, HOST_PATH_REGULAR,
				     err, sizeof(err));
	if (fd < 0 || write(fd, "x", 1) != 1)
		return 6;
	close(fd);
	sandbox_opener_stop();
	return sandbox_opener_here() ? 0 : 7;
}

Test(opener, creates_for_a_confined_thread)
{
	char dir[] = "/tmp/vmm-opener-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(opener_child(dir));
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "check %d failed",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/made", dir);
	cr_expect(stat(path, &st) == 0 && st.st_size == 1, "the opener's file was written");
	unlink(path);
	rmdir(dir);
}
