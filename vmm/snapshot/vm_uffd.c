/* A restored VM's RAM served by a page-fault handler. See vm_uffd.h. */
#include "vmm/snapshot/vm_uffd.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/log.h"
#include "vmm/descriptors/device_vm.h"
#include "vmm/snapshot/format/snap_uffd.h"
#include "vmm/vm/vm.h"

struct vm_uffd {
	struct snap_uffd u;
	struct snap_uffd_watch w;
	pthread_t thread;
	bool thread_running;
};

/* The restoring thread: snap_uffd_register() and _handoff(), the watch's start; and everything
 * the watch thread does, which it inherits from here. */
static const struct sandbox_rule setup_rules[] = {
    SB_ALLOW(SYS_userfaultfd),
    SB_ARG_EQ(SYS_ioctl, 1, USERFAULTFD_IOC_NEW),
    SB_ARG_EQ(SYS_ioctl, 1, UFFDIO_API),
    SB_ARG_EQ(SYS_ioctl, 1, UFFDIO_REGISTER),
    SB_ARG_EQ(SYS_ioctl, 1, UFFDIO_UNREGISTER),
    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ALLOW(SYS_connect),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_getsockopt), /* SO_PEERCRED: the handler's pid */
    SB_ALLOW(SYS_pidfd_open), /* to see it exit */
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_write),
    SB_ALLOW(SYS_eventfd2),
    SB_ALLOW(SYS_clone),
    SB_ALLOW(SYS_clone3),
};
const struct sandbox_list vm_uffd_setup_sandbox = SANDBOX_LIST("uffd-setup", setup_rules);

/* The watch thread: polls the socket, the handler's pidfd, the userfaultfd and its stop
 * eventfd, reads a stray byte or queued events, unregisters the ranges, and stops the VM
 * (vm_stop(): an eventfd write, tgkill to kick the vCPUs, a log line). */
static const struct sandbox_rule watch_rules[] = {
    SB_ALLOW(SYS_poll), SB_ALLOW(SYS_ppoll), SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_read), SB_ALLOW(SYS_write), SB_ARG_EQ(SYS_ioctl, 1, UFFDIO_UNREGISTER),
};
static const struct sandbox_list watch_sandbox = SANDBOX_LIST("uffd-watch", watch_rules);

static bool vm_is_stopping(void *opaque)
{
	return vm_stopping(opaque);
}

static void handler_failed(void *opaque, const char *why)
{
	log_error("snapshot memory: %s: stopping the VM", why);
	if (!vm_stopping(opaque)) /* a VM already ending is being torn down: no more kicks */
		vm_stop(opaque, VM_STOP_ERROR, VMM_EXIT_ERROR);
}

static void *watch_thread(void *arg)
{
	struct vm_uffd *v = arg;
	const struct sandbox_list *lists[] = {&watch_sandbox};

	pthread_setname_np(pthread_self(), "uffd-watch");
	if (sandbox_enter("uffd-watch", lists, 1)) /* logged */
		return NULL;
	snap_uffd_watch_run(&v->w);
	return NULL;
}

static int start_watch(struct vm *vm, struct vm_uffd *v)
{
	v->w = (struct snap_uffd_watch){
	    .u = &v->u,
	    .stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	    .stall_ms = SNAP_UFFD_STALL_MS,
	    .grace_ms = SNAP_UFFD_GRACE_MS,
	    .tick_ms = 100,
	    .stopping = vm_is_stopping,
	    .failed = handler_failed,
	    .opaque = vm,
	};
	if (v->w.stop_fd < 0)
		return -errno;
	snap_uffd_set_deadline(&v->u, SNAP_UFFD_RESTORE_MS);
	int err = pthread_create(&v->thread, NULL, watch_thread, v);
	v->thread_running = !err;
	return -err;
}

int vm_uffd_start(struct vm *vm, const char *path)
{
	char err[320] = "";
	/* first thing in vm_destroy() from now on, whatever happens below */
	int r = vm_on_destroy(vm, vm_uffd_stop);
	struct vm_uffd *v = r ? NULL : calloc(1, sizeof(*v));
	if (!r && !v)
		r = -ENOMEM;

	if (v) {
		snap_uffd_init(&v->u);
		v->u.ending = vm_stop_signalled; /* SIGTERM while the handler is silent: at once */
		v->w.stop_fd = -1;
		vm->uffd = v;
		r = guest_mem_alloc(&vm->mem, vm->cfg->mem_size);
		if (r)
			snprintf(err, sizeof(err), "cannot allocate %llu bytes of guest RAM: %s",
				 (unsigned long long)vm->cfg->mem_size, strerror(-r));
	}
	if (!r)
		r = snap_uffd_register(&v->u, &vm->mem, err, sizeof(err));
	if (!r)
		r = snap_uffd_handoff(&v->u, &vm->mem, path, err, sizeof(err));
	if (!r && (r = start_watch(vm, v)))
		snprintf(err, sizeof(err), "cannot start the page-fault handler's watch: %s",
			 strerror(-r));
	if (r)
		log_error("%s", err[0] ? err : strerror(-r));
	else
		log_info("snapshot memory: served by the page-fault handler at %s", path);
	return r;
}

int vm_uffd_restored(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->uffd)
		return 0;
	snap_uffd_set_deadline(&vm->uffd->u, 0);
	return vm_uffd_failed(vm, err, errlen) ? -EIO : 0;
}

bool vm_uffd_failed(struct vm *vm, char *err, size_t errlen)
{
	char why[256];
	if (!vm->uffd || !snap_uffd_failed(&vm->uffd->u, why, sizeof(why)))
		return false;
	snprintf(err, errlen, "snapshot memory: %s", why);
	return true;
}

void vm_uffd_stop(struct vm *vm)
{
	struct vm_uffd *v = vm->uffd;
	uint64_t one = 1;

	if (!v)
		return;
	/* This may be the main thread, whose filter has no userfaultfd ioctl: the watch thread
	 * releases the memory as it ends */
	if (v->thread_running) {
		if (write(v->w.stop_fd, &one, sizeof(one)) < 0)
			log_debug("uffd watch: stop: %s", strerror(errno));
		pthread_join(v->thread, NULL);
	}
	if (v->w.stop_fd >= 0)
		close(v->w.stop_fd);
	snap_uffd_close(&v->u); /* the watch released the ranges as it ended */
	free(v);
	vm->uffd = NULL;
}

int vm_create_restored_uffd(struct vm *vm, const struct vm_config *cfg, const char *uffd_path)
{
	return vm_build_served(vm, cfg, &device_vm_ops, vm_uffd_start, uffd_path);
}
