/* The devices' checks of what the options name on the host (device_desc.check,
 * device_table_check()), run before KVM is opened: each problem of the user's is an error of its
 * own class (base/errors.h), and a good configuration passes. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/device_table.h"

static char dir[64];

static void setup(void)
{
	cr_redirect_stderr();
	cr_redirect_stdout();
	snprintf(dir, sizeof(dir), "/tmp/device_check.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(device_check, .init = setup, .fini = teardown);

/* dir/name, created with `size` bytes and `mode` when size >= 0. */
static char *file(const char *name, off_t size, mode_t mode)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	if (size >= 0) {
		int fd = open(p, O_CREAT | O_WRONLY, mode);
		cr_assert_geq(fd, 0);
		cr_assert_eq(ftruncate(fd, size), 0);
		cr_assert_eq(fchmod(fd, mode), 0);
		close(fd);
	}
	return p;
}

/* Parses the command line "-k k OPT ARG [OPT ARG]" and runs every device's check. */
static int check(const char *o1, const char *a1, const char *o2, const char *a2)
{
	char *argv[] = {"vmm", "-k", "k", (char *)o1, (char *)a1, (char *)o2, (char *)a2, NULL};
	int argc = o2 ? 7 : 5;
	struct vm_config cfg;
	cr_assert_eq(cli_parse(argc, argv, &cfg), CLI_RUN);
	int r = device_table_check(&cfg);
	cli_free(&cfg);
	return r;
}

Test(device_check, good_disks_pass)
{
	char a[160], b[160];
	snprintf(a, sizeof(a), "%s", file("a.img", 1 << 20, 0644));
	snprintf(b, sizeof(b), "%s", file("b.img", 1 << 20, 0644));
	cr_assert_eq(check("--disk", a, "--disk", b), 0);
}

Test(device_check, missing_disk)
{
	cr_assert_eq(check("--disk", file("none.img", -1, 0), NULL, NULL), -ENOENT);
}

Test(device_check, read_only_file_needs_ro)
{
	char spec[200];
	const char *p = file("ro.img", 1 << 20, 0444);
	cr_assert_eq(check("--disk", p, NULL, NULL), -EACCES);
	snprintf(spec, sizeof(spec), "%s,ro", p);
	cr_assert_eq(check("--disk", spec, NULL, NULL), 0);
}

Test(device_check, same_file_twice)
{
	char p[160], ro[200];
	snprintf(p, sizeof(p), "%s", file("a.img", 1 << 20, 0644));
	snprintf(ro, sizeof(ro), "%s,ro", p);
	cr_assert_eq(check("--disk", p, "--disk", p), -EINVAL);
	cr_assert_eq(check("--disk", p, "--disk", ro), -EINVAL, "a writer under a reader");
	cr_assert_eq(check("--disk", ro, "--disk", ro), 0, "two readers");
}

Test(device_check, locked_disk_is_busy)
{
	const char *p = file("locked.img", 1 << 20, 0644);
	int fd = open(p, O_RDONLY);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	cr_assert_eq(check("--disk", p, NULL, NULL), -EBUSY);
	close(fd);
	cr_assert_eq(check("--disk", p, NULL, NULL), 0, "the check left no lock behind");
}

Test(device_check, disk_must_be_file_or_block_device)
{
	cr_assert_eq(check("--disk", "/dev/null", NULL, NULL), -EINVAL);
}

Test(device_check, console_file_directory)
{
	char spec[200];
	snprintf(spec, sizeof(spec), "file:%s", file("nodir/out", -1, 0));
	cr_assert_eq(check("--console", spec, NULL, NULL), -ENOENT);
	snprintf(spec, sizeof(spec), "file:%s", file("out", -1, 0));
	cr_assert_eq(check("--console", spec, NULL, NULL), 0);
}

Test(device_check, screenshot_directory_and_input_script)
{
	cr_assert_eq(check("--screenshot", file("nodir/s.png", -1, 0), NULL, NULL), -ENOENT);
	cr_assert_eq(check("--screenshot", file("s.png", -1, 0), NULL, NULL), 0);
	cr_assert_eq(check("--input-script", file("none.txt", -1, 0), NULL, NULL), -ENOENT);
	cr_assert_eq(check("--input-script", file("in.txt", 0, 0644), NULL, NULL), 0);
}

Test(device_check, tapfd_must_be_a_tap)
{
	cr_assert_eq(check("--net", "tapfd=99", NULL, NULL), -ENODEV);
	cr_assert_eq(check("--net", "tapfd=0", NULL, NULL), -ENODEV, "stdin is no tap");
	cr_assert_eq(check("--net", "user", NULL, NULL), 0);
}

/* One drive's file, as the API checks it at PUT /drives: the same open, mode and lock as --disk,
 * and the logged line (the API's fault_message) names the path. */
Test(device_check, one_disk_file)
{
	char good[160], ro_file[160], fifo[160];
	snprintf(good, sizeof(good), "%s", file("good.img", 1 << 20, 0644));
	snprintf(ro_file, sizeof(ro_file), "%s", file("ro.img", 1 << 20, 0444));
	snprintf(fifo, sizeof(fifo), "%s", file("fifo", -1, 0));
	cr_assert_eq(mkfifo(fifo, 0600), 0);

	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = good}), 0);
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = good, .ro = true}), 0);
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = ro_file}), -EACCES);
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = ro_file, .ro = true}),
		     0);
	log_clear_last_error();
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = dir}), -EISDIR);
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = dir, .ro = true}),
		     -EINVAL);
	cr_assert(strstr(log_last_error(), dir), "%s", log_last_error());
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = fifo, .ro = true}),
		     -EINVAL, "a FIFO is refused, without waiting for a writer");
	log_clear_last_error();
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = file("none", -1, 0)}),
		     -ENOENT);
	cr_assert(strstr(log_last_error(), "none: No such file"), "%s", log_last_error());
	/* host_path_open() (docs/security.md, "Paths from outside"): no file of /proc as a disk */
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = "/proc/self/mem"}),
		     -EACCES);
	cr_assert(strstr(log_last_error(), "/proc/self/mem: on /proc"), "%s", log_last_error());

	int fd = open(good, O_RDONLY);
	cr_assert_eq(flock(fd, LOCK_SH), 0); /* another VMM reading it */
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = good}), -EBUSY);
	cr_assert_eq(dev_disk_check_file(&(struct virtio_blk_opts){.path = good, .ro = true}), 0);
	close(fd);
}

/* A vhost-user back-end sees only boot RAM (its memory table): --fs with --memory-hotplug is
 * refused before the VM exists. */
Test(device_check, fs_with_memory_hotplug_is_refused)
{
	char sock[100], arg[200];
	snprintf(sock, sizeof(sock), "%s/fs.sock", dir);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(arg, sizeof(arg), "tag=share,socket=%s", sock);
	cr_assert_eq(check("--fs", arg, NULL, NULL), 0, "a socket is fine alone");
	cr_assert_eq(check("--fs", arg, "--memory-hotplug", "total=1G"), -EINVAL);
	close(s);
	unlink(sock);
}

Test(device_check, one_root_device_among_disks_and_pmem)
{
	char disk[200], pmem[200];
	snprintf(disk, sizeof(disk), "%s,root", file("root.img", 1 << 20, 0644));
	snprintf(pmem, sizeof(pmem), "path=%s,root", file("p.img", 2 << 20, 0644));
	cr_assert_eq(check("--disk", disk, "--pmem", pmem), -EINVAL);
	snprintf(pmem, sizeof(pmem), "path=%s", file("p.img", 2 << 20, 0644));
	cr_assert_eq(check("--disk", disk, "--pmem", pmem), 0,
		     "a pmem device beside the root disk");
}
