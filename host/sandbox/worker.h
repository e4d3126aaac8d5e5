/* A thread that runs calls for others, one at a time (internal to host/sandbox): the broker
 * (broker.h) and the opener (opener.h) are two of them, each with its own role, capabilities
 * and confinement. */
#ifndef VMM_SANDBOX_WORKER_H
#define VMM_SANDBOX_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/sandbox/sandbox.h"

struct sandbox_worker {
	const char *role; /* the thread's name and its sandbox role */
	uint64_t keep;	  /* the capabilities it keeps until it enters again (SANDBOX_CAP bits) */
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
};

#define SANDBOX_WORKER_INIT(role_, keep_)                                                          \
	{                                                                                          \
		.role = (role_), .keep = (keep_), .lock = PTHREAD_MUTEX_INITIALIZER,               \
		.call = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER                \
	}

/* Starts the worker's thread, which confines itself first (sandbox_enter_before_vm() with
 * `lists`, its `keep`, no Landlock). Nothing is started without sandbox_init() or `lists`.
 * Returns 0 or -errno (logged). */
int sandbox_worker_start(struct sandbox_worker *w, const struct sandbox_list *const *lists,
			 size_t n);

/* True on the worker's thread, or when it does not run. */
bool sandbox_worker_here(const struct sandbox_worker *w);

/* Runs fn(arg) on the worker (on the caller when sandbox_worker_here()); its result. */
int sandbox_worker_run(struct sandbox_worker *w, int (*fn)(void *arg), void *arg);

/* Ends the worker's thread after its last call and joins it. */
void sandbox_worker_stop(struct sandbox_worker *w);

#endif
