/* What the parts of the control plane share (control.c runs the phases, control_config.c builds
 * the configuration from the API's model, control_vm.c hands VMs over and saves, restores and
 * receives them, control_backend.c is the router's backend, control_live.c its live changes).
 * Private to vmm/api/control*.c. */
#ifndef VMM_API_CONTROL_INTERNAL_H
#define VMM_API_CONTROL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vmm/api/api_http.h"
#include "vmm/api/api_router.h"
#include "vmm/api/control.h"
#include "vmm/descriptors/device_vm.h"
#include "vmm/migration/vm_migrate.h"
#include "vmm/snapshot/working_set_restore.h"
#include "vmm/snapshot/working_set_stop.h"
#include "vmm/vm/vm.h"

/* Where the VM comes from, decided from the command line and the config file. */
enum vm_source { FROM_API, FROM_RESTORE, FROM_MIGRATION, FROM_KERNEL };

struct control {
	struct vm_config *cfg;
	struct api api;
	struct api_http *http;
	struct vm vm;
	bool vm_created;
	int start_fd; /* eventfd: the API thread created the VM (InstanceStart) */
	/* the main thread has started it (vm_run()'s on_started, ctl_mark_started()): the API's
	 * start request answers only then, a held API socket opens only then, and a received VM
	 * is reported running only then, so that no run-time request reaches a VM whose threads
	 * (the hotplug thread: vmm/vm/hotplug_worker.c) are not started yet */
	pthread_mutex_t started_lock;
	pthread_cond_t started_cond;
	bool started;
	/* a received VM's model (--migrate-from), for api_set_running() once it runs: set by
	 * ctl_report_running() when the receive ended first */
	bool run_pending;
	struct api_model run_model;
	/* While the API thread waits in hand_over(), the main thread asks it to confine itself
	 * through these (its event loop is not running then). */
	bool api_waiting;
	bool confine_req;
	int confine_result; /* 1: pending */
	char *append;
	int disk_index[API_MAX_DRIVES]; /* model drive i is disk disk_index[i]; -1: none */
	/* Live migration: the last one sent from here (until the next or the end), and the
	 * incoming one's cancel (set when the VMM ends while it waits) and result. */
	struct vm_migration *mig;
	atomic_bool mig_cancel;
	int recv_status;
	/* --migrate-from: the receiving thread built the VM during the pre-copy and the main thread
	 * runs it (paused until the migration commits); the thread is joined after vm_run(). */
	atomic_bool recv_early;
	pthread_t recv_thread;
	bool recv_joinable;
	/* Set before the API thread starts: only FROM_API lets a request build the VM (the main
	 * thread builds the others, from *cfg, which a load or a start would replace). */
	enum vm_source from;
	/* The config file's metrics_path set the sink: a start that fails before the VM runs
	 * removes the file it created (metrics_discard()). */
	bool config_metrics;
	bool ran; /* vm_run() was reached */
	/* restore_vm() failed with a message already logged (the VM's build): --restore does not
	 * say it twice */
	bool restore_logged;
	/* A load with "working_set": "record": until PUT /vmm/working-set stops it */
	struct ws_recording ws_rec;
	/* ... and who stops it: a request or its time limit, the first one
	 * (vmm/snapshot/working_set_stop.h) */
	struct ws_stopper ws_stop;
};

/* ---- control_config.c ---- */

/* A request may build the VM only where the command line left that to the API: 0, or -EBUSY
 * with the reason in err. */
int ctl_api_may_build(const struct control *c, char *err, size_t errlen);
/* A VM described by its command line or a snapshot: model drive i is disk i. */
void ctl_identity_disk_index(struct control *c);
/* The NICs the model's MMDS configuration names answer MMDS. */
void ctl_attach_mmds(struct control *c, const struct api_model *m);
/* InstanceStart, on the broker: the VM built from the model. */
int ctl_build_here(struct control *c, const struct api_model *m, char *err, size_t errlen);
/* An empty configuration with how this process runs, for a snapshot's or a migration's. */
void ctl_process_config(const struct control *c, struct vm_config *fresh);

/* ---- control_vm.c ---- */

/* vm_run()'s on_started hook (on the main thread), or the VMM gives up before it: the API's
 * start request may answer, a held API socket opens (api_http_open()) and a received VM
 * reported by ctl_report_running() is now the API's running VM. */
void ctl_mark_started(void *opaque);
/* A received VM's model, the API's running VM (api_set_running()) once the VM runs: at once
 * when ctl_mark_started() ran already, else by it. */
void ctl_report_running(struct control *c);
/* Hands a VM built by the API thread to the main thread and waits until it runs. */
int ctl_hand_over(struct control *c);
/* The main thread, before it runs the VM: the API thread confines itself. Its result. */
int ctl_confine_api(struct control *c);
/* True while a migration from here runs. */
bool ctl_migrating(struct control *c);
/* Why a request that would touch the VM is refused because of its migration (`running` while
 * one runs), or NULL. */
const char *ctl_migration_refusal(struct control *c, const char *running);
/* ctl_migration_refusal()'s message into err and -EBUSY, or 0. */
int ctl_refuse_for_migration(struct control *c, const char *running, char *err, size_t errlen);
/* The same for a change the configuration records (a live change). */
int ctl_refused_while_migrating(struct control *c, char *err, size_t errlen);
/* Builds the VM of a snapshot into c->vm, in this thread. */
int ctl_restore_vm(struct control *c, const struct api_snapshot_load *p, char *err, size_t errlen);
int ctl_snapshot_create_here(struct control *c, const char *state, const char *mem, bool diff,
			     char *err, size_t errlen);
/* PUT /snapshot/load, on the broker, then on the API thread. */
int ctl_load_here(struct control *c, const struct api_snapshot_load *p, char *err, size_t errlen);
int ctl_hand_over_loaded(struct control *c, const struct api_snapshot_load *p);
/* Receives a migrating VM into c->vm on this thread. */
int ctl_receive_vm(struct control *c, const char *url, int timeout_ms,
		   const struct vm_migrate_early_start *early);
/* PUT /vmm/receive-migration, on the broker, then on the API thread. */
int ctl_receive_here_api(struct control *c, const char *url, char *err, size_t errlen);
int ctl_hand_over_received(struct control *c);

/* ---- control_device_check.c ---- */

/* api_backend_ops.check_device, on the broker (it opens a tap with CAP_NET_ADMIN). */
int ctl_check_device(const struct device_desc *d, const json_t *doc, char *err, size_t errlen);

/* ---- control_hotplug.c ---- */

/* api_backend_ops.hotplug_add and hotplug_remove. */
int ctl_hotplug_add(void *ctx, const struct api_hotplug_add *req, char *id, int *slot, char *err,
		    size_t errlen);
int ctl_hotplug_remove(void *ctx, const struct api_hotplug_remove *req, char *err, size_t errlen);
/* A live change to hot-added device `id` of descriptor `d` (its PATCH): -ENOENT when no
 * hot-added device of d has that id; else the descriptor's live set's result. */
int ctl_hotplug_live_set_of(struct control *c, const struct device_desc *d, const char *id,
			    struct device_live_set *s, char *err, size_t errlen);
/* api_backend_ops.hotplug_live_set. */
int ctl_hotplug_live_set(void *ctx, const struct device_desc *d, const char *id,
			 struct device_live_set *s, char *err, size_t errlen);
/* A snapshot or a migration is refused while the guest has a PCI hotplug event to answer
 * (vm_hotplug_check_quiet()): -EBUSY with the reason, or 0. Hot-added devices themselves are in
 * the configuration and the state like boot ones. */
int ctl_refuse_for_hotplug(struct control *c, char *err, size_t errlen);

/* api_backend_ops.resize (control_resize.c): the vCPUs made req->desired_vcpus, recorded in
 * the configuration (--cpus boot=N,max=M) and the model (GET /vm/config). */
int ctl_resize(void *ctx, const struct api_resize *req, char *err, size_t errlen);
/* A snapshot, fork or migration is refused while the guest has a vCPU hotplug event to answer
 * (vm_cpuhp_check_snapshot()): -EBUSY with the reason, or 0. */
int ctl_refuse_for_cpu_hotplug(struct control *c, char *err, size_t errlen);

/* ---- control_backend.c ---- */

/* The router's backend over c (api_router.h). */
extern const struct api_backend_ops ctl_backend;
/* The metrics sink with its line fields. 0 or -errno with err. */
int ctl_set_metrics(const char *path, const char *id, const json_t *properties, char *err,
		    size_t errlen);

/* ---- control_live.c: live changes, each through its device's descriptor (struct
 * device_live) ---- */

/* api_backend_ops.live_set and live_get (api_router.h). */
int ctl_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		 char *err, size_t errlen);
int ctl_live_get(void *ctx, const struct device_desc *d, const char *view, json_t **doc);

/* ---- control_fork.c ---- */

/* api_backend_ops.fork (api_router.h): PUT /vmm/fork. */
int ctl_fork(void *ctx, const json_t *body, json_t **doc, char *err, size_t errlen);
/* api_backend_ops.working_set_stop (api_router.h): PUT /vmm/working-set. */
int ctl_working_set_stop(void *ctx, json_t **doc, char *err, size_t errlen);
/* A restore started recording its working set: who may stop it, and after `limit_ms` (0: no
 * limit) the VMM does. A limit that cannot be set is logged (a request still stops it). */
void ctl_working_set_arm(struct control *c, uint64_t limit_ms);

#endif
