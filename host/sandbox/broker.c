/* The broker thread: runs the API thread's file calls. See broker.h. */
#include "host/sandbox/broker.h"

#include "host/sandbox/worker.h"

static struct sandbox_worker B = SANDBOX_WORKER_INIT("broker", SANDBOX_BUILD_CAPS);

bool sandbox_broker_here(void)
{
	return sandbox_worker_here(&B);
}

int sandbox_broker_start(const struct sandbox_list *const *lists, size_t n)
{
	return sandbox_worker_start(&B, lists, n);
}

int sandbox_broker_run(int (*fn)(void *arg), void *arg)
{
	return sandbox_worker_run(&B, fn, arg);
}

struct confine_call {
	int (*first)(void *arg);
	void *arg;
	const struct sandbox_list *const *lists;
	size_t n;
};

static int confine_here(void *arg)
{
	struct confine_call *c = arg;
	int r = c->first ? c->first(c->arg) : 0;
	return r ? r : sandbox_enter("broker", c->lists, c->n);
}

int sandbox_broker_confine(int (*first)(void *arg), void *arg,
			   const struct sandbox_list *const *lists, size_t n)
{
	struct confine_call c = {first, arg, lists, n};
	if (!B.running)
		return first ? first(arg) : 0;
	return sandbox_broker_run(confine_here, &c);
}

void sandbox_broker_stop(void)
{
	sandbox_worker_stop(&B);
}
