/* libFuzzer target: the qcow2 image layer (virtio/blk/qcow2_*.c): header and extension parser,
 * table checks, L1/L2 lookup, refcounts, allocation, compressed and zero clusters, flush.
 * Input: one byte `n` (ops = n % 9, bit 7: open read-only), then `ops` operations of 7 bytes
 * (kind, a 32-bit offset in 512-byte units, a 16-bit length in 512-byte units), then the image
 * file, put in a memfd. Backing files are allowed (backing_files=on) and the image is named as
 * if it lay in a temporary folder F made at start, which holds a raw base (base.raw), a qcow2
 * over it (mid.qcow2, its backing format recorded), a symbolic link out of it (link.raw ->
 * /etc/passwd) and a folder (sub/) with another raw file (sub/base.raw).
 * Invariants: a refused image gives a negative errno and a message; on an accepted one every
 * request returns 0 or a negative errno, the first 72 header bytes are never written, and the
 * file grows by at most what the requests could allocate. While an image opens, every file
 * opened (open(), openat() and the openat2 syscall are interposed here; the descriptor's
 * /proc/self/fd link is read after each open) is F itself or beneath it: no backing name an
 * image can hold (absolute, `..`, a link) reaches any other host file. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tools/fuzz/fuzz_input.h"
#include "virtio/blk/qcow2.h"

#define MAX_LEN (64u * 1024)

static uint8_t buf[MAX_LEN];

#define INVARIANT(c)                                                                               \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "INVARIANT: %s (%s:%d)\n", #c, __FILE__, __LINE__);        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* ---- the folder, and the opens watched while an image opens ---- */

static char folder[PATH_MAX]; /* F, resolved (its own path may go through links: /tmp) */
static char image_path[PATH_MAX + 16];
static bool watching;

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* An fd the watched code opened: what it reaches is F or beneath F. */
static void check_fd(long fd)
{
	char link[64], target[PATH_MAX];
	size_t n = strlen(folder);
	if (!watching || fd < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
	ssize_t len = readlink(link, target, sizeof(target) - 1);
	INVARIANT(len > 0);
	target[len] = '\0';
	if (strncmp(target, folder, n) || (target[n] != '\0' && target[n] != '/')) {
		fprintf(stderr, "INVARIANT: an image's open reached %s, outside %s\n", target,
			folder);
		abort();
	}
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	int fd = REAL(open)(path, flags, m);
	check_fd(fd);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	int fd = REAL(openat)(dirfd, path, flags, m);
	check_fd(fd);
	return fd;
}

/* host_path_open_beneath()'s openat2 (no libc wrapper): every call passes its six arguments
 * through (the unused ones are whatever the registers held; the kernel ignores them too). */
long syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	long r = REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == SYS_openat2)
		check_fd(r);
	return r;
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", folder, name);
	int fd = REAL(open)(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	INVARIANT(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

/* mid.qcow2: 1 MiB over base.raw (raw), every cluster unallocated. */
static void write_mid(void)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/mid.qcow2", folder);
	int fd = REAL(open)(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	INVARIANT(fd >= 0 && qcow2_create_overlay(fd, 1u << 20, "base.raw", "raw") == 0);
	close(fd);
}

/* F and what it holds, removed at exit. */
static void remove_folder(void)
{
	static const char *const names[] = {"sub/base.raw", "sub", "link.raw", "mid.qcow2",
					    "base.raw"};
	char path[PATH_MAX + 32];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", folder, names[i]);
		if (unlink(path))
			rmdir(path);
	}
	rmdir(folder);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char made[] = "/tmp/fuzz-qcow2-XXXXXX", link[PATH_MAX + 32];
	(void)argc, (void)argv;
	INVARIANT(mkdtemp(made) && realpath(made, folder));
	memset(buf, 0x5a, 4096);
	write_file("base.raw", buf, 4096);
	write_mid();
	snprintf(link, sizeof(link), "%s/link.raw", folder);
	INVARIANT(symlink("/etc/passwd", link) == 0);
	snprintf(link, sizeof(link), "%s/sub", folder);
	INVARIANT(mkdir(link, 0700) == 0);
	write_file("sub/base.raw", buf, 4096);
	snprintf(image_path, sizeof(image_path), "%s/fuzz.qcow2", folder);
	atexit(remove_folder);
	return 0;
}

static void one_op(struct qcow2 *q, struct fz_in *in)
{
	uint8_t kind = (uint8_t)fz_uint(in, 1);
	uint64_t size = qcow2_size(q);
	uint64_t off = fz_uint(in, 4) * 512, len = (fz_uint(in, 2) % (MAX_LEN / 512) + 1) * 512;
	if (size < len)
		return;
	off %= size - len + 1;
	struct iovec iov = {buf, (size_t)len};
	int r = 0;
	switch (kind % 6) {
	case 0:
		r = qcow2_readv(q, &iov, 1, off);
		break;
	case 1:
		memset(buf, kind, len);
		r = qcow2_writev(q, &iov, 1, off);
		break;
	case 2:
		r = qcow2_write_zeroes(q, off, len);
		break;
	case 3:
		r = qcow2_flush(q);
		break;
	case 4: /* DISCARD */
	case 5: /* WRITE_ZEROES with UNMAP */
		r = qcow2_discard(q, off, len, kind % 6 == 5);
		break;
	}
	INVARIANT(r <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	uint8_t n = (uint8_t)fz_uint(&in, 1), head[72], now[72];
	unsigned ops = n % 9;
	struct fz_in op_in =
	    fz_in_make(data + in.pos, fz_left(&in) < ops * 7 ? fz_left(&in) : ops * 7);
	in.pos += op_in.len;
	size_t got;
	const uint8_t *img = fz_take(&in, fz_left(&in), &got);

	int fd = memfd_create("qcow2", MFD_CLOEXEC);
	INVARIANT(fd >= 0);
	INVARIANT(write(fd, img, got) == (ssize_t)got);
	memset(head, 0, sizeof(head));
	memcpy(head, img, got < sizeof(head) ? got : sizeof(head));

	char err[512] = "";
	struct qcow2 *q;
	struct qcow2_open_opts o = {.ro = n & 0x80, .backing_files = true, .path = image_path};
	if (!folder[0]) /* a driver that does not call LLVMFuzzerInitialize() */
		LLVMFuzzerInitialize(NULL, NULL);
	watching = true;
	int r = qcow2_open(&q, fd, &o, err, sizeof(err));
	watching = false;
	if (r) {
		INVARIANT(r < 0 && err[0]);
		close(fd);
		return 0;
	}
	for (unsigned i = 0; i < ops; i++)
		one_op(q, &op_in);
	qcow2_close(q);

	struct stat st;
	INVARIANT(fstat(fd, &st) == 0);
	/* each request allocates at most its clusters plus their tables (2 MiB clusters at most) */
	INVARIANT((uint64_t)st.st_size <=
		  got + (uint64_t)ops * 4 * ((MAX_LEN / 512 + 2) << 21) + (4u << 21));
	memset(now, 0, sizeof(now));
	INVARIANT(pread(fd, now, sizeof(now), 0) >= 0);
	INVARIANT(!memcmp(now, head, got < sizeof(now) ? got : sizeof(now)));
	close(fd);
	return 0;
}
