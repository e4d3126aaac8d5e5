/* host_path_open(): the rules every path from outside is opened under. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"

static char dir[] = "/tmp/host_path.XXXXXX";
static char err[256];

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

static const char *in_dir(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

TestSuite(host_path, .init = setup, .fini = teardown, .timeout = 10);

Test(host_path, regular_file_opens_blocking_and_cloexec)
{
	int fd = host_path_open(in_dir("f"), O_WRONLY | O_CREAT | O_EXCL, 0600, HOST_PATH_REGULAR,
				err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_WRONLY);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

Test(host_path, fifo_is_refused_at_once_for_reading_and_writing)
{
	const char *p = in_dir("fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_expect_eq(host_path_open(p, O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "fifo: not a regular file (a FIFO)"), "%s", err);
	cr_expect_eq(host_path_open(p, O_WRONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, p), "%s", err);
	cr_expect_lt(
	    host_path_open(p, O_RDWR, 0, HOST_PATH_REGULAR | HOST_PATH_BLOCK, err, sizeof(err)), 0);
}

Test(host_path, proc_and_sys_are_refused)
{
	cr_expect_eq(
	    host_path_open("/proc/self/mem", O_RDWR, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EACCES);
	cr_expect(strstr(err, "/proc"), "%s", err);
	cr_expect_eq(
	    host_path_open("/proc/self/environ", O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EACCES);
	cr_expect_eq(host_path_open("/sys/kernel/uevent_seqnum", O_RDONLY, 0, HOST_PATH_REGULAR,
				    err, sizeof(err)),
		     -EACCES);
}

Test(host_path, proc_through_a_symlink_is_refused)
{
	const char *p = in_dir("mem");
	cr_assert_eq(symlink("/proc/self/mem", p), 0);
	cr_expect_eq(host_path_open(p, O_RDWR, 0, HOST_PATH_REGULAR, err, sizeof(err)), -EACCES);
	cr_expect_eq(host_path_open(p, O_RDWR | O_NOFOLLOW, 0, HOST_PATH_REGULAR, err, sizeof(err)),
		     -ELOOP);
	cr_expect(strstr(err, "symbolic link"), "%s", err);
}

Test(host_path, character_devices_and_directories_are_refused)
{
	cr_expect_eq(host_path_open("/dev/null", O_WRONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "a character device"), "%s", err);
	cr_expect_eq(
	    host_path_open(dir, O_RDONLY, 0, HOST_PATH_REGULAR | HOST_PATH_BLOCK, err, sizeof(err)),
	    -EINVAL);
	cr_expect(strstr(err, "not a regular file or a block device (a directory)"), "%s", err);
	cr_expect_eq(host_path_open(dir, O_RDWR, 0, HOST_PATH_REGULAR, err, sizeof(err)), -EISDIR);
	int fd = host_path_open(dir, O_RDONLY, 0, HOST_PATH_DIR, err, sizeof(err));
	cr_expect_geq(fd, 0, "%s", err);
	close(fd);
}

Test(host_path, bad_arguments)
{
	cr_expect_eq(host_path_open("", O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)), -EINVAL);
	cr_expect_eq(
	    host_path_open(in_dir("x"), O_RDONLY | O_PATH, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -EINVAL);
	cr_expect_eq(
	    host_path_open(in_dir("missing"), O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err)),
	    -ENOENT);
	cr_expect(strstr(err, "No such file"), "%s", err);
}

/* A log or metrics sink may be a FIFO: opened at once without a reader (read-write, as
 * Firecracker does), left non-blocking; a regular file the same use gets is write-only. */
Test(host_path, fifo_sink_opens_without_a_reader_and_stays_nonblocking)
{
	const char *p = in_dir("sink");
	cr_assert_eq(mkfifo(p, 0600), 0);
	int fd = host_path_open(p, O_WRONLY | O_APPEND, 0, HOST_PATH_REGULAR | HOST_PATH_FIFO, err,
				sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_expect_eq(write(fd, "x\n", 2), 2);
	close(fd);
	fd = host_path_open(in_dir("log"), O_WRONLY | O_CREAT, 0600,
			    HOST_PATH_REGULAR | HOST_PATH_FIFO, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
	close(fd);
}

/* A character device is refused by its name, before open() (a watchdog starts when opened). */
Test(host_path, character_device_is_refused_before_it_is_opened)
{
	cr_expect_eq(host_path_open("/dev/zero", O_RDONLY, 0, HOST_PATH_REGULAR | HOST_PATH_FIFO,
				    err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "/dev/zero: not a regular file or a FIFO (a character device)"), "%s",
		  err);
}

Test(host_path, read_whole_file_with_a_limit)
{
	char *buf;
	size_t len;
	FILE *f = fopen(in_dir("cfg"), "w");
	cr_assert_not_null(f);
	fputs("{\"a\": 1}", f);
	fclose(f);
	cr_assert_eq(host_path_read(in_dir("cfg"), 100, &buf, &len, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(len, 8);
	cr_expect_str_eq(buf, "{\"a\": 1}");
	free(buf);
	cr_expect_eq(host_path_read(in_dir("cfg"), 7, &buf, &len, err, sizeof(err)), -EFBIG);
	cr_expect(strstr(err, "larger than 7 bytes"), "%s", err);
	cr_expect_null(buf);
	cr_assert_eq(mkfifo(in_dir("ff"), 0600), 0);
	cr_expect_eq(host_path_read(in_dir("ff"), 100, &buf, &len, err, sizeof(err)), -EINVAL);
	cr_expect_eq(host_path_read("/proc/self/environ", 1 << 20, &buf, &len, err, sizeof(err)),
		     -EACCES);
}
