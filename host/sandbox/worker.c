/* A thread that runs calls for others, one at a time. See worker.h. */
#include "host/sandbox/worker.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/thread_sched.h"

static _Thread_local const struct sandbox_worker *current;

bool sandbox_worker_here(const struct sandbox_worker *w)
{
	return current == w || !w->running;
}

/* Serves calls until stopped; the lock is held on entry and on return. */
static void serve(struct sandbox_worker *w)
{
	for (;;) {
		while (!w->pending && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->pending)
			return;
		pthread_mutex_unlock(&w->lock);
		int result = w->fn(w->arg);
		pthread_mutex_lock(&w->lock);
		w->result = result;
		w->pending = false;
		w->done = true;
		pthread_cond_broadcast(&w->cond);
	}
}

static void *worker_thread(void *opaque)
{
	struct sandbox_worker *w = opaque;
	current = w;
	pthread_setname_np(pthread_self(), w->role);
	/* the broker builds a VM for a request (a snapshot's load, a fork): it waits behind no
	 * running guest's vCPU (base/thread_sched.h) */
	(void)thread_sched_short_slice(THREAD_SCHED_CONTROL_SLICE_NS);
	int r = sandbox_enter_before_vm(w->role, w->lists, w->n, w->keep, false);
	pthread_mutex_lock(&w->lock);
	w->start_result = r;
	pthread_cond_broadcast(&w->cond);
	if (!r)
		serve(w);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int sandbox_worker_start(struct sandbox_worker *w, const struct sandbox_list *const *lists,
			 size_t n)
{
	if (!sandbox_enabled() || !lists || w->running)
		return 0;
	w->lists = lists;
	w->n = n;
	w->start_result = 1;
	w->stop = false;
	int err = pthread_create(&w->thread, NULL, worker_thread, w);
	if (err) {
		log_error("sandbox: cannot start the %s thread: %s", w->role, strerror(err));
		return -err;
	}
	pthread_mutex_lock(&w->lock);
	while (w->start_result == 1)
		pthread_cond_wait(&w->cond, &w->lock);
	int r = w->start_result;
	pthread_mutex_unlock(&w->lock);
	if (r) {
		pthread_join(w->thread, NULL);
		return r;
	}
	w->running = true;
	return 0;
}

int sandbox_worker_run(struct sandbox_worker *w, int (*fn)(void *arg), void *arg)
{
	if (sandbox_worker_here(w))
		return fn(arg);
	pthread_mutex_lock(&w->call);
	pthread_mutex_lock(&w->lock);
	w->fn = fn;
	w->arg = arg;
	w->done = false;
	w->pending = true;
	pthread_cond_broadcast(&w->cond);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	int r = w->result;
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&w->call);
	return r;
}

void sandbox_worker_stop(struct sandbox_worker *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->call); /* after the last call */
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->running = false;
	pthread_mutex_unlock(&w->call);
}
