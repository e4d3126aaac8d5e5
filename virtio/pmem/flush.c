/* virtio-pmem's flush thread: fsync() of the backing file away from the device lock. See
 * virtio/pmem/internal.h for the generations. */
#include <sys/syscall.h>

#include "virtio/pmem/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

int pmem_fsync(void *opaque, int fd)
{
	(void)opaque;
	return fsync(fd) < 0 ? -errno : 0;
}

/* What the flush thread calls besides sandbox_base: fsync and the eventfd write (sandbox.h). */
static const struct sandbox_rule flush_rules[] = {
    SB_ALLOW(SYS_fsync),
    SB_ALLOW(SYS_write),
};
static const struct sandbox_list flush_sandbox = SANDBOX_LIST("virtio-pmem-flush", flush_rules);

static void *flush_thread(void *arg)
{
	const struct sandbox_list *lists[] = {&flush_sandbox};
	struct pmem_flusher *fl = arg;
	uint64_t one = 1;
	/* Like an I/O thread, it confines itself; without its filter it flushes nothing, and every
	 * FLUSH is answered with a failure. */
	bool confined = sandbox_enter("pmem-flush", lists, 1) == 0;

	if (!confined)
		log_error("virtio-pmem: the flush thread has no sandbox; FLUSH will fail");
	pthread_mutex_lock(&fl->lock);
	for (;;) {
		uint64_t gen;
		int err;

		while (!fl->stop && fl->want <= fl->started)
			pthread_cond_wait(&fl->cond, &fl->lock);
		if (fl->stop)
			break;
		gen = fl->started = fl->want;
		pthread_mutex_unlock(&fl->lock);
		err = confined ? fl->flush(fl->opaque, fl->fd) : -EPERM;
		if (err < 0)
			log_warn("virtio-pmem: fsync: %s", strerror(-err));
		pthread_mutex_lock(&fl->lock);
		fl->done = gen;
		if (err < 0)
			fl->failed_bits |= 1ull << (gen % 64);
		else
			fl->failed_bits &= ~(1ull << (gen % 64));
		pthread_cond_broadcast(&fl->cond);
		if (write(fl->done_fd, &one, sizeof(one)) < 0)
			log_debug("virtio-pmem: eventfd write: %s", strerror(errno));
	}
	pthread_mutex_unlock(&fl->lock);
	return NULL;
}

int pmem_flusher_start(struct pmem_flusher *fl, int fd)
{
	int err;

	fl->fd = fd;
	if (!fl->flush)
		fl->flush = pmem_fsync;
	fl->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fl->done_fd < 0)
		return -errno;
	pthread_mutex_init(&fl->lock, NULL);
	pthread_cond_init(&fl->cond, NULL);
	err = pthread_create(&fl->thread, NULL, flush_thread, fl);
	if (err) {
		close(fl->done_fd);
		fl->done_fd = -1;
		return -err;
	}
	fl->running = true;
	return 0;
}

void pmem_flusher_stop(struct pmem_flusher *fl)
{
	if (fl->running) {
		pthread_mutex_lock(&fl->lock);
		fl->stop = true;
		pthread_cond_broadcast(&fl->cond);
		pthread_mutex_unlock(&fl->lock);
		pthread_join(fl->thread, NULL);
		pthread_cond_destroy(&fl->cond);
		pthread_mutex_destroy(&fl->lock);
		fl->running = false;
	}
	if (fl->done_fd >= 0)
		close(fl->done_fd);
	fl->done_fd = -1;
}

uint64_t pmem_flusher_request(struct pmem_flusher *fl)
{
	uint64_t gen;

	pthread_mutex_lock(&fl->lock);
	gen = fl->started + 1; /* an fsync that starts after this request */
	if (fl->want < gen)
		fl->want = gen;
	pthread_cond_broadcast(&fl->cond);
	pthread_mutex_unlock(&fl->lock);
	return gen;
}

uint64_t pmem_flusher_done(struct pmem_flusher *fl, uint64_t *failed_bits)
{
	uint64_t done;

	pthread_mutex_lock(&fl->lock);
	done = fl->done;
	*failed_bits = fl->failed_bits;
	pthread_mutex_unlock(&fl->lock);
	return done;
}

void pmem_flusher_wait(struct pmem_flusher *fl, uint64_t gen)
{
	pthread_mutex_lock(&fl->lock);
	while (fl->done < gen && !fl->stop)
		pthread_cond_wait(&fl->cond, &fl->lock);
	pthread_mutex_unlock(&fl->lock);
}
