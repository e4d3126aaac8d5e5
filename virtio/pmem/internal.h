/* virtio-pmem's state, shared by its files (pmem.c: device, queue, answers; flush.c: the flush
 * thread; options.c). */
#ifndef VIRTIO_PMEM_INTERNAL_H
#define VIRTIO_PMEM_INTERNAL_H

#include <endian.h>
#include <pthread.h>

#include "virtio/pmem/pmem.h"

/* A FLUSH request waiting for the fsync of generation `gen`. */
struct pmem_held {
	struct vq_chain chain;
	uint64_t gen;
};

/* The flush thread's state, under `lock` (never dev->lock). Generations count fsyncs: `want` is
 * the newest one a request waits for, `started` the one running or last run, `done` the last
 * finished; bit (g % 64) of `failed_bits` is the result of generation g (1: fsync failed). The
 * requests held wait for at most two generations (the running one's successor and the one after),
 * so 64 bits never wrap onto a generation still asked about. */
struct pmem_flusher {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* work for the thread, or an fsync finished */
	uint64_t want, started, done, failed_bits;
	bool stop, running;
	pthread_t thread;
	int done_fd; /* eventfd: an fsync finished (served by the I/O thread) */
	int fd;	     /* the file */
	virtio_pmem_flush_fn flush;
	void *opaque;
};

struct vpmem {
	struct virtio_dev dev; /* first: the allocation is freed through it */
	struct virtio_pmem_config config;
	bool read_only, fd_added;
	struct vq_chain chain; /* the chain being served (dev->lock) */
	struct pmem_held held[VIRTIO_PMEM_MAX_HELD];
	unsigned nheld;
	struct pmem_flusher fl;
	struct rate_limiter rl; /* FLUSH requests: 1 op and the window's size in bytes each */
	struct rl_timer timer;	/* armed: a FLUSH waits for the limiter */
};

/* ---- flush.c ---- */
/* The default flush: fsync(fd), 0 or -errno. */
int pmem_fsync(void *opaque, int fd);
int pmem_flusher_start(struct pmem_flusher *fl, int fd);
void pmem_flusher_stop(struct pmem_flusher *fl);
/* The generation a request arriving now waits for (asks the thread for it). */
uint64_t pmem_flusher_request(struct pmem_flusher *fl);
/* The last finished generation, and the failure bits (see struct pmem_flusher). */
uint64_t pmem_flusher_done(struct pmem_flusher *fl, uint64_t *failed_bits);
/* Waits until generation `gen` finished (dev->lock may be held: the thread never takes it). */
void pmem_flusher_wait(struct pmem_flusher *fl, uint64_t gen);

#endif
