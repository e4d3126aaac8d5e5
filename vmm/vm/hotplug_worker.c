/* The thread that plugs and unplugs devices while the VM runs (see hotplug.h).
 *
 * Why a thread of its own: seccomp filters stack, and a thread inherits its creator's. A hot-added
 * device's I/O thread must end up with exactly its own filter, as a boot device's has (started by
 * the main thread before it confined itself), so the thread that starts it must allow at least
 * what that I/O thread calls. The API thread, its broker and the main thread are confined to far
 * less by then. This worker is started before the main thread confines itself and confines
 * itself at once to what building, wiring, starting and stopping a hot-added disk or tap NIC
 * takes (a vsock's listening socket bound, and removed again; a pmem file mapped, its KVM slot
 * set and deleted), plus everything their I/O threads call (virtio_io_sandbox, blk_sandbox,
 * tap_sandbox, vsock_sandbox, pmem_sandbox; a pmem device's flush thread: fsync, write; a
 * virtio-fs device's connection to its vhost-user back-end and its I/O thread, vu_sandbox;
 * a passed-through device's VFIO files and ioctls, vm_vfio.h's three lists):
 * the I/O threads it starts get their own filters on top, so they end up as a boot device's.
 * It also takes the VM's sealed Landlock set (sandbox.h), so it opens only what --landlock-rules
 * allows, like the broker. It holds no capability: a tap must already exist and belong to the
 * VMM's user (ip tuntap add ... user UID). */
#include <errno.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "virtio/core/device.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/hotplug_internal.h"
#include "vmm/vm/vm_vfio.h"

/* What the worker calls itself: the disk's file or the tap opened, checked and locked
 * (virtio/blk/disk.c, qcow2, virtio/net/tap.c), the device's io_uring, epoll set, eventfds and
 * timer, its KVM notifications and interrupts (vmm/vm/vm_pci*.c), its threads started, pinned
 * and joined. */
static const struct sandbox_rule hotplug_rules[] = {
    SB_ALLOW(SYS_openat),
    SB_ALLOW(SYS_openat2), /* host_path_open_beneath(): a confined folder, a backing file */
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_fstat),
    SB_ALLOW(SYS_newfstatat),
    SB_ALLOW(SYS_fstatfs),
    SB_ALLOW(SYS_flock),
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_lseek),
    SB_ALLOW(SYS_dup),
    SB_ALLOW(SYS_fsync),
    SB_ALLOW(SYS_io_uring_setup),
    SB_ALLOW(SYS_io_uring_register),
    SB_ALLOW(SYS_epoll_create1),
    SB_ALLOW(SYS_eventfd2),
    SB_ALLOW(SYS_timerfd_create),
    SB_ALLOW(SYS_clone),
    SB_ALLOW(SYS_clone3),
    SB_ALLOW(SYS_sched_setaffinity),
    SB_ALLOW(SYS_sched_getaffinity),
    SB_ALLOW(SYS_bind), /* a vsock's socket (virtio/vsock/vsock.c), an AF_UNIX one only */
    SB_ALLOW(SYS_listen),
    SB_ALLOW(SYS_unlink), /* ... replaced if stale, removed with the device */
    SB_ALLOW(SYS_unlinkat),
    SB_ALLOW(SYS_access), /* ... its directory checked first (virtio_vsock_check_opts()) */
    SB_ALLOW(SYS_faccessat),
#ifdef SYS_faccessat2
    SB_ALLOW(SYS_faccessat2),
#endif
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IOEVENTFD),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION), /* a pmem device's window */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CHECK_EXTENSION),	 /* INTx's resample irqfd (vm_pci_irq.c) */
    SB_ARG_EQ(SYS_ioctl, 1, BLKGETSIZE64),
    SB_ARG_EQ(SYS_ioctl, 1, BLKSSZGET),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETIFF),
    SB_ARG_EQ(SYS_ioctl, 1, TUNGETIFF),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETVNETHDRSZ),
    SB_ARG_EQ(SYS_ioctl, 1, TUNGETFEATURES),
};
static const struct sandbox_list hotplug_sandbox = SANDBOX_LIST("hotplug", hotplug_rules);

static void *worker_main(void *arg)
{
	struct hp_worker *w = arg;
	/* its own two, the device kinds' and VFIO's three */
	const struct sandbox_list *lists[2 + HP_WORKER_MAX_LISTS + 3] = {&hotplug_sandbox,
									 &virtio_io_sandbox};
	size_t n = 2;
	for (int i = 0; i < w->nlists; i++) /* the device kinds' (vmm/descriptors) */
		lists[n++] = w->lists[i];
	/* a passed-through device (vm_vfio.h): opened, set up and reset here (vfio-setup), its
	 * configuration space read (vcpu-vfio), and undone on a remove (vfio-end) */
	lists[n++] = &vm_vfio_setup_sandbox;
	lists[n++] = &vm_vfio_vcpu_sandbox;
	lists[n++] = &vm_vfio_end_sandbox;
	int r = sandbox_enter("hotplug", lists, n);
	pthread_mutex_lock(&w->lock);
	w->confined = r == 0;
	w->ready = true;
	pthread_cond_broadcast(&w->cond);
	while (!w->stop) {
		if (w->fn) {
			int (*fn)(void *) = w->fn;
			void *fn_arg = w->arg;
			pthread_mutex_unlock(&w->lock);
			int result = fn(fn_arg);
			pthread_mutex_lock(&w->lock);
			w->result = result;
			w->fn = NULL;
			pthread_cond_broadcast(&w->cond);
			continue;
		}
		pthread_cond_wait(&w->cond, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void hp_worker_devices(struct hp_worker *w, const struct vm_hotplug_devices *devs)
{
	w->nlists = devs ? devs->sandboxes(w->lists, HP_WORKER_MAX_LISTS) : 0;
}

int hp_worker_start(struct hp_worker *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	int r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r) {
		log_error("PCI hotplug: cannot start its thread: %s", strerror(-r));
		return r;
	}
	pthread_setname_np(w->thread, "hotplug");
	w->started = true;
	pthread_mutex_lock(&w->lock);
	while (!w->ready)
		pthread_cond_wait(&w->cond, &w->lock);
	bool confined = w->confined;
	pthread_mutex_unlock(&w->lock);
	if (!confined) {
		log_error("PCI hotplug: its thread could not confine itself");
		return -EPERM;
	}
	return 0;
}

int hp_worker_call(struct hp_worker *w, int (*fn)(void *), void *arg)
{
	if (!w->started)
		return -ENODEV;
	pthread_mutex_lock(&w->lock);
	if (w->stop) { /* the VM is going: nobody would run it */
		pthread_mutex_unlock(&w->lock);
		return -ESHUTDOWN;
	}
	w->fn = fn;
	w->arg = arg;
	pthread_cond_broadcast(&w->cond);
	while (w->fn)
		pthread_cond_wait(&w->cond, &w->lock);
	int r = w->result;
	pthread_mutex_unlock(&w->lock);
	return r;
}

void hp_worker_stop(struct hp_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_lock(&w->lock);
	if (w->fn) { /* posted as it stopped: its caller is told, not left waiting */
		w->fn = NULL;
		w->result = -ESHUTDOWN;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	w->started = false;
}
