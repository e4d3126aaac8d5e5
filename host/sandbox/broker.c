/* The broker thread: runs the API thread's file calls. See broker.h. */
#include "host/sandbox/broker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "base/log.h"

static struct {
	pthread_mutex_t lock; /* the slot below; callers also hold `call` for a whole call */
	pthread_mutex_t call;
	pthread_cond_t cond;
	pthread_t thread;
	bool running;
	int (*fn)(void *);
	void *arg;
	bool pending, done, stop;
	int result;
	const struct sandbox_list *const *lists;
	size_t n;
	int start_result; /* 1 until the thread confined itself */
} B = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .call = PTHREAD_MUTEX_INITIALIZER,
       .cond = PTHREAD_COND_INITIALIZER};

static _Thread_local bool on_broker;

bool sandbox_broker_here(void)
{
	return on_broker || !B.running;
}

static void *broker_thread(void *opaque)
{
	(void)opaque;
	on_broker = true;
	pthread_setname_np(pthread_self(), "broker");
	int r = sandbox_enter_before_vm("broker", B.lists, B.n, SANDBOX_BUILD_CAPS, false);
	pthread_mutex_lock(&B.lock);
	B.start_result = r;
	pthread_cond_broadcast(&B.cond);
	while (!r) {
		while (!B.pending && !B.stop)
			pthread_cond_wait(&B.cond, &B.lock);
		if (!B.pending)
			break;
		pthread_mutex_unlock(&B.lock);
		int result = B.fn(B.arg);
		pthread_mutex_lock(&B.lock);
		B.result = result;
		B.pending = false;
		B.done = true;
		pthread_cond_broadcast(&B.cond);
	}
	pthread_mutex_unlock(&B.lock);
	return NULL;
}

int sandbox_broker_start(const struct sandbox_list *const *lists, size_t n)
{
	if (!sandbox_enabled() || !lists || B.running)
		return 0;
	B.lists = lists;
	B.n = n;
	B.start_result = 1;
	B.stop = false;
	int err = pthread_create(&B.thread, NULL, broker_thread, NULL);
	if (err) {
		log_error("sandbox: cannot start the broker thread: %s", strerror(err));
		return -err;
	}
	pthread_mutex_lock(&B.lock);
	while (B.start_result == 1)
		pthread_cond_wait(&B.cond, &B.lock);
	int r = B.start_result;
	pthread_mutex_unlock(&B.lock);
	if (r) {
		pthread_join(B.thread, NULL);
		return r;
	}
	B.running = true;
	return 0;
}

int sandbox_broker_run(int (*fn)(void *arg), void *arg)
{
	if (sandbox_broker_here())
		return fn(arg);
	pthread_mutex_lock(&B.call);
	pthread_mutex_lock(&B.lock);
	B.fn = fn;
	B.arg = arg;
	B.done = false;
	B.pending = true;
	pthread_cond_broadcast(&B.cond);
	while (!B.done)
		pthread_cond_wait(&B.cond, &B.lock);
	int r = B.result;
	pthread_mutex_unlock(&B.lock);
	pthread_mutex_unlock(&B.call);
	return r;
}

struct confine_call {
	const struct sandbox_list *const *lists;
	size_t n;
};

static int confine_here(void *arg)
{
	struct confine_call *c = arg;
	return sandbox_enter("broker", c->lists, c->n);
}

int sandbox_broker_confine(const struct sandbox_list *const *lists, size_t n)
{
	struct confine_call c = {lists, n};
	if (!B.running)
		return 0;
	return sandbox_broker_run(confine_here, &c);
}

void sandbox_broker_stop(void)
{
	if (!B.running)
		return;
	pthread_mutex_lock(&B.call); /* after the last call */
	pthread_mutex_lock(&B.lock);
	B.stop = true;
	pthread_cond_broadcast(&B.cond);
	pthread_mutex_unlock(&B.lock);
	pthread_join(B.thread, NULL);
	B.running = false;
	pthread_mutex_unlock(&B.call);
}
