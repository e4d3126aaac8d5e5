/* The VM handed from the API thread to the main thread, and the VMs that come from elsewhere:
 * a snapshot's, a migration's; what a migration from here refuses. See control_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/host_path.h"
#include "base/log.h"
#include "host/sandbox/broker.h"
#include "vmm/api/control_internal.h"
#include "vmm/cli/cli.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/snapshot/vm_uffd.h"

/* How long PUT /vmm/receive-migration waits for its source (the request answers after). */
#define RECEIVE_TIMEOUT_MS (10 * 60 * 1000)

/* vm_run()'s on_started hook, on the main thread (its filter: a lock, a write, free()). Until
 * here the API routes no run-time request to the VM: vm_run() starts the hotplug thread
 * (vm_hotplug_start()) before the vCPUs, and a hot-add that reached the VM before it was a
 * bare "No such device" (hp_worker_call()). The router's lock is taken outside started_lock
 * (a start request holds it while it waits on started_lock, ctl_hand_over()). */
void ctl_mark_started(void *opaque)
{
	struct control *c = opaque;
	pthread_mutex_lock(&c->started_lock);
	c->started = true;
	bool report = c->run_pending;
	c->run_pending = false;
	pthread_cond_broadcast(&c->started_cond);
	pthread_mutex_unlock(&c->started_lock);
	if (report) {
		api_set_running(&c->api, &c->run_model);
		api_model_free(&c->run_model);
	}
	/* a VM the command line gives (held by start_api()): its requests are answered now */
	if (api_http_open(c->http))
		log_warn("api: cannot wake the API thread: %s", strerror(errno));
}

void ctl_report_running(struct control *c)
{
	struct api_model m;
	if (api_model_from_config(&m, c->cfg)) {
		api_model_free(&m);
		return;
	}
	pthread_mutex_lock(&c->started_lock);
	bool now = c->started;
	if (!now) { /* ctl_mark_started() takes it */
		c->run_model = m;
		c->run_pending = true;
	}
	pthread_mutex_unlock(&c->started_lock);
	if (now) {
		api_set_running(&c->api, &m);
		api_model_free(&m);
	}
}

/* An API start request hands the VM to the main thread and answers once it runs (at most 30 s),
 * so the next request (a pause, a resume) finds the vCPUs started. */
int ctl_hand_over(struct control *c)
{
	struct timespec deadline;
	uint64_t one = 1;

	c->vm.on_started = ctl_mark_started;
	c->vm.on_started_opaque = c;
	pthread_mutex_lock(&c->started_lock);
	c->api_waiting = true;
	pthread_mutex_unlock(&c->started_lock);
	if (write(c->start_fd, &one, sizeof(one)) < 0) {
		c->api_waiting = false;
		return -errno;
	}
	/* up to 30 s, in 100 ms steps: a stop signal taken meanwhile (the main thread then never
	 * starts the VM) ends the wait within one step, not at the end of the 30 s */
	pthread_mutex_lock(&c->started_lock);
	for (int step = 0; !c->started && step < 300 && !vm_stop_signalled(); step++) {
		if (c->confine_req && c->confine_result == 1) {
			c->confine_result = api_http_confine_here();
			pthread_cond_broadcast(&c->started_cond);
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 100 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000 * 1000 * 1000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&c->started_cond, &c->started_lock, &deadline);
	}
	c->api_waiting = false;
	pthread_mutex_unlock(&c->started_lock);
	return 0;
}

/* The main thread, before it runs the VM: the API thread confines itself, in its event loop or,
 * when it waits in ctl_hand_over(), there. Returns its result. */
int ctl_confine_api(struct control *c)
{
	struct timespec deadline;

	pthread_mutex_lock(&c->started_lock);
	if (!c->api_waiting) {
		pthread_mutex_unlock(&c->started_lock);
		return api_http_confine(c->http);
	}
	c->confine_req = true;
	c->confine_result = 1;
	pthread_cond_broadcast(&c->started_cond);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (c->confine_result == 1)
		if (pthread_cond_timedwait(&c->started_cond, &c->started_lock, &deadline))
			break;
	int r = c->confine_result == 1 ? -ETIMEDOUT : c->confine_result;
	pthread_mutex_unlock(&c->started_lock);
	return r;
}

/* The phase of the last migration from here, or -1 when there was none. */
static int mig_phase(struct control *c)
{
	struct mig_progress p;

	if (!c->mig)
		return -1;
	vm_migrate_progress(c->mig, &p, NULL, 0);
	return (int)p.phase;
}

/* True while a migration from here runs: it pauses and resumes the VM itself, and a pause,
 * resume, snapshot or stop in between would fight it (cancel it first). */
bool ctl_migrating(struct control *c)
{
	int phase = mig_phase(c);
	return phase == MIG_PHASE_IDLE || phase == MIG_PHASE_PRECOPY || phase == MIG_PHASE_STOPPED;
}

/* Why a request that would touch the VM is refused because of its migration: `running` while
 * one from here runs, or, once one completed, that the guest runs on the destination and this
 * VMM ends within moments (vm_migrate.c): the paused copy here is stale, and resuming,
 * snapshotting or moving it again would run the guest twice (its disks are the destination's
 * now). NULL when nothing stands in the way; `running` must not be NULL ("" where only
 * the refusal counts). */
const char *ctl_migration_refusal(struct control *c, const char *running)
{
	if (mig_phase(c) == MIG_PHASE_COMPLETED)
		return "this VM has migrated: it runs on the destination now, and this VMM is "
		       "ending";
	return ctl_migrating(c) ? running : NULL;
}

/* ctl_migration_refusal()'s message into `err` and -EBUSY, or 0. */
int ctl_refuse_for_migration(struct control *c, const char *running, char *err, size_t errlen)
{
	const char *why = ctl_migration_refusal(c, running);
	if (!why)
		return 0;
	snprintf(err, errlen, "%s", why);
	return -EBUSY;
}

/* A run-time change the configuration records (vmm/descriptors/dev_live.h) is refused while a
 * migration from here runs: its destination has built the VM from the configuration it began with,
 * and refuses a state whose configuration differs (vm_migrate_recv.c). */
int ctl_refused_while_migrating(struct control *c, char *err, size_t errlen)
{
	return ctl_refuse_for_migration(c,
					"a live migration of this VM is running: change its "
					"configuration after it (or cancel it)",
					err, errlen);
}

struct ws_stop_call {
	struct control *c;
	json_t **doc;
	char *err;
	size_t errlen;
};

int ctl_restore_vm(struct control *c, const struct api_snapshot_load *p, char *err, size_t errlen)
{
	struct snapshot_load l;
	struct vm_config fresh, cmdline; /* replayed into / the command line's, until it works */
	uint64_t t[6];

	t[0] = mono_us();
	ctl_process_config(c, &fresh);
	const struct snapshot_overrides ov = {p->nics, p->nnics, p->paths, p->npaths};
	int r = snapshot_open(&l, p->state_path, p->uffd ? NULL : p->mem_path, &fresh, &ov, err,
			      errlen);
	if (!r)
		r = control_apply_load_settings(&fresh, p, err, errlen);
	l.clock_realtime = p->clock_realtime;
	if (r) {
		cli_free(&fresh);
		snapshot_close(&l);
		host_path_unconfine_all(); /* snapshot_open() confined its folder */
		return r;
	}
	cmdline = *c->cfg;
	*c->cfg = fresh;
	log_clear_last_error();
	t[1] = mono_us();
	int status = p->uffd ? vm_create_restored_uffd(&c->vm, c->cfg, p->mem_path)
			     : vm_create_restored(&c->vm, c->cfg, l.mem_fd);
	t[2] = t[3] = t[4] = t[5] = mono_us();
	c->vm_created = true;
	if (status) { /* logged: its line is the API's answer too */
		snprintf(err, errlen, "%s", log_last_error());
		r = status == VMM_EXIT_USAGE ? -EINVAL : -EIO;
		c->restore_logged = true;
	}
	if (!r)
		r = snapshot_restore(&c->vm, &l, err, errlen);
	t[3] = mono_us();
	if (!r) /* a restore, a clone: not a migration (ctl_receive_vm()) */
		r = vm_snapshot_new_generation(&c->vm, err, errlen);
	t[4] = mono_us();
	if (!r) /* checked before any vCPU runs (Uffd: loaded too, within a handler's watch) */
		r = working_set_restore(&c->vm, &l, p->state_path, p->working_set, &c->ws_rec, err,
					errlen);
	t[5] = mono_us();
	if (!r)
		r = vm_uffd_restored(&c->vm, err, errlen); /* the handler failed meanwhile? */
	snapshot_close(&l);
	if (r) {
		working_set_recording_end(&c->ws_rec);
		vm_destroy(&c->vm);
		c->vm_created = false;
		cli_free(c->cfg);
		*c->cfg = cmdline;
		host_path_unconfine_all(); /* another load may come, from another folder */
	} else {
		cli_free(&cmdline);
		log_debug("snapshot load: built in %llu us: state file read and checked %llu, VM "
			  "built %llu, state set %llu, new generation %llu, working set %llu",
			  (unsigned long long)(t[5] - t[0]), (unsigned long long)(t[1] - t[0]),
			  (unsigned long long)(t[2] - t[1]), (unsigned long long)(t[3] - t[2]),
			  (unsigned long long)(t[4] - t[3]), (unsigned long long)(t[5] - t[4]));
	}
	return r;
}

int ctl_snapshot_create_here(struct control *c, const char *state, const char *mem, bool diff,
			     char *err, size_t errlen)
{
	if (ctl_refuse_for_migration(c, "a migration is running (PUT /vmm/migration/cancel first)",
				     err, errlen))
		return -EBUSY;
	if (ctl_refuse_for_hotplug(c, err, errlen))
		return -EBUSY;
	/* the files are made by the opener, outside Landlock (host/sandbox/opener.h): a client's
	 * directory needs no --landlock-rules, as with Firecracker */
	return vm_snapshot_create(&c->vm, state, mem, diff, err, errlen);
}

static int working_set_stop_here(void *arg)
{
	struct ws_stop_call *k = arg;
	return working_set_record_stop(&k->c->ws_rec, &k->c->vm, k->doc, k->err, k->errlen);
}

/* The stop itself (ws_stop_fn), from a request or the time limit: on the broker, as a
 * snapshot's files are written. */
static int working_set_stop_on_broker(void *ctx, json_t **doc, char *err, size_t errlen)
{
	struct ws_stop_call k = {ctx, doc, err, errlen};
	return sandbox_broker_run(working_set_stop_here, &k);
}

int ctl_working_set_stop(void *ctx, json_t **doc, char *err, size_t errlen)
{
	struct control *c = ctx;
	return ws_stopper_request(&c->ws_stop, doc, err, errlen);
}

void ctl_working_set_arm(struct control *c, uint64_t limit_ms)
{
	int r = ws_stopper_arm(&c->ws_stop, limit_ms, working_set_stop_on_broker, c);
	if (r)
		log_error("working set: no time limit (%s): stop the recording with PUT "
			  "/vmm/working-set",
			  strerror(-r));
	else if (limit_ms)
		log_info("working set: the recording stops itself after %llu ms",
			 (unsigned long long)limit_ms);
}

/* PUT /snapshot/load, on the broker: the VM restored (handed over by be_snapshot_load()). */
int ctl_load_here(struct control *c, const struct api_snapshot_load *p, char *err, size_t errlen)
{
	int r = ctl_api_may_build(c, err, errlen);
	return r ? r : ctl_restore_vm(c, p, err, errlen);
}

/* The snapshot's VM handed to the main thread (the broker restored it). */
int ctl_hand_over_loaded(struct control *c, const struct api_snapshot_load *p)
{
	/* The router's lock is held (we are its backend): its model is ours to replace. */
	api_model_free(&c->api.model);
	api_model_from_config(&c->api.model, c->cfg);
	c->api.model.mmds_set = mmds_get_config(&c->api.mmds, &c->api.model.mmds);
	ctl_identity_disk_index(c);
	c->vm.start_paused = !p->resume;
	if (p->working_set == WS_RECORD) /* here, on the API thread: its limit's thread */
		ctl_working_set_arm(c, p->working_set_record_ms);
	uint64_t t0 = mono_us();
	int r = ctl_hand_over(c);
	log_debug("snapshot load: the VM ran %llu us after its hand-over",
		  (unsigned long long)(mono_us() - t0));
	return r;
}

/* Receives a migrating VM into c->vm on this thread. The configuration is replayed from the
 * source's into c->cfg (the VM points at it); on failure the command line's is back and no VM
 * is left, so the VMM can take a configuration, a snapshot or another migration; unless `early`
 * had the main thread run the VM already (it stops it and ends the VMM). */
int ctl_receive_vm(struct control *c, const char *url, int timeout_ms,
		   const struct vm_migrate_early_start *early)
{
	struct vm_config fresh, cmdline;

	ctl_process_config(c, &fresh);
	cmdline = *c->cfg;
	*c->cfg = fresh;
	int status = vm_migrate_receive(&c->vm, c->cfg, url, timeout_ms, &c->mig_cancel, early);
	if (status && atomic_load(&c->recv_early)) {
		cli_free(&cmdline); /* the stopped VM still points at c->cfg */
		return status;
	}
	if (status) {
		cli_free(c->cfg);
		*c->cfg = cmdline;
		return status;
	}
	cli_free(&cmdline);
	c->vm_created = true;
	ctl_identity_disk_index(c);
	return 0;
}

/* PUT /vmm/receive-migration, on the broker: the VM received (handed over by
 * be_migrate_receive()). */
int ctl_receive_here_api(struct control *c, const char *url, char *err, size_t errlen)
{
	if (ctl_api_may_build(c, err, errlen))
		return -EBUSY;
	log_clear_last_error();
	int status = ctl_receive_vm(c, url, RECEIVE_TIMEOUT_MS, NULL);
	if (status) {
		snprintf(err, errlen, "%s",
			 log_last_error()[0] ? log_last_error() : "see the VMM's log");
		return status == VMM_EXIT_USAGE ? -EINVAL : -EIO;
	}
	return 0;
}

/* The received VM handed to the main thread. */
int ctl_hand_over_received(struct control *c)
{
	/* The router's lock is held (we are its backend): its model is ours to replace. */
	api_model_free(&c->api.model);
	api_model_from_config(&c->api.model, c->cfg);
	c->api.model.mmds_set = mmds_get_config(&c->api.mmds, &c->api.model.mmds);
	return ctl_hand_over(c);
}
