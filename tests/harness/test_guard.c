/* test_guard SECONDS COMMAND [ARG...]: runs one integration test (tests/harness/run_test.sh)
 * so that it ends by itself, within SECONDS (its CTest TIMEOUT), with every process it started.
 *
 * Under tools/kvm-in-qemu tests ran 10 minutes past their timeout. CTest ends a test by killing
 * its process tree, found by parent pid; a process that outlived its parent (a VMM or QEMU started
 * in the background by a script that was killed, the child of `timeout` or `setsid`) is no longer
 * in that tree, keeps running and, holding the output pipe, can keep CTest waiting. So:
 *   - the guard is a child subreaper (PR_SET_CHILD_SUBREAPER): every orphan of the test becomes
 *     its child, whatever process group or session it made for itself;
 *   - SECONDS less a margin (5 %, 2 to 15 s) after the start, a test still running fails: the
 *     guard prints "FAIL: harness: ..." with every process of the test still there (what held it),
 *     sends them SIGTERM (the script's EXIT trap cleans up), then SIGKILL after a grace, and exits
 *     with status 1, all before CTest's own timeout;
 *   - when the test ends, whatever it left running is killed the same way (named on stderr), and
 *     the guard exits with the test's status (128 + N when a signal N ended it);
 *   - the CPU time of the whole tree (getrusage(RUSAGE_CHILDREN): every process reaped under the
 *     guard, the orphans it reaped itself included; a VMM's guest kernel code emulated by kvm_pvm
 *     counts as that VMM's system time) goes to $VMM_CPU_DIR/<$VMM_TEST_NAME> as "USER SYSTEM"
 *     seconds, which tools/test_summary.sh adds to its table: on a host whose CPUs are the limit
 *     it says where the suite's time goes better than the wall clock of a test that ran beside
 *     another.
 * SIGTERM, SIGINT and SIGHUP sent to the guard are passed on to the test. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 65536

struct proc {
	pid_t pid, ppid;
	char state;
};

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Every process of the host: pid, parent and state from /proc/PID/stat. */
static int scan(struct proc *p, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char path[64], buf[512];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		char *close_paren = strrchr(buf, ')'); /* the command name may hold anything */
		int ppid;
		char state;
		if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2)
			p[n++] = (struct proc){pid, (pid_t)ppid, state};
	}
	closedir(d);
	return n;
}

/* Keeps the descendants of `root` in p[0..n) and returns how many there are. */
static int descendants(struct proc *p, int n, pid_t root)
{
	bool *in = calloc((size_t)n, sizeof(bool));
	int kept = 0;
	if (!in)
		return 0;
	for (bool grew = true; grew;) {
		grew = false;
		for (int i = 0; i < n; i++) {
			if (in[i])
				continue;
			bool parent_in = p[i].ppid == root;
			for (int j = 0; j < n && !parent_in; j++)
				parent_in = in[j] && p[j].pid == p[i].ppid;
			if (parent_in)
				in[i] = grew = true;
		}
	}
	for (int i = 0; i < n; i++)
		if (in[i])
			p[kept++] = p[i];
	free(in);
	return kept;
}

static void describe(FILE *out, const struct proc *p)
{
	char path[64], cmd[200] = "";
	snprintf(path, sizeof(path), "/proc/%d/cmdline", p->pid);
	FILE *f = fopen(path, "r");
	size_t len = 0;
	if (f) {
		len = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
	}
	for (size_t i = 0; i + 1 < len; i++)
		cmd[i] = cmd[i] ? cmd[i] : ' ';
	cmd[len] = 0;
	fprintf(out, "    pid %d (state %c): %s\n", p->pid, p->state, cmd);
}

static void reap(pid_t child, int *status, bool *child_done)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == child) {
			*status = st;
			*child_done = true;
		}
	}
}

/* SIGTERM to every process of the test, SIGKILL to those left after `grace_ms`; gives up on
 * any that SIGKILL has not ended 3 s later (stuck in the kernel), naming them. */
static void end_all(struct proc *p, pid_t child, int *status, bool *child_done, int grace_ms)
{
	int n = descendants(p, scan(p, MAX_PROCS), getpid());
	for (int i = 0; i < n; i++)
		kill(p[i].pid, SIGTERM);
	long long end = now_ms() + grace_ms, hard_end = end + 3000;
	bool killed = false;
	for (;;) {
		reap(child, status, child_done);
		n = descendants(p, scan(p, MAX_PROCS), getpid());
		bool alive = false;
		for (int i = 0; i < n; i++)
			alive = alive || p[i].state != 'Z';
		if (!alive)
			break;
		if (!killed && now_ms() >= end) {
			for (int i = 0; i < n; i++)
				kill(p[i].pid, SIGKILL);
			killed = true;
		}
		if (now_ms() >= hard_end) {
			fprintf(stderr,
				"harness: still there after SIGKILL (stuck in the kernel):\n");
			for (int i = 0; i < n; i++)
				describe(stderr, &p[i]);
			break;
		}
		usleep(50000);
	}
	reap(child, status, child_done);
}

/* The CPU seconds of every process reaped so far to $VMM_CPU_DIR/<$VMM_TEST_NAME> ("/" in the
 * name as "_"), when both are set. */
static void record_cpu(void)
{
	const char *dir = getenv("VMM_CPU_DIR"), *name = getenv("VMM_TEST_NAME");
	struct rusage ru;
	char path[512], file[256];
	if (!dir || !name || !*dir || !*name || getrusage(RUSAGE_CHILDREN, &ru) < 0)
		return;
	snprintf(file, sizeof(file), "%s", name);
	for (char *c = file; *c; c++)
		*c = *c == '/' ? '_' : *c;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return;
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "%ld.%02ld %ld.%02ld\n", (long)ru.ru_utime.tv_sec,
		(long)ru.ru_utime.tv_usec / 10000, (long)ru.ru_stime.tv_sec,
		(long)ru.ru_stime.tv_usec / 10000);
	fclose(f);
}

/* The number of its processes still running, described on `out` under `title`. */
static int report(FILE *out, struct proc *p, const char *title)
{
	int n = descendants(p, scan(p, MAX_PROCS), getpid()), alive = 0;
	for (int i = 0; i < n; i++)
		alive += p[i].state != 'Z';
	if (!alive)
		return 0;
	fprintf(out, "%s\n", title);
	for (int i = 0; i < n; i++)
		if (p[i].state != 'Z')
			describe(out, &p[i]);
	fflush(out);
	return alive;
}

int main(int argc, char **argv)
{
	if (argc < 3 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: test_guard SECONDS COMMAND [ARG...]\n");
		return 2;
	}
	int timeout_s = atoi(argv[1]);
	int margin_ms = timeout_s * 50; /* 5 % */
	margin_ms = margin_ms < 2000 ? 2000 : margin_ms > 15000 ? 15000 : margin_ms;
	int grace_ms = margin_ms / 3;
	long long deadline = now_ms() + (long long)timeout_s * 1000 - margin_ms;
	struct proc *p = calloc(MAX_PROCS, sizeof(*p));
	sigset_t set;

	if (!p || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("test_guard");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t child = fork();
	if (child < 0) {
		perror("test_guard: fork");
		return 2;
	}
	if (child == 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status = 0;
	bool child_done = false, timed_out = false;
	while (!child_done) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct timespec ts = {left / 1000, (left % 1000) * 1000000};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGCHLD)
			reap(child, &status, &child_done);
		else if (sig > 0)
			kill(child, sig);
	}
	if (timed_out) {
		char title[160];
		snprintf(title, sizeof(title),
			 "FAIL: harness: the test did not end within %d s (its timeout %d s less "
			 "%d s): its processes still running:",
			 timeout_s - margin_ms / 1000, timeout_s, margin_ms / 1000);
		report(stdout, p, title);
		end_all(p, child, &status, &child_done, grace_ms);
		record_cpu();
		return 1;
	}
	if (report(stderr, p, "harness: the test left these running; ended now:"))
		end_all(p, child, &status, &child_done, grace_ms);
	record_cpu();
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
