/* The hotplug thread (vmm/vm/hotplug_worker.c): calls run on it one at a time and return their
 * result to the caller; a call before the start or after the stop is refused, never left
 * waiting. (No sandbox_init() here, so its sandbox_enter() confines nothing.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>

#include "vmm/vm/hotplug_internal.h"

static pthread_t caller;

static int where(void *arg)
{
	*(pthread_t *)arg = pthread_self();
	return 42;
}

Test(hotplug_worker, runs_calls_on_its_own_thread)
{
	struct hp_worker w = {0};
	pthread_t ran_on = pthread_self();
	caller = pthread_self();
	cr_assert_eq(hp_worker_call(&w, where, &ran_on), -ENODEV, "not started");
	cr_assert_eq(hp_worker_start(&w), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(hp_worker_call(&w, where, &ran_on), 42);
		cr_assert_not(pthread_equal(ran_on, caller), "ran on the worker");
	}
	hp_worker_stop(&w);
	cr_assert_eq(hp_worker_call(&w, where, &ran_on), -ENODEV, "stopped");
	hp_worker_stop(&w); /* twice is harmless */
}
