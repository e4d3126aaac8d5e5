/* Live migration, the source side: the sender of vmm/migration over a running VM. */
#include "vmm/migration/vm_migrate.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "host/kvm/kvm_state.h"
#include "virtio/core/device.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/migration/stream/mig_format.h"
#include "vmm/migration/stream/mig_url.h"
#include "vmm/snapshot/cpu_check.h"
#include "vmm/vm/vm_pause.h"

struct vm_migration {
	struct vm *vm;
	pthread_t thread;
	int fd;
	struct mig_chan chan;
	struct mig_sender s;
	char *config;
	uint8_t *cpu_model; /* the guest's, for HELLO (vmm/snapshot/cpu_check.h); may be NULL */
	size_t cpu_model_len;
	struct mig_tapfd taps[VM_MAX_NICS]; /* handed over after the pause (unix: only) */
	uint64_t *kvm_bits;
	bool kvm_logging; /* this migration started KVM's dirty log */
	bool was_paused;  /* by the API before the migration: a failure leaves it paused */
	/* the disks' locks dropped for the destination (device_save_hand_over()) */
	bool disks_handed_over;
	unsigned long long paused_us; /* CLOCK_MONOTONIC once paused for the last round */
	pthread_mutex_t lock;
	char err[512];
	int ret;
};

/* What the API thread calls to start a migration (mig_url_connect(): a Unix or TCP socket and a
 * connect() with a time limit; a tcp: name is resolved there too), on top of its own list. The
 * migration thread it then creates inherits the API thread's filter (sandbox.h), which already
 * has all the sender calls: sendmsg (SCM_RIGHTS for local), recvmsg, poll, KVM_GET_DIRTY_LOG,
 * the KVM_GET_* of a snapshot's state and KVM_GET/SET_CLOCK of vm_pause()/vm_resume(). */
static const struct sandbox_rule send_rules[] = {
    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ARG_EQ(SYS_socket, 0, AF_INET),
    SB_ARG_EQ(SYS_socket, 0, AF_INET6),
    SB_ALLOW(SYS_connect),
    SB_ALLOW(SYS_getsockopt),	       /* SO_ERROR after the non-blocking connect */
    SB_ALLOW(SYS_setsockopt),	       /* TCP_NODELAY */
    SB_ARG_EQ(SYS_ioctl, 1, SIOCOUTQ), /* mig_chan_drain(): what the peer has not read yet */
    SB_ALLOW(SYS_mincore),	       /* guest_region_extent(): how far the memfd's data goes */
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_flock),     /* the disks' locks go to the destination and come back */
    SB_ALLOW(SYS_fdatasync), /* a disk's data is in its file before the destination opens it */
    SB_ALLOW(SYS_pwrite64),  /* and a qcow2 disk's metadata (issue 51) */
    SB_ALLOW(SYS_clone),     /* the migration thread */
    SB_ALLOW(SYS_clone3),
};
const struct sandbox_list vm_migrate_send_sandbox = SANDBOX_LIST("migration-send", send_rules);

/* ---- what cannot move ---- */

struct check {
	char *err;
	size_t errlen;
};

static int check_dev(struct virtio_dev *dev, void *opaque)
{
	struct check *c = opaque;
	if (dev->ops && dev->ops->save)
		return 0;
	snprintf(c->err, c->errlen,
		 "%s cannot be migrated: it has no snapshot support (a vhost-user device keeps "
		 "its state in its back-end process)",
		 dev->name);
	return -ENOTSUP;
}

/* What cannot move refuses up front: a device without snapshot support (its name and why: a
 * vhost-user device such as virtio-fs keeps its state in another process), RAM served by a
 * page-fault handler, and for `local` guest RAM that is not one shared memory file. Returns 0
 * or -ENOTSUP with the reason. */
static int vm_migrate_check(struct vm *vm, bool local, char *err, size_t errlen)
{
	struct check c = {err, errlen};
	if (vm->uffd) {
		snprintf(err, errlen,
			 "a VM whose RAM a page-fault handler serves cannot be migrated");
		return -ENOTSUP;
	}
	const char *why = device_table_unsaveable(vm->cfg);
	if (why) {
		snprintf(err, errlen, "this VM cannot be migrated: %s", why);
		return -ENOTSUP;
	}
	int r = vm_for_each_virtio_dev(vm, check_dev, &c);
	if (r)
		return r;
	if (local && (!vm->mem.shared || vm->mem.regions[0].fd < 0)) {
		snprintf(err, errlen,
			 "local migration needs guest RAM in shared memory (a memfd); this VM's "
			 "RAM is private");
		return -ENOTSUP;
	}
	return 0;
}

/* ---- the sender's callbacks ---- */

/* CLOCK_MONOTONIC in microseconds, for the debug lines that time the pause: the destination logs
 * the same clock (vm_migrate_recv.c, the vCPUs' first KVM_RUN in vcpu.c), so the two logs line
 * up into what the guest's pause is made of (docs/migration.md). */
/* KVM's log of the guest's writes, ORed into the sender's bitmap. */
static int dirty_log(void *opaque, uint64_t *bitmap)
{
	struct vm_migration *m = opaque;
	size_t words = guest_mem_dirty_words(&m->vm->mem);
	memset(m->kvm_bits, 0, words * sizeof(uint64_t));
	int r = kvm_dirty_log_get(&m->vm->kvm, &m->vm->mem, m->kvm_bits);
	for (size_t i = 0; !r && i < words; i++)
		bitmap[i] |= m->kvm_bits[i];
	return r;
}

static int stop_vm(void *opaque, char *err, size_t errlen)
{
	struct vm_migration *m = opaque;
	m->was_paused = vm_is_paused(m->vm);
	int r = vm_pause_capturing(m->vm); /* the vCPUs' state is saved while the last pages go */
	if (r) {
		snprintf(err, errlen, "cannot pause the VM for the final round: %s", strerror(-r));
		return r;
	}
	m->paused_us = mono_us(); /* the guest is stopped from here: the disks' flush counts */
	r = kvm_vm_flush_to_ram(&m->vm->kvm, err, errlen); /* before the last dirty log */
	if (r) {
		if (!m->was_paused)
			vm_resume(m->vm);
		return r;
	}
	/* the destination opens the disks by path once the state has arrived
	 * (vm_migrate_recv.c), and takes their flocks as any VMM does: this paused VMM flushes
	 * and unlocks them meanwhile */
	r = device_save_hand_over(m->vm, err, errlen);
	if (r && !m->was_paused)
		vm_resume(m->vm);
	m->disks_handed_over = !r;
	if (!r)
		log_debug("migration: VM paused for the last round at %llu us", m->paused_us);
	return r;
}

static void resume_vm(void *opaque)
{
	struct vm_migration *m = opaque;
	if (m->disks_handed_over && device_save_take_back(m->vm)) {
		/* Another process has a disk now: a guest running on here would write under it. */
		log_error("migration: a disk is locked by another process now; the VM stays "
			  "paused (see the log above)");
		return;
	}
	m->disks_handed_over = false;
	if (m->was_paused)
		return; /* paused by the API before: it stays so */
	int r = vm_resume(m->vm);
	if (r)
		log_error("migration: the VM could not be resumed: %s", strerror(-r));
}

static int save_state(void *opaque, struct snap_writer *w, char *err, size_t errlen)
{
	struct vm_migration *m = opaque;
	int r = vm_snapshot_collect(m->vm, w, err, errlen);
	if (!r)
		log_debug("migration: state collected at %llu us", (unsigned long long)mono_us());
	return r;
}

static const struct mig_send_ops ops = {
    .dirty_log = dirty_log, .stop_vm = stop_vm, .resume_vm = resume_vm, .save_state = save_state};

/* ---- the thread ---- */

/* How long the source keeps its copy of the VM once the destination runs the guest (it has hung
 * up): freeing it takes milliseconds of the host's CPU and memory management, which on the same
 * host landed on the guest's first moments there (the pause the guest saw: 7.5 -> 4 ms, medians
 * of 8 moves, docs/migration.md). */
#define MIG_TEARDOWN_DELAY_MS 100

/* A failed migration consumed the dirty logs a Diff snapshot relies on: every page is dirty. */
static void after_failure(struct vm_migration *m)
{
	struct guest_mem *mem = &m->vm->mem;
	if (m->vm->cfg->track_dirty_pages && mem->dirty)
		for (size_t i = 0; i < guest_mem_dirty_words(mem); i++)
			__atomic_store_n(&mem->dirty[i], ~0ull, __ATOMIC_RELAXED);
}

static void *run(void *opaque)
{
	struct vm_migration *m = opaque;
	char err[512] = "";
	int r = mig_send(&m->s, err, sizeof(err));
	pthread_mutex_lock(&m->lock);
	m->ret = r;
	snprintf(m->err, sizeof(m->err), "%s", err);
	pthread_mutex_unlock(&m->lock);
	if (r) {
		log_error("migration failed, the VM runs on here: %s", err);
		after_failure(m);
		/* write-protect faults for a log nobody reads any more */
		if (m->kvm_logging && !kvm_dirty_log_stop(&m->vm->kvm, &m->vm->mem))
			m->kvm_logging = false;
	} else {
		log_debug("migration: COMMIT sent at %llu us", (unsigned long long)mono_us());
		struct mig_progress p;
		mig_progress_read(&m->s, &p);
		/* the source VMM ends below, so its API cannot answer GET /vmm/migration any
		 * more: this line is the last word on the migration */
		log_info(
		    "migration completed: %u rounds%s, %llu pages, %llu bytes, downtime %llu ms, "
		    "%llu ms in all; paused at %llu us (CLOCK_MONOTONIC)",
		    p.rounds, p.round_limit_reached ? " (max_rounds reached)" : "",
		    (unsigned long long)p.pages, (unsigned long long)p.bytes,
		    (unsigned long long)p.downtime_ms, (unsigned long long)p.total_ms,
		    m->paused_us);
		poll(NULL, 0, MIG_TEARDOWN_DELAY_MS);
		vm_stop(m->vm, VM_STOP_USER, 0); /* the destination runs it now */
	}
	return NULL;
}

/* The single-queue taps of the in-process NICs, which the destination on this host cannot open
 * by name while this VMM holds them (device_save_host_fds()): handed over with TAPFD frames.
 * Returns how many. */
static uint32_t collect_taps(struct vm *vm, struct mig_tapfd *taps)
{
	int fds[VM_MAX_NICS];
	int nfds = device_save_host_fds(vm, fds, VM_MAX_NICS);
	uint32_t n = 0;
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			taps[n++] = (struct mig_tapfd){.nic = (uint32_t)i, .fd = fds[i]};
	return n;
}

static void free_migration(struct vm_migration *m)
{
	if (m->fd >= 0)
		close(m->fd);
	mig_chan_release(&m->chan);
	pthread_mutex_destroy(&m->lock);
	free(m->config);
	free(m->cpu_model);
	free(m->kvm_bits);
	free(m);
}

int vm_migrate_start(struct vm *vm, const char *url, bool local,
		     const struct mig_send_params *limits, struct vm_migration **out, char *err,
		     size_t errlen)
{
	struct mig_url u;
	int r = vm_migrate_check(vm, local, err, errlen);
	if (!r)
		r = mig_url_parse(url, 0, &u, err, errlen);
	if (!r && local && u.kind != MIG_URL_UNIX) {
		snprintf(err, errlen, "local migration needs a unix: destination");
		r = -EINVAL;
	}
	if (!r && u.kind != MIG_URL_UNIX)
		r = device_save_remote_check(vm->cfg, err, errlen); /* a tapfd= NIC */
	if (r)
		return r;
	struct vm_migration *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vm = vm;
	m->fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	mig_sender_init(&m->s);
	m->config = vm_snapshot_config_text(vm);
	m->cpu_model = cpu_check_encode_vm(vm, &m->cpu_model_len);
	m->kvm_bits = calloc(guest_mem_dirty_words(&vm->mem), sizeof(uint64_t));
	if (!m->config || !m->kvm_bits) {
		free_migration(m);
		return -ENOMEM;
	}
	/* KVM logs the guest's writes only when asked (--track-dirty-pages asks at start). */
	if (!local && !vm->cfg->track_dirty_pages) {
		r = kvm_dirty_log_start(&vm->kvm, &vm->mem);
		m->kvm_logging = !r;
	}
	if (!r) {
		m->fd = mig_url_connect(&u, 5000, err, errlen);
		r = m->fd < 0 ? m->fd : 0;
	}
	if (r) {
		free_migration(m);
		return r;
	}
	mig_chan_init_fd(&m->chan, m->fd, &m->s.cancel);
	m->s.chan = &m->chan;
	m->s.mem = &vm->mem;
	m->s.ops = &ops;
	m->s.opaque = m;
	m->s.params = (struct mig_send_params){.max_downtime_ms = limits->max_downtime_ms,
					       .max_rounds = limits->max_rounds,
					       .max_bandwidth = limits->max_bandwidth,
					       .local = local,
					       .nvcpus = vm->ncpus,
					       .config = m->config,
					       .config_len = strlen(m->config),
					       .cpu_model = m->cpu_model,
					       .cpu_model_len = m->cpu_model_len,
					       .taps = m->taps};
	if (u.kind == MIG_URL_UNIX)
		m->s.params.ntaps = collect_taps(vm, m->taps);
	r = -pthread_create(&m->thread, NULL, run, m);
	if (r) {
		snprintf(err, errlen, "cannot start the migration thread: %s", strerror(-r));
		free_migration(m);
		return r;
	}
	*out = m;
	return 0;
}

void vm_migrate_progress(struct vm_migration *m, struct mig_progress *p, char *err, size_t errlen)
{
	mig_progress_read(&m->s, p);
	if (err && errlen) {
		pthread_mutex_lock(&m->lock);
		snprintf(err, errlen, "%s", m->err);
		pthread_mutex_unlock(&m->lock);
	}
}

void vm_migrate_cancel(struct vm_migration *m)
{
	mig_cancel(&m->s);
}

int vm_migrate_join(struct vm_migration *m)
{
	pthread_join(m->thread, NULL);
	int r = m->ret;
	free_migration(m);
	return r;
}
