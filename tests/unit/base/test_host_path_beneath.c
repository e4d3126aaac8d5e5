/* Rule 6 of base/host_path.h: host_path_open_beneath() and the confined folders. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/host_path.h"

static char top[] = "/tmp/host_path_beneath.XXXXXX";
static char err[HOST_PATH_ERR_MAX];
static char snap[256], outside[256];

/* top/snap: the folder; top/outside: a file with "secret" that must never be opened. */
static void setup(void)
{
	cr_assert_not_null(mkdtemp(top));
	snprintf(snap, sizeof(snap), "%s/snap", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	cr_assert_eq(mkdir(snap, 0700), 0);
	FILE *f = fopen(outside, "w");
	cr_assert_not_null(f);
	fputs("secret", f);
	fclose(f);
	cr_assert_eq(host_path_init(), 0);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	host_path_unconfine_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	cr_expect_eq(system(cmd), 0);
}

static const char *in_snap(const char *name)
{
	static char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", snap, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The first bytes of fd as a string (the file's identity in these tests). */
static const char *contents(int fd)
{
	static char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

TestSuite(host_path_beneath, .init = setup, .fini = teardown, .timeout = 20);

Test(host_path_beneath, a_file_and_a_nested_file_open)
{
	cr_assert_eq(mkdir(in_snap("d"), 0700), 0);
	write_file(in_snap("d/disk.img"), "disk");
	int fd = host_path_open_beneath(snap, "d/disk.img", O_RDONLY, 0, HOST_PATH_REGULAR, err,
					sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_str_eq(contents(fd), "disk");
	cr_expect_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* an absolute name beneath the folder is taken too */
	fd = host_path_open_beneath(snap, in_snap("d/disk.img"), O_RDONLY, 0, HOST_PATH_REGULAR,
				    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
}

Test(host_path_beneath, a_link_at_the_last_component_is_refused)
{
	cr_assert_eq(symlink(outside, in_snap("console.txt")), 0);
	int fd = host_path_open_beneath(snap, "console.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600,
					HOST_PATH_REGULAR, err, sizeof(err));
	cr_expect_eq(fd, -ELOOP);
	cr_expect(strstr(err, "a symbolic link inside"), "%s", err);
	int o = open(outside, O_RDONLY);
	cr_expect_str_eq(contents(o), "secret", "the link's target was not truncated");
	close(o);
}

Test(host_path_beneath, a_link_at_a_middle_component_is_refused)
{
	cr_assert_eq(symlink(top, in_snap("up")), 0);
	cr_expect_eq(host_path_open_beneath(snap, "up/outside", O_RDONLY, 0, HOST_PATH_REGULAR, err,
					    sizeof(err)),
		     -ELOOP);
	/* a link that stays inside the folder is refused as well: links are not followed */
	cr_assert_eq(mkdir(in_snap("real"), 0700), 0);
	write_file(in_snap("real/f"), "inside");
	cr_assert_eq(symlink("real", in_snap("alias")), 0);
	cr_expect_eq(host_path_open_beneath(snap, "alias/f", O_RDONLY, 0, HOST_PATH_REGULAR, err,
					    sizeof(err)),
		     -ELOOP);
}

Test(host_path_beneath, dot_dot_and_outside_absolute_names_are_refused)
{
	cr_expect_eq(host_path_open_beneath(snap, "../outside", O_RDONLY, 0, HOST_PATH_REGULAR, err,
					    sizeof(err)),
		     -EXDEV);
	cr_expect(strstr(err, "leaves the folder"), "%s", err);
	cr_expect_eq(
	    host_path_open_beneath(snap, outside, O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EXDEV);
	cr_expect(strstr(err, "not beneath the folder"), "%s", err);
	cr_expect_eq(host_path_open_beneath(snap, "/etc/passwd", O_RDONLY, 0, HOST_PATH_REGULAR,
					    err, sizeof(err)),
		     -EXDEV);
}

Test(host_path_beneath, node_kinds_are_refused_by_name_before_any_open)
{
	cr_assert_eq(mkfifo(in_snap("fifo"), 0600), 0);
	cr_expect_eq(
	    host_path_open_beneath(snap, "fifo", O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EINVAL);
	cr_expect(strstr(err, "not a regular file (a FIFO)"), "%s", err);
	cr_assert_eq(mkdir(in_snap("dir"), 0700), 0);
	cr_expect_eq(
	    host_path_open_beneath(snap, "dir", O_WRONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EISDIR);

	struct sockaddr_un a = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(in_snap("sock")), sizeof(a.sun_path));
	memcpy(a.sun_path, in_snap("sock"), strlen(in_snap("sock")));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_expect_eq(
	    host_path_open_beneath(snap, "sock", O_RDWR, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EINVAL);
	cr_expect(strstr(err, "(a socket)"), "%s", err);
	close(s);

	if (geteuid() == 0 && mknod(in_snap("null"), S_IFCHR | 0600, makedev(1, 3)) == 0) {
		cr_expect_eq(host_path_open_beneath(snap, "null", O_WRONLY, 0, HOST_PATH_REGULAR,
						    err, sizeof(err)),
			     -EINVAL);
		cr_expect(strstr(err, "(a character device)"), "%s", err);
	}
}

Test(host_path_beneath, a_new_file_is_created_beneath_and_a_dangling_link_is_not_followed)
{
	int fd = host_path_open_beneath(snap, "new", O_WRONLY | O_CREAT | O_EXCL, 0600,
					HOST_PATH_REGULAR, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/created-by-link", top);
	cr_assert_eq(symlink(target, in_snap("dangling")), 0);
	cr_expect_lt(host_path_open_beneath(snap, "dangling", O_WRONLY | O_CREAT, 0600,
					    HOST_PATH_REGULAR, err, sizeof(err)),
		     0);
	cr_expect_neq(access(target, F_OK), 0, "nothing was created through the link");
}

Test(host_path_beneath, host_path_open_resolves_beneath_a_confined_folder)
{
	write_file(in_snap("disk.img"), "disk");
	cr_assert_eq(symlink(outside, in_snap("memory")), 0);
	/* before: the operator's own open follows the link */
	int fd =
	    host_path_open(in_snap("memory"), O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(host_path_confine(snap, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(
	    host_path_open(in_snap("memory"), O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -ELOOP);
	cr_expect(strstr(err, "a symbolic link inside"), "%s", err);
	fd = host_path_open(in_snap("disk.img"), O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_str_eq(contents(fd), "disk");
	close(fd);
	/* a path outside the confined folder is the operator's, taken as before */
	fd = host_path_open(outside, O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	host_path_unconfine_all();
	fd = host_path_open(in_snap("memory"), O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
	cr_expect_geq(fd, 0, "unconfined again: %s", err);
	if (fd >= 0)
		close(fd);
}

Test(host_path_beneath, confine_refuses_what_is_no_folder)
{
	cr_expect_eq(host_path_confine(outside, err, sizeof(err)), -ENOTDIR);
	cr_expect_eq(host_path_confine("/tmp/../tmp", err, sizeof(err)), -EINVAL);
	for (int i = 0; i < HOST_PATH_MAX_CONFINED; i++) {
		char d[PATH_MAX + 8];
		snprintf(d, sizeof(d), "%s/c%d", top, i);
		cr_assert_eq(mkdir(d, 0700), 0);
		cr_expect_eq(host_path_confine(d, err, sizeof(err)), 0, "%s", err);
	}
	cr_expect_eq(host_path_confine(snap, err, sizeof(err)), -ENOSPC);
}

/* A folder swapped for a link between any check and the open: a thread renames a real folder
 * and a link to the outside in and out of place while the other opens through it. */
static atomic_bool stop;

static void *swapper(void *arg)
{
	(void)arg;
	char real[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX];
	snprintf(real, sizeof(real), "%s/d.real", snap);
	snprintf(link, sizeof(link), "%s/d.link", snap);
	snprintf(tmp, sizeof(tmp), "%s/d", snap);
	while (!atomic_load(&stop)) {
		rename(real, tmp);
		rename(tmp, real);
		rename(link, tmp);
		rename(tmp, link);
	}
	return NULL;
}

Test(host_path_beneath, a_folder_swapped_for_a_link_during_the_open_is_never_followed)
{
	char f[PATH_MAX + 16];
	cr_assert_eq(mkdir(in_snap("d.real"), 0700), 0);
	write_file(in_snap("d.real/outside"), "inside");
	cr_assert_eq(symlink(top, in_snap("d.link")), 0);
	snprintf(f, sizeof(f), "%s", in_snap("d/outside"));
	cr_assert_eq(host_path_confine(snap, err, sizeof(err)), 0, "%s", err);

	pthread_t t;
	atomic_store(&stop, false);
	cr_assert_eq(pthread_create(&t, NULL, swapper, NULL), 0);
	int opened = 0, secret = 0;
	for (int i = 0; i < 20000; i++) {
		int fd = host_path_open(f, O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
		if (fd < 0)
			continue;
		opened++;
		secret += !strcmp(contents(fd), "secret");
		close(fd);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	cr_expect_eq(secret, 0, "the file outside was opened %d times", secret);
	cr_log_info("opened the inside file %d of 20000 times, the outside one %d", opened, secret);
}
