/* Live migration, the destination side: the receiver of vmm/migration into a new VM, restored
 * through the snapshot path (snapshot_open_config(), vm_create_migrated(), snapshot_attach_state(),
 * snapshot_restore()). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/log.h"
#include "host/kvm/cpu_host.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/descriptors/device_vm.h"
#include "vmm/migration/stream/mig_recv.h"
#include "vmm/migration/stream/mig_url.h"
#include "vmm/migration/vm_migrate.h"
#include "vmm/snapshot/cpu_check.h"
#include "vmm/vm/vm_pause.h"

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
	struct vm *vm;
	struct vm_config *cfg;
	const struct vm_migrate_early_start *early; /* NULL: the caller runs the VM after */
	const atomic_bool *cancel;
	struct guest_mem mem;	/* until the VM takes it */
	struct snapshot_load l; /* the source's configuration, replayed at HELLO; then its state */
	bool vm_built;		/* vm_create_migrated() was called: vm_destroy() on failure */
	bool prebuilt;		/* built during the pre-copy (every device built_beside_source) */
	bool started;		/* early->start() was called: the VM runs paused elsewhere */
};

/* A debug line with CLOCK_MONOTONIC, the clock of the source's lines (vm_migrate.c). */
static void log_step(const char *what)
{
	log_debug("migration: %s at %llu us", what, (unsigned long long)(mono_ns() / 1000));
}

static int build_vm(struct dest *d, char *err, size_t errlen)
{
	int status = vm_create_migrated(d->vm, d->cfg, &d->mem);
	d->vm_built = true;
	d->vm->migrated = true;
	if (status) {
		snprintf(err, errlen, "the VM could not be built here (see the log)");
		return -EIO;
	}
	return 0;
}

/* The source's configuration replayed, and the VM built from it now, while the source still runs
 * its guest, when every device may be (device_desc.built_beside_source): the build, and with
 * `early` the start of its threads, are then not part of the guest's pause. */
static int prepare(struct dest *d, const struct mig_hello *h, char *err, size_t errlen)
{
	int r = snapshot_open_config(&d->l, h->config, d->cfg, err, errlen);
	if (!r && d->cfg->mem_size != h->ram_size) {
		snprintf(err, errlen, "the source's VM has %llu bytes of RAM, its stream %llu",
			 (unsigned long long)d->cfg->mem_size, (unsigned long long)h->ram_size);
		r = -EINVAL;
	}
	if (r || !device_table_built_beside_source(d->cfg))
		return r;
	device_save_open_unlocked(d->cfg); /* the disks' locks once the source hands them over */
	r = build_vm(d, err, errlen);
	d->prebuilt = !r;
	if (!r)
		log_info("migration: the VM is built here while the source still runs it%s",
			 d->early ? "; started, paused" : "");
	if (!r && d->early) {
		d->vm->start_paused = true;
		d->early->start(d->early->opaque);
		d->started = true;
	}
	return r;
}

/* The memory the stream fills: the VM's once built (it took d->mem). */
static struct guest_mem *received_into(struct dest *d)
{
	return d->vm_built ? &d->vm->mem : &d->mem;
}

/* Guest RAM for a copying migration: a memfd mapped shared (mig_local_map()), the layout the
 * source announced, so that a later local migration from here can hand it on. */
/* The guest's CPU model against this host, first: a host that lacks a feature the guest saw is
 * refused before any memory or device is set up (docs/cpu.md). */
static int check_cpu(struct dest *d, const struct mig_hello *h, char *err, size_t errlen)
{
	bool has = h->flags & MIG_HELLO_CPU;
	return cpu_check_model(has ? h->cpu_model : NULL, h->cpu_model_len, "the migration stream",
			       d->cfg->kvm_path, !d->cfg->cpu_check_off, err, errlen);
}

static int hello(void *opaque, const struct mig_hello *h, struct guest_mem **mem, char *err,
		 size_t errlen)
{
	struct dest *d = opaque;
	int cr = check_cpu(d, h, err, errlen);
	if (cr)
		return cr;
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
	if (!r)
		r = prepare(d, h, err, errlen);
	*mem = r ? NULL : received_into(d);
	return r;
}

static int memfd(void *opaque, int fd, const struct mig_hello *h, struct guest_mem **mem, char *err,
		 size_t errlen)
{
	struct dest *d = opaque;
	int r = mig_local_map(&d->mem, fd, h, err, errlen);
	if (!r)
		r = prepare(d, h, err, errlen);
	*mem = r ? NULL : received_into(d);
	return r;
}

static const struct mig_recv_ops recv_ops = {.hello = hello, .memfd = memfd};

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
 * time): NIC i is built on the received fd, which its record still names by its tap. */
static int use_taps(struct vm_config *cfg, const struct mig_receiver *r, char *err, size_t errlen)
{
	for (int i = 0; i < (int)MIG_MAX_TAPFDS; i++) {
		if (!(r->taps & (1u << i)))
			continue;
		int ret = device_save_use_fd(cfg, i, r->tapfd[i], err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* The taps the built NICs took (closed with the VM from now on) leave the receiver's hands. */
static void taps_taken(struct vm *vm, struct mig_receiver *r)
{
	for (int i = 0; i < (int)MIG_MAX_TAPFDS; i++)
		if ((r->taps & (1u << i)) && device_save_took_fd(vm, i))
			r->taps &= ~(1u << i);
}

/* The VM the main thread started paused (prepare()) is parked: vm_run() got through its start
 * long ago unless the pre-copy was very short. -ESHUTDOWN when it stopped instead. */
static int wait_paused(struct vm *vm, const atomic_bool *cancel, char *err, size_t errlen)
{
	uint64_t deadline = mono_ns() + 10ull * 1000000000ull;
	while (!vm_is_paused(vm) && !vm_stopping(vm) && !(cancel && atomic_load(cancel)) &&
	       mono_ns() < deadline) {
		struct timespec t = {0, 200000};
		nanosleep(&t, NULL);
	}
	if (vm_is_paused(vm))
		return 0;
	snprintf(err, errlen, "the VM built here did not start (see the log)");
	return -ESHUTDOWN;
}

/* The VM from the received state: built now unless prepare() built it, then every saved state
 * set back. */
static int build(struct dest *d, struct mig_receiver *r, char *err, size_t errlen)
{
	int ret = snapshot_attach_state(&d->l, &r->reader, r->config, d->cfg, err, errlen);
	if (!ret && !d->prebuilt) {
		ret = use_taps(d->cfg, r, err, errlen);
		if (!ret)
			ret = build_vm(d, err, errlen);
		if (d->vm_built)
			taps_taken(d->vm, r);
	} else if (!ret) {
		ret = device_save_take_locks(d->vm) ? -EBUSY : 0;
		if (ret)
			snprintf(err, errlen, "a disk is locked by another process (see the log)");
	}
	if (!ret && d->started)
		ret = wait_paused(d->vm, d->cancel, err, errlen);
	if (!ret)
		ret = snapshot_restore(d->vm, &d->l, err, errlen);
	if (!ret && d->started)
		vm_pause_clock_set(d->vm); /* the source's, which snapshot_restore() set */
	return ret;
}

/* A failed migration leaves nothing behind before the source hears of it: the source takes its
 * disks' locks back (vm_migrate.c) as soon as it does. A VM started elsewhere is stopped (its
 * runner tears it down); its disks' locks are dropped here first. */
static void undo(struct dest *d)
{
	if (d->started) {
		device_save_release_locks(d->vm);
		vm_stop(d->vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
	} else if (d->vm_built) {
		vm_destroy(d->vm);
	}
}

int vm_migrate_receive(struct vm *vm, struct vm_config *cfg, const char *url, int timeout_ms,
		       const atomic_bool *cancel, const struct vm_migrate_early_start *early)
{
	/* before the wait: building the VM is part of the guest's pause */
	cpu_host_warm_up(cfg->kvm_path);
	int fd = accept_source(url, timeout_ms, cancel);
	if (fd < 0)
		return VMM_EXIT_USAGE;
	struct dest d = {
	    .vm = vm, .cfg = cfg, .early = early, .cancel = cancel, .l = {.mem_fd = -1}};
	struct mig_chan c;
	struct mig_receiver r = {.ops = &recv_ops, .opaque = &d};
	char err[512] = "";
	mig_chan_init_fd(&c, fd, cancel);
	r.chan = &c;
	int ret = mig_recv(&r, err, sizeof(err));
	if (!ret) {
		log_step("stream received");
		ret = build(&d, &r, err, sizeof(err));
	}
	if (!ret)
		log_step("VM state set");
	if (ret) {
		undo(&d);
		mig_recv_refuse(&r, -ret, err);
	} else if ((ret = mig_recv_ready(&r, err, sizeof(err)))) {
		undo(&d); /* nothing left behind: the source keeps its guest */
	}
	if (ret) {
		log_error("migration from %s failed: %s", url, err);
	} else {
		log_step("COMMIT received");
		if (d.started) {
			vm_resume(vm);
			sched_yield();
		}
		log_info("migration: %u rounds, %llu pages received; running", r.rounds,
			 (unsigned long long)r.pages);
	}
	snapshot_close(&d.l);
	guest_mem_free(&d.mem); /* nothing when the VM took it */
	mig_recv_free(&r);
	mig_chan_release(&c);
	close(fd);
	return ret ? VMM_EXIT_ERROR : 0;
}
