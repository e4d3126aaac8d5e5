/* 4 KiB random reads from a block device for a fixed time: the IOPS the passthrough test
 * (tests/integration/linux/test_vfio_l1.py) compares between L1 and the L2 guest. Busybox has no
 * fio, so this is built static on the host and run in both. Queue depth N is N threads, each with
 * one O_DIRECT pread in flight (no page cache, every read reaches the device).
 *
 *   randread DEVICE QUEUE_DEPTH SECONDS
 *   -> randread: DEVICE qd=N seconds=S reads=R iops=I errors=E
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

enum { BLOCK = 4096, MAX_QD = 256 };

struct worker {
	pthread_t thread;
	int fd;
	uint64_t blocks;
	uint64_t seed;
	const volatile int *stop;
	uint64_t reads;
	uint64_t errors;
};

/* xorshift64*: each thread its own sequence, no shared state. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	void *buf;

	if (posix_memalign(&buf, BLOCK, BLOCK) != 0)
		return NULL;
	while (!*w->stop) {
		off_t off = (off_t)(next_random(&w->seed) % w->blocks) * BLOCK;

		if (pread(w->fd, buf, BLOCK, off) == BLOCK)
			w->reads++;
		else
			w->errors++;
	}
	free(buf);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_QD];
	static volatile int stop;
	uint64_t size = 0, reads = 0, errors = 0;
	double start, elapsed;
	int fd, qd, seconds, i;

	if (argc != 4 || (qd = atoi(argv[2])) < 1 || qd > MAX_QD || (seconds = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: randread DEVICE QUEUE_DEPTH(1-%d) SECONDS\n", MAX_QD);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size) != 0) { /* a plain file (a try on the host) */
		struct stat st;

		size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	if (fd < 0 || size < BLOCK) {
		fprintf(stderr, "randread: %s: %s\n", argv[1],
			fd < 0 ? strerror(errno) : "no size");
		return 1;
	}
	start = now();
	for (i = 0; i < qd; i++) {
		workers[i] = (struct worker){.fd = fd,
					     .blocks = size / BLOCK,
					     .seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1),
					     .stop = &stop};
		if (pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]) != 0) {
			fprintf(stderr, "randread: cannot start thread %d\n", i);
			return 1;
		}
	}
	sleep((unsigned)seconds);
	stop = 1;
	for (i = 0; i < qd; i++) {
		pthread_join(workers[i].thread, NULL);
		reads += workers[i].reads;
		errors += workers[i].errors;
	}
	elapsed = now() - start;
	printf("randread: %s qd=%d seconds=%.1f reads=%llu iops=%.0f errors=%llu\n", argv[1], qd,
	       elapsed, (unsigned long long)reads, (double)reads / elapsed,
	       (unsigned long long)errors);
	return errors ? 1 : 0;
}
