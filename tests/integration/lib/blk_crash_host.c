/* blk_crash_host: keeps a disk image aside after the VMM using it was killed, where no Python
 * runs: the arm64 L1 of tests/integration/framework/arm64_abuse.py (the blk_crash guest, x86's
 * storage/blk_crash.py's kills). Busybox has no flock(1), and its cp writes every zero of a
 * sparse file (64 MiB over 9p for each kill).
 *
 *   blk_crash_host keep IMG DEST
 *
 * Waits (5 s at most) until nobody holds IMG's flock: a VMM killed with I/O in flight in its
 * io_uring keeps the file, and its lock, until the kernel has torn the ring down, a few ms after
 * the process is gone (storage/blk_crash.py's wait_unlocked()); a copy taken before would miss
 * writes that still land, and the next VMM would refuse the disk. Then copies IMG to DEST,
 * writing only the 64 KiB chunks that hold data (DEST is sparse, the same size). Prints
 * "kept IMG: N KiB of data, unlocked after M ms"; exits 0, 1 on a failure (the reason on
 * stdout), 2 on a bad argument.
 *   aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -o blk_crash_host blk_crash_host.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	     65536
#define LOCK_WAIT_MS 5000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd's file has no flock; the ms it took, or -1. */
static long wait_unlocked(int fd)
{
	long t0 = now_ms();
	struct timespec ms = {.tv_nsec = 1000000};

	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || now_ms() - t0 > LOCK_WAIT_MS)
			return -1;
		nanosleep(&ms, NULL);
	}
	flock(fd, LOCK_UN);
	return now_ms() - t0;
}

static int all_zero(const unsigned char *p, long n)
{
	for (long i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Copies the chunks of in that hold data (SEEK_DATA where the file system tells, then zero
 * chunks skipped) to out, at the same offsets; the bytes written, or -1. */
static long copy_sparse(int in, int out, long size)
{
	static unsigned char buf[CHUNK];
	long data = 0;

	for (long off = 0; off < size; off += CHUNK) {
		long next = lseek(in, off, SEEK_DATA), n;

		if (next < 0)
			break; /* ENXIO: no data past off */
		off = next / CHUNK * CHUNK;
		n = pread(in, buf, CHUNK, off);
		if (n < 0)
			return -1;
		if (!n)
			break;
		if (!all_zero(buf, n)) {
			if (pwrite(out, buf, (size_t)n, off) != n)
				return -1;
			data += n;
		}
	}
	return ftruncate(out, size) ? -1 : data;
}

static int keep(const char *img, const char *dest)
{
	int in = open(img, O_RDONLY), out = -1;
	struct stat st;
	long waited, data = -1;

	if (in < 0 || fstat(in, &st)) {
		printf("%s: %s\n", img, strerror(errno));
		return 1;
	}
	waited = wait_unlocked(in);
	if (waited < 0) {
		printf("%s: still locked after %d ms\n", img, LOCK_WAIT_MS);
		return 1;
	}
	out = open(dest, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out >= 0)
		data = copy_sparse(in, out, (long)st.st_size);
	if (data < 0 || close(out)) {
		printf("%s -> %s: %s\n", img, dest, strerror(errno));
		return 1;
	}
	close(in);
	printf("kept %s: %ld KiB of data, unlocked after %ld ms\n", img, data / 1024, waited);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "keep"))
		return keep(argv[2], argv[3]);
	fprintf(stderr, "blk_crash_host: bad arguments (see the top of blk_crash_host.c)\n");
	return 2;
}
