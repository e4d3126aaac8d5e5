/* Shared helpers of the qcow2 tests: a temporary directory per test, Debian's qemu-img and
 * qemu-io (package qemu-utils) run through the shell, and images opened through the layer. */
#ifndef TESTS_UNIT_VIRTIO_BLK_QCOW2_FIXTURE_H
#define TESTS_UNIT_VIRTIO_BLK_QCOW2_FIXTURE_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virtio/blk/qcow2.h"

static char qdir[64];

/* Skips the test unless qemu-img and qemu-io are installed; makes the test's directory. */
static inline void need_qemu(void)
{
	if (system("command -v qemu-img >/dev/null && command -v qemu-io >/dev/null") != 0)
		cr_skip_test("SKIP: qemu-img/qemu-io not installed (Debian package qemu-utils)");
	strcpy(qdir, "/tmp/vmm-qcow2-XXXXXX");
	cr_assert_not_null(mkdtemp(qdir));
}

static inline void qdir_remove(void)
{
	char cmd[128];
	if (!qdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
	cr_expect_eq(system(cmd), 0);
}

/* Runs a shell command in the test's directory; returns its exit status. */
static inline int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "cd %s && ", qdir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void qpath(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", qdir, name);
}

struct qimg {
	int fd;
	struct qcow2 *q;
	char err[512];
};

/* Opens qdir/name through the layer with the backing file rules of `rules` (its
 * backing_files and backing_dirs); returns its result (err holds the message). */
static inline int qopen_as(struct qimg *im, const char *name, bool ro,
			   const struct qcow2_open_opts *rules)
{
	char path[128];
	qpath(path, sizeof(path), name);
	im->err[0] = '\0';
	im->q = NULL;
	im->fd = open(path, ro ? O_RDONLY : O_RDWR);
	cr_assert_geq(im->fd, 0, "open %s", path);
	struct qcow2_open_opts o = {.ro = ro,
				    .backing_files = rules->backing_files,
				    .backing_dirs = rules->backing_dirs,
				    .path = path};
	int r = qcow2_open(&im->q, im->fd, &o, im->err, sizeof(im->err));
	if (r)
		close(im->fd);
	return r;
}

/* qopen_as() with backing files allowed (backing_files=on), beneath the image's folder only. */
static inline int qopen(struct qimg *im, const char *name, bool ro)
{
	struct qcow2_open_opts on = {.backing_files = true};
	return qopen_as(im, name, ro, &on);
}

static inline void qclose(struct qimg *im)
{
	qcow2_close(im->q);
	close(im->fd);
}

static inline int qread(struct qimg *im, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = {buf, len};
	return qcow2_readv(im->q, &iov, 1, off);
}

static inline int qwrite(struct qimg *im, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = {(void *)buf, len};
	return qcow2_writev(im->q, &iov, 1, off);
}

/* Every byte of buf[0..len) is v. */
static inline bool all(const uint8_t *buf, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != v)
			return false;
	return true;
}

/* qemu-io reads [off, off + len) of the image and finds every byte equal to `v`. */
static inline bool qemu_sees(const char *img, uint64_t off, uint64_t len, uint8_t v)
{
	/* qemu-io exits 1 on "Pattern verification failed" */
	return sh("qemu-io -f qcow2 -c 'read -P 0x%02x %llu %llu' %s >/dev/null 2>&1", v,
		  (unsigned long long)off, (unsigned long long)len, img) == 0;
}

/* qemu-img check: 0 = clean (prints its report on failure). */
static inline int qemu_check(const char *img)
{
	int r = sh("qemu-img check -q %s", img);
	if (r)
		sh("qemu-img check %s >&2", img);
	return r;
}

/* Patches `len` bytes at `off` of the file qdir/name. */
static inline void patch(const char *name, uint64_t off, const void *bytes, size_t len)
{
	char path[128];
	qpath(path, sizeof(path), name);
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static inline void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

static inline void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

#endif
