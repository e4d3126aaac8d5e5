/* Live migration, the destination side: the receiver of vmm/migration into a new VM, restored
 * through the snapshot path (snapshot_open_image(), vm_create_migrated(), snapshot_restore()). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/base/errors.h"
#include "vmm/base/log.h"
#include "vmm/kvm/cpuid.h"
#include "vmm/machine/dev_net.h"
#include "vmm/machine/vm_migrate.h"
#include "vmm/machine/vm_pause.h"
#include "vmm/migration/mig_recv.h"
#include "vmm/migration/mig_url.h"

/* What the API thread calls to receive a VM (PUT /vmm/receive-migration, before a VM exists), on
 * top of its own list and its setup list (which has the Unix socket, bind and listen): the RAM's
 * memfd, a TCP listener, and accept4()/poll() of the one connection. */
static const struct sandbox_rule recv_rules[] = {
    SB_ALLOW(SYS_memfd_create),
    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ARG_EQ(SYS_socket, 0, AF_INET),
    SB_ARG_EQ(SYS_socket, 0, AF_INET6),
    SB_ALLOW(SYS_bind),
    SB_ALLOW(SYS_listen),
    SB_ALLOW(SYS_accept4),
    SB_ALLOW(SYS_setsockopt),
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_ftruncate),
    SB_ALLOW(SYS_unlink),
    SB_ALLOW(SYS_mincore), /* mig_local_populate() (madvise is in every thread's list) */
};
const struct sandbox_list vm_migrate_recv_sandbox = SANDBOX_LIST("migration-recv", recv_rules);

struct dest {
	struct guest_mem mem; /* until the VM takes it */
	bool vm_built;	      /* vm_create_migrated() was called: vm_destroy() on failure */
};

/* Guest RAM for a copying migration: a memfd mapped shared (mig_local_map()), the layout the
 * source announced, so that a later local migration from here can hand it on. */
static int hello(void *opaque, const struct mig_hello *h, struct guest_mem **mem, char *err,
		 size_t errlen)
{
	struct dest *d = opaque;
	if (h->flags & MIG_HELLO_LOCAL)
		return 0; /* the source's memfd follows */
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)h->ram_size)) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "no memory file for %llu bytes of RAM: %s",
			 (unsigned long long)h->ram_size, strerror(-r));
		return r;
	}
	int r = mig_local_map(&d->mem, fd, h, err, errlen);
	*mem = r ? NULL : &d->mem;
	return r;
}

static int memfd(void *opaque, int fd, const struct mig_hello *h, struct guest_mem **mem, char *err,
		 size_t errlen)
{
	struct dest *d = opaque;
	int r = mig_local_map(&d->mem, fd, h, err, errlen);
	*mem = r ? NULL : &d->mem;
	return r;
}

static const struct mig_recv_ops recv_ops = {.hello = hello, .memfd = memfd};

/* A debug line with CLOCK_MONOTONIC, the clock of the source's lines (vm_migrate.c). */
static void log_step(const char *what)
{
	log_debug("migration: %s at %llu us", what, (unsigned long long)(vm_monotonic_ns() / 1000));
}

/* Waits for the source's connection in slices of 100 ms, so that `*cancel` ends the wait. */
static int wait_readable(int fd, int timeout_ms, const atomic_bool *cancel)
{
	for (long long waited = 0; timeout_ms < 0 || waited < timeout_ms; waited += 100) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (cancel && atomic_load(cancel))
			return -ECANCELED;
		int r = poll(&p, 1, 100);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	return -ETIMEDOUT;
}

static int accept_source(const char *url, int timeout_ms, const atomic_bool *cancel)
{
	char err[256];
	struct mig_url u;
	int l = mig_url_parse(url, 1, &u, err, sizeof(err));
	if (!l)
		l = mig_url_listen(&u, err, sizeof(err));
	if (l >= 0) {
		log_info("migration: waiting for the source on %s", url);
		int r = wait_readable(l, timeout_ms, cancel);
		/* accept_one closes the listener (and removes a Unix socket's path) in every case
		 */
		l = mig_url_accept_one(l, &u, r ? 0 : 1000, err, sizeof(err));
		if (r && l >= 0)
			close(l);
		if (r) {
			l = r;
			snprintf(err, sizeof(err), "waiting for the source: %s", strerror(-r));
		}
	}
	if (l < 0)
		log_error("migration from %s: %s", url, err);
	return l;
}

/* The source's taps replace the replayed NICs' names (a single-queue tap takes one process at a
 * time): NIC i is built on the received fd, which the recorded option still names by its tap. */
static int use_taps(struct vm_config *cfg, const struct mig_receiver *r, char *err, size_t errlen)
{
	for (int i = 0; i < (int)MIG_MAX_TAPFDS; i++) {
		if (!(r->taps & (1u << i)))
			continue;
		struct virtio_net_opts *o = dev_net_opts_edit(cfg, i);
		if (!o || (o->kind != VIRTIO_NET_TAP && o->kind != VIRTIO_NET_TAPFD) ||
		    o->queues > 1) {
			snprintf(err, errlen,
				 "the source handed over a tap for NIC %d, which is not a "
				 "single-queue tap NIC in its configuration",
				 i);
			return -EINVAL;
		}
		o->kind = VIRTIO_NET_TAPFD;
		o->tapfd = r->tapfd[i];
	}
	return 0;
}

/* The taps the built NICs took (closed with the VM from now on) leave the receiver's hands. */
static void taps_taken(struct vm *vm, struct mig_receiver *r)
{
	for (int i = 0; i < (int)MIG_MAX_TAPFDS; i++)
		if ((r->taps & (1u << i)) && dev_net_took_tapfd(vm, i))
			r->taps &= ~(1u << i);
}

/* The VM from the received state: configuration, RAM, then every saved state set back. */
static int build(struct vm *vm, struct vm_config *cfg, struct mig_receiver *r, struct dest *d,
		 char *err, size_t errlen)
{
	struct snapshot_load l;
	int ret = snapshot_open_image(&l, r->reader.buf, r->reader.len, cfg, err, errlen);
	if (!ret)
		ret = use_taps(cfg, r, err, errlen);
	if (!ret && cfg->mem_size != d->mem.ram_size) {
		snprintf(err, errlen, "the state's VM has %llu bytes of RAM, the stream %llu",
			 (unsigned long long)cfg->mem_size, (unsigned long long)d->mem.ram_size);
		ret = -EINVAL;
	}
	int status = ret ? VMM_EXIT_USAGE : vm_create_migrated(vm, cfg, &d->mem);
	d->vm_built = !ret;
	if (d->vm_built) {
		vm->migrated = true;
		taps_taken(vm, r);
	}
	if (!ret && status) {
		snprintf(err, errlen, "the VM could not be built here (see the log)");
		ret = -EIO;
	}
	if (!ret)
		ret = snapshot_restore(vm, &l, err, errlen);
	snapshot_close(&l);
	return ret;
}

int vm_migrate_receive(struct vm *vm, struct vm_config *cfg, const char *url, int timeout_ms,
		       const atomic_bool *cancel)
{
	/* before the wait: building the VM is part of the guest's pause */
	cpuid_warm_up(cfg->kvm_path);
	int fd = accept_source(url, timeout_ms, cancel);
	if (fd < 0)
		return VMM_EXIT_USAGE;
	struct dest d = {0};
	struct mig_chan c;
	struct mig_receiver r = {.ops = &recv_ops, .opaque = &d};
	char err[512] = "";
	mig_chan_init_fd(&c, fd, cancel);
	r.chan = &c;
	int ret = mig_recv(&r, err, sizeof(err));
	if (!ret) {
		log_step("stream received");
		ret = build(vm, cfg, &r, &d, err, sizeof(err));
	}
	if (!ret)
		log_step("VM built");
	/* A refused VM is gone before the source hears of it: the source takes its disks' locks
	 * back (vm_migrate.c) as soon as it does. */
	if (ret && d.vm_built)
		vm_destroy(vm);
	if (ret)
		mig_recv_refuse(&r, -ret, err);
	else if ((ret = mig_recv_ready(&r, err, sizeof(err))))
		vm_destroy(vm); /* nothing left behind: the source keeps its guest */
	if (ret) {
		log_error("migration from %s failed: %s", url, err);
	} else {
		log_step("COMMIT received");
		log_info("migration: %u rounds, %llu pages received; running", r.rounds,
			 (unsigned long long)r.pages);
	}
	guest_mem_free(&d.mem); /* nothing when the VM took it */
	mig_recv_free(&r);
	mig_chan_release(&c);
	close(fd);
	return ret ? VMM_EXIT_ERROR : 0;
}
