/* Shared by the poll tests (test_virtio_poll*.c): something that happens on another thread while
 * the I/O thread polls or sleeps. */
#ifndef TESTS_UNIT_POLL_FIXTURE_H
#define TESTS_UNIT_POLL_FIXTURE_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/core/poll.h"

#define POLL_LATER_US 20000 /* long after any window a test means to pass in vain */
#define POLL_FD_TAG   7	    /* the eventfd's epoll data */

/* The devices under test do no work of their own: the tests look at what the poll marks pending. */
static void poll_test_notify(struct virtio_dev *d, uint16_t q)
{
	(void)d;
	(void)q;
}

static const struct virtio_dev_ops poll_test_ops = {.queue_notify = poll_test_notify};

/* The I/O thread's epoll set with one backend fd, an eventfd (*evfd), tagged POLL_FD_TAG. */
static inline void poll_fds_open(int *epfd, int *evfd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = POLL_FD_TAG};

	*epfd = epoll_create1(EPOLL_CLOEXEC);
	*evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(*epfd, 0);
	cr_assert_geq(*evfd, 0);
	cr_assert_eq(epoll_ctl(*epfd, EPOLL_CTL_ADD, *evfd, &ev), 0);
}

static inline void poll_fds_close(int epfd, int evfd)
{
	close(epfd);
	close(evfd);
}

/* Thread body: after POLL_LATER_US, one count on the eventfd *fdp (a backend fd turning ready). */
static void *eventfd_later(void *fdp)
{
	uint64_t one = 1;

	usleep(POLL_LATER_US);
	if (write(*(const int *)fdp, &one, sizeof(one)) < 0)
		return NULL;
	return NULL;
}

/* virtio_poll_wait() on dev's lock while `later(arg)` runs on another thread; its result goes to
 * *result (when not NULL). Returns what virtio_poll_wait() returned. */
static inline int poll_while(struct virtio_dev *dev, struct virtio_poll *p, uint32_t queues,
			     int epfd, struct epoll_event *ev, void *(*later)(void *), void *arg,
			     void **result)
{
	pthread_t t;
	void *r;

	cr_assert_eq(pthread_create(&t, NULL, later, arg), 0);
	int n = virtio_poll_wait(dev, p, &dev->lock, queues, epfd, ev, 4);
	pthread_join(t, &r);
	if (result)
		*result = r;
	return n;
}

#endif
