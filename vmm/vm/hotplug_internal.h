/* What hotplug.c and hotplug_worker.c share. Private to vmm/vm/hotplug*.c. */
#ifndef VMM_VM_HOTPLUG_INTERNAL_H
#define VMM_VM_HOTPLUG_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

struct sandbox_list;
struct vm_hotplug_devices;

#define HP_WORKER_MAX_LISTS 16 /* the device kinds' seccomp lists */

/* One thread that runs one call at a time for the control thread (hotplug_worker.c says why). */
struct hp_worker {
	/* the device kinds' seccomp lists it takes besides its own (struct vm_hotplug_devices) */
	const struct sandbox_list *lists[HP_WORKER_MAX_LISTS];
	int nlists;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int (*fn)(void *); /* the call to run; NULL when done */
	void *arg;
	int result;
	bool started, ready, confined, stop;
};

/* Before the start: the worker takes the device kinds' seccomp lists of `devs` (NULL: none) on
 * top of its own. */
void hp_worker_devices(struct hp_worker *w, const struct vm_hotplug_devices *devs);
/* Starts the worker, which confines itself: 0, or -errno (logged). */
int hp_worker_start(struct hp_worker *w);
/* Runs fn(arg) on the worker and returns its result; -ENODEV when it was not started,
 * -ESHUTDOWN once it is stopping. */
int hp_worker_call(struct hp_worker *w, int (*fn)(void *), void *arg);
/* Ends and joins it (no call may be running). */
void hp_worker_stop(struct hp_worker *w);

#endif
