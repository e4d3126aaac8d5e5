/* vmm-blkhost: the "host alone" side of the block benchmarks (tools/bench blk and qcow2, issue
 * 68): the blk_bench guest's exact pattern with no guest in between. 4 KiB requests at random
 * 4 KiB-aligned offsets (xorshift64, as tests/guests/blk_bench.c), QD of them kept in flight,
 * each a one-segment readv or writev on FILE opened as our VMM opens a disk (buffered, the page
 * cache), through io_uring as the VMM's I/O thread submits them. What a VMM's disk path costs
 * is its row against this one.
 *
 *   vmm-blkhost read|write FILE QD SECONDS [ENGINE]
 *       QD 1..128; SECONDS > 0 (the run ends at the first completion after it); ENGINE uring
 *       (the default: io_uring, submit and wait for one, reap every completion, refill) or
 *       sync (preadv2/pwritev2 one at a time; QD must be 1). Prints one line:
 *       "HOST blk_randread qd=N iops=I requests=R usec=U cpu_usec=C engine=E"
 *       (blk_randwrite for writes; C is this process's user+system CPU time).
 * The file's size is rounded down to 4 KiB blocks; at least one is needed. Exit status 0, 1 on
 * an I/O or system error, 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IO_BYTES 4096u
#define MAX_QD	 128u

static const char usage[] = "usage: vmm-blkhost read|write FILE QD SECONDS [uring|sync]\n";

struct run {
	int fd;
	bool write;
	unsigned qd;
	uint64_t blocks;
	uint64_t rng;
	uint8_t *bufs;		  /* qd buffers of IO_BYTES */
	struct iovec iov[MAX_QD]; /* one per slot */
	uint64_t done;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static off_t next_offset(struct run *r)
{
	return (off_t)((xorshift(&r->rng) % r->blocks) * IO_BYTES);
}

static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *s != '-' && *out >= lo && *out <= hi;
}

static void queue_slot(struct run *r, struct io_uring *ring, unsigned slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring); /* never NULL: qd entries */

	if (r->write)
		io_uring_prep_writev(sqe, r->fd, &r->iov[slot], 1, (uint64_t)next_offset(r));
	else
		io_uring_prep_readv(sqe, r->fd, &r->iov[slot], 1, (uint64_t)next_offset(r));
	io_uring_sqe_set_data64(sqe, slot);
}

/* Reaps every completion there is, refilling each slot while the run lasts; -errno on a failed
 * or short request. */
static int reap(struct run *r, struct io_uring *ring, bool refill)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(ring, &cqe) == 0) {
		int res = cqe->res;
		unsigned slot = (unsigned)io_uring_cqe_get_data64(cqe);

		io_uring_cqe_seen(ring, cqe);
		if (res != (int)IO_BYTES)
			return res < 0 ? res : -EIO;
		r->done++;
		if (refill)
			queue_slot(r, ring, slot);
	}
	return 0;
}

static int run_uring(struct run *r, uint64_t end_us)
{
	struct io_uring ring;
	int err = io_uring_queue_init(r->qd, &ring, 0);
	unsigned inflight = r->qd;

	if (err < 0) {
		fprintf(stderr, "vmm-blkhost: io_uring_queue_init: %s\n", strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < r->qd; i++)
		queue_slot(r, &ring, i);
	for (bool more = true; inflight;) {
		uint64_t before = r->done;

		err = io_uring_submit_and_wait(&ring, 1);
		if (err == -EINTR)
			continue;
		if (err < 0 || (err = reap(r, &ring, more)) < 0)
			break;
		if (more && now_us() >= end_us)
			more = false;
		else if (!more)
			inflight -= (unsigned)(r->done - before);
	}
	io_uring_queue_exit(&ring);
	if (err < 0)
		fprintf(stderr, "vmm-blkhost: request failed: %s\n", strerror(-err));
	return err < 0 ? err : 0;
}

static int run_sync(struct run *r, uint64_t end_us)
{
	while (now_us() < end_us) {
		ssize_t got = r->write ? pwritev2(r->fd, r->iov, 1, next_offset(r), 0)
				       : preadv2(r->fd, r->iov, 1, next_offset(r), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got != (ssize_t)IO_BYTES) {
			fprintf(stderr, "vmm-blkhost: request failed: %s\n",
				got < 0 ? strerror(errno) : "short transfer");
			return -1;
		}
		r->done++;
	}
	return 0;
}

static int open_file(struct run *r, const char *path)
{
	struct stat st;

	r->fd = open(path, (r->write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		fprintf(stderr, "vmm-blkhost: %s: %s\n", path, strerror(errno));
		return -1;
	}
	r->blocks = (uint64_t)st.st_size / IO_BYTES;
	if (!S_ISREG(st.st_mode) || !r->blocks) {
		fprintf(stderr, "vmm-blkhost: %s: not a regular file of at least %u bytes\n", path,
			IO_BYTES);
		return -1;
	}
	return 0;
}

static int alloc_bufs(struct run *r)
{
	if (posix_memalign((void **)&r->bufs, IO_BYTES, (size_t)r->qd * IO_BYTES)) {
		fprintf(stderr, "vmm-blkhost: out of memory\n");
		return -1;
	}
	memset(r->bufs, 0xa5, (size_t)r->qd * IO_BYTES);
	for (unsigned i = 0; i < r->qd; i++)
		r->iov[i] = (struct iovec){r->bufs + (size_t)i * IO_BYTES, IO_BYTES};
	return 0;
}

int main(int argc, char **argv)
{
	struct run r = {.fd = -1, .rng = 0x9e3779b97f4a7c15ull};
	unsigned long qd, seconds;
	const char *engine = argc > 5 ? argv[5] : "uring";
	bool sync = !strcmp(engine, "sync");

	if (argc < 5 || argc > 6 || (strcmp(argv[1], "read") && strcmp(argv[1], "write")) ||
	    !parse_uint(argv[3], 1, MAX_QD, &qd) || !parse_uint(argv[4], 1, 3600, &seconds) ||
	    (!sync && strcmp(engine, "uring")) || (sync && qd != 1)) {
		fputs(usage, stderr);
		return 2;
	}
	r.write = !strcmp(argv[1], "write");
	r.qd = (unsigned)qd;
	if (open_file(&r, argv[2]) < 0 || alloc_bufs(&r) < 0)
		return 1;
	uint64_t cpu0 = cpu_us(), t0 = now_us();
	int err =
	    sync ? run_sync(&r, t0 + seconds * 1000000u) : run_uring(&r, t0 + seconds * 1000000u);
	uint64_t usec = now_us() - t0, cpu = cpu_us() - cpu0;
	if (err < 0)
		return 1;
	printf("HOST blk_rand%s qd=%u iops=%llu requests=%llu usec=%llu cpu_usec=%llu engine=%s\n",
	       r.write ? "write" : "read", r.qd,
	       (unsigned long long)(r.done * 1000000u / (usec ? usec : 1)),
	       (unsigned long long)r.done, (unsigned long long)usec, (unsigned long long)cpu,
	       engine);
	free(r.bufs);
	close(r.fd);
	return 0;
}
