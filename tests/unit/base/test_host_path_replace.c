/* host_path_replace_check() and host_path_replace_commit(): rule 7 of base/host_path.h. A file
 * written whole goes over a regular file or nothing; a FIFO, a socket, a directory, a symbolic
 * link or a device node at its target is refused and left exactly as it was, and the temporary
 * file is gone afterwards. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/host_path.h"

static char dir[] = "/tmp/host_path_replace.XXXXXX";
static char err[HOST_PATH_ERR_MAX];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(host_path_replace, .init = setup, .fini = teardown, .timeout = 10);

/* dir/name in one of two buffers, so two names can be held at once. */
static const char *in_dir(const char *name)
{
	static char p[2][128];
	static int n;
	char *s = p[n++ & 1];
	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void expect_text(const char *path, const char *text)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	cr_expect_str_eq(buf, text);
}

static void expect_absent(const char *path)
{
	struct stat st;
	cr_expect(lstat(path, &st) < 0 && errno == ENOENT, "%s is still there", path);
}

Test(host_path_replace, over_nothing)
{
	const char *path = in_dir("out"), *tmp = in_dir("out.tmp");
	write_file(tmp, "new");
	cr_expect_eq(host_path_replace_check(path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(host_path_replace_commit(tmp, path, err, sizeof(err)), 0, "%s", err);
	expect_text(path, "new");
	expect_absent(tmp);
}

Test(host_path_replace, over_a_regular_file)
{
	const char *path = in_dir("out"), *tmp = in_dir("out.tmp");
	write_file(path, "old");
	write_file(tmp, "new");
	cr_expect_eq(host_path_replace_check(path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(host_path_replace_commit(tmp, path, err, sizeof(err)), 0, "%s", err);
	expect_text(path, "new");
	expect_absent(tmp); /* the old file went with it */
}

/* `path` holds a node of kind `fmt` (made by the caller): both calls refuse it with `want` and a
 * message that names the path and `kind`; the node is the same inode afterwards, and the
 * temporary file is gone. */
static void expect_refused(const char *path, mode_t fmt, int want, const char *kind)
{
	const char *tmp = in_dir("out.tmp");
	struct stat before, after;

	cr_assert_eq(lstat(path, &before), 0);
	cr_assert_eq(before.st_mode & S_IFMT, fmt);
	err[0] = 0;
	cr_expect_eq(host_path_replace_check(path, err, sizeof(err)), want);
	cr_expect(strstr(err, path) && strstr(err, kind), "message: %s", err);

	write_file(tmp, "new");
	err[0] = 0;
	cr_expect_eq(host_path_replace_commit(tmp, path, err, sizeof(err)), want);
	cr_expect(strstr(err, path) && strstr(err, kind), "message: %s", err);
	cr_assert_eq(lstat(path, &after), 0, "%s is gone", path);
	cr_expect_eq(after.st_mode, before.st_mode, "%s changed kind", path);
	cr_expect_eq(after.st_ino, before.st_ino, "%s was replaced", path);
	cr_expect_eq(after.st_rdev, before.st_rdev);
	expect_absent(tmp);
}

Test(host_path_replace, refused_over_a_fifo)
{
	const char *path = in_dir("fifo");
	cr_assert_eq(mkfifo(path, 0600), 0);
	expect_refused(path, S_IFIFO, -EINVAL, "a FIFO");
}

Test(host_path_replace, refused_over_a_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = in_dir("sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(s, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(s, 1), 0);
	expect_refused(path, S_IFSOCK, -EINVAL, "a socket");
	close(s);
}

Test(host_path_replace, refused_over_a_directory)
{
	const char *path = in_dir("d");
	cr_assert_eq(mkdir(path, 0700), 0);
	write_file(in_dir("d/inside"), "kept");
	expect_refused(in_dir("d"), S_IFDIR, -EISDIR, "a directory");
	expect_text(in_dir("d/inside"), "kept");
}

Test(host_path_replace, refused_over_a_symbolic_link)
{
	char path[128], target[128];
	snprintf(path, sizeof(path), "%s", in_dir("link"));
	snprintf(target, sizeof(target), "%s", in_dir("target"));
	write_file(target, "target");
	cr_assert_eq(symlink(target, path), 0);
	expect_refused(path, S_IFLNK, -ELOOP, "symbolic link");
	expect_text(target, "target"); /* nothing written through it */
}

/* /dev/null's numbers, made here: the real /dev/null is never touched */
Test(host_path_replace, refused_over_a_character_device)
{
	const char *path = in_dir("null");
	if (geteuid() != 0)
		cr_skip_test("mknod needs root");
	if (mknod(path, S_IFCHR | 0600, makedev(1, 3)))
		cr_skip_test("mknod in %s: %s", dir, strerror(errno));
	expect_refused(path, S_IFCHR, -EINVAL, "a character device");
}

Test(host_path_replace, a_missing_folder_is_an_error_and_no_temporary_is_left)
{
	const char *path = in_dir("none/out"), *tmp = in_dir("out.tmp");
	cr_expect_eq(host_path_replace_check(path, err, sizeof(err)), 0); /* nothing there */
	write_file(tmp, "new");
	cr_expect_eq(host_path_replace_commit(tmp, path, err, sizeof(err)), -ENOENT);
	expect_absent(tmp);
}
