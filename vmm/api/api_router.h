/* The API's request layer: method + path + body in, status + JSON body out. It owns the VM's
 * lifecycle state as the API sees it and decides which request is allowed in which state; what
 * acts on a VM or the host goes through a table of backend functions (control.c implements it
 * over a real VM; unit tests and the fuzz target use fakes). Pure code: no sockets, no files,
 * no threads of its own.
 *
 * Paths and bodies are Firecracker's (a subset; see docs/control-plane.md and docs/api.md); our
 * own additions live under /vmm/. Success: 204 for PUT/PATCH, 200 with JSON for GET. Errors, as
 * Firecracker answers them: a JSON body {"fault_message": "..."} with 400 for everything the
 * client can act on (bad body, unknown path, id or method, not allowed in this state, a failed
 * action, a file a PUT names that cannot be used, a body over max_body), 413 for an MMDS store
 * over its limit, 500 only when the router itself cannot answer. */
#ifndef VMM_API_ROUTER_H
#define VMM_API_ROUTER_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/api/api_hotplug.h"
#include "vmm/api/api_migration.h"
#include "vmm/api/api_model.h"
#include "vmm/api/api_resize.h"
#include "vmm/mmds/mmds.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/snapshot/working_set.h"

struct cpu_template; /* the architecture's (x86: host/kvm/x86/cpu_template.h) */

enum api_state { API_NOT_STARTED, API_RUNNING, API_PAUSED, API_STOPPING };

/* A setting of the VM that a snapshot load may change: kept as the snapshot has it, or turned
 * off or on. */
enum api_load_setting { API_LOAD_AS_SAVED, API_LOAD_OFF, API_LOAD_ON };

/* PUT /snapshot/load, as the router hands it to the backend. */
struct api_snapshot_load {
	const char *state_path, *mem_path;
	/* mem_backend Uffd: mem_path is the socket of a page-fault handler
	 * (vmm/snapshot/vm_uffd.h), not the memory file */
	bool uffd;
	bool resume; /* resume_vm: run it, else leave it paused */
	/* Dirty-page logging for Diff snapshots: Firecracker's track_dirty_pages (or its older
	 * name enable_diff_snapshots) decides it for the restored VM, off when absent. */
	enum api_load_setting track_dirty;
	/* Transparent huge pages: huge_pages Snapshot (the default), None or Transparent. */
	enum api_load_setting thp;
	/* network_overrides, each for the NIC its id names (snapshot_open() in
	 * vmm/snapshot/vm_snapshot.h) */
	const struct snapshot_nic_override *nics;
	int nnics;
	/* drive_overrides and vsock_override: other files for the snapshot's drives and vsock,
	 * which count as the operator's (vmm/snapshot/restore_paths.h) */
	const struct snapshot_path_override *paths;
	int npaths;
	/* ours, "working_set": load (the default: STATE.working-set when there is one), off,
	 * or record (vmm/snapshot/working_set.h) */
	enum ws_mode working_set;
	/* ours, "working_set_record_ms": with "record", the VMM stops the recording itself this
	 * long after the restore (vmm/snapshot/working_set_stop.h); 0: only a request stops it */
	uint64_t working_set_record_ms;
	/* clock_realtime: kvmclock advanced by the wall time since the snapshot (x86 KVM's
	 * KVM_CLOCK_REALTIME, host/kvm/kvm_state.h), else resumed where it stopped */
	bool clock_realtime;
};

/* What the router asks of a VM. Each returns 0 or -errno; `err` takes a message for the client
 * where one is useful. Called with the router's lock held, from the API thread. */
struct api_backend_ops {
	/* InstanceStart: build and start the VM the model describes. */
	int (*start)(void *ctx, const struct api_model *m, char *err, size_t errlen);
	/* PUT /boot-source and a device's PUT whose body names a host file (device_api.host_file:
	 * PUT /drives), before the model takes the body: the files it names, opened and checked on
	 * the host as the VM will use them (Firecracker opens them at PUT): the kernel (and
	 * initrd, NULL: none), and a drive's file in its mode (`ro`). `err` names the path and the
	 * problem. Optional (NULL: checked at InstanceStart only). */
	int (*check_boot_source)(void *ctx, const char *kernel, const char *initrd, char *err,
				 size_t errlen);
	int (*check_drive)(void *ctx, const char *path, bool ro, char *err, size_t errlen);
	/* A device's PUT, once its document `doc` passed every other check: what it names on
	 * the host, checked as Firecracker does at PUT (a NIC's tap must exist, a vsock's socket
	 * folder, a pmem file); `err` says what is wrong. Optional (NULL: at InstanceStart). */
	int (*check_device)(void *ctx, const struct device_desc *d, const json_t *doc, char *err,
			    size_t errlen);
	/* PUT /cpu-config and machine-config cpu_template, once the model took the body: the
	 * template checked against this host's KVM (vendor, leaves, features it sets; host/kvm/
	 * x86/cpu_template.h). Optional (NULL: at InstanceStart). */
	int (*check_cpu_template)(void *ctx, const struct cpu_template *t, char *err,
				  size_t errlen);
	int (*pause)(void *ctx);
	int (*resume)(void *ctx);
	int (*ctrl_alt_del)(void *ctx);
	/* PowerButton: a press of the ACPI power button; -ENODEV without ACPI. Optional (NULL:
	 * refused). */
	int (*power_button)(void *ctx);
	/* Graceful stop: Ctrl-Alt-Del, then a forced stop after timeout_ms. Returns at once. */
	int (*stop)(void *ctx, unsigned timeout_ms);
	/* A live change of a running device (PATCH /drives, /network-interfaces, /balloon,
	 * /balloon/statistics, /hotplug/memory), made by its descriptor's hook (struct
	 * device_live.set in vmm/descriptors/device_table.h) on the device that the model's
	 * document `index` of `d` is (0 for a device without ids). A rate limiter's patch changes
	 * the buckets it names and fills s->rl_now with the limits after it. -ENODEV when the VM
	 * has no such device. Optional (NULL: no live change). */
	int (*live_set)(void *ctx, const struct device_desc *d, int index,
			struct device_live_set *s, char *err, size_t errlen);
	/* The running device's document (struct device_live.get: GET /balloon,
	 * /balloon/statistics, /hotplug/memory) into *doc: 0, -ENODEV when the VM has none,
	 * -ENODATA when the view is off. Optional (NULL: none). */
	int (*live_get)(void *ctx, const struct device_desc *d, const char *view, json_t **doc);
	/* PUT /metrics: lines to `path`, each with "id": `id` (NULL: none) and "properties" (an
	 * object of strings; NULL: none) besides the counters (Firecracker's emit_id, properties).
	 */
	int (*set_metrics)(void *ctx, const char *path, const char *id, const json_t *properties,
			   char *err, size_t errlen);
	/* PUT /logger (api_logger.h): the body as sent. Optional (NULL: refused). */
	int (*set_logger)(void *ctx, const json_t *body, char *err, size_t errlen);
	int (*flush_metrics)(void *ctx);
	/* The metrics document (new reference; its "devices" and "vcpus" arrays serve
	 * /vmm/devices and /vmm/vcpus), or NULL. */
	json_t *(*metrics)(void *ctx);
	/* Counts a request and whether it failed (optional). */
	void (*count_request)(void *ctx, unsigned status);
	/* PUT /snapshot/create of a paused VM (vmm/snapshot/vm_snapshot.h). */
	int (*snapshot_create)(void *ctx, const char *state_path, const char *mem_path, bool diff,
			       char *err, size_t errlen);
	/* PUT /snapshot/load before start: builds the VM from the snapshot with the request's
	 * settings and overrides, and runs it, paused unless p->resume. */
	int (*snapshot_load)(void *ctx, const struct api_snapshot_load *p, char *err,
			     size_t errlen);
	/* Live migration (vmm/migration/vm_migrate.h, api_migration.h); optional (NULL: refused).
	 * Send: the running or paused VM to p->url, in the background; -EBUSY while one runs.
	 * Progress: the last migration's counters and error; -ENOENT when none was started. Cancel:
	 * -ENOENT when none runs. Receive, before start: waits for a source on `url`, builds the VM
	 * it sends and runs it. */
	int (*migrate_send)(void *ctx, const struct api_send_migration *p, char *err,
			    size_t errlen);
	int (*migrate_progress)(void *ctx, struct mig_progress *p, char *err, size_t errlen);
	int (*migrate_cancel)(void *ctx);
	int (*migrate_receive)(void *ctx, const char *url, char *err, size_t errlen);
	/* Device hotplug (api_hotplug.h; vmm/vm/hotplug.h), on a running VM; optional (NULL:
	 * refused). Add: the device plugged, started and announced to the guest; `id` (room for
	 * API_HOTPLUG_ID_MAX) gets its id, the body's or one chosen here, *slot its bus 0 device
	 * number. Remove: asks the guest to release the device and waits for it (req->timeout_ms,
	 * 0: the default); the device stays when the guest does not. */
	int (*hotplug_add)(void *ctx, const struct api_hotplug_add *req, char *id, int *slot,
			   char *err, size_t errlen);
	int (*hotplug_remove)(void *ctx, const struct api_hotplug_remove *req, char *err,
			      size_t errlen);
	/* A PATCH on the {id} route of device d's hot-added instance `id` (PATCH /drives/{id},
	 * /network-interfaces/{id}): the change `s` (its rate limits, a NIC's egress policy, as
	 * struct device_live_set has them). -ENOENT when no hot-added instance of d has the id.
	 * Optional (NULL: none). */
	int (*hotplug_live_set)(void *ctx, const struct device_desc *d, const char *id,
				struct device_live_set *s, char *err, size_t errlen);
	/* PUT /vmm/vm.resize (api_resize.h; vmm/vm/cpu_hotplug.h), on a running VM: the vCPUs
	 * made req->desired_vcpus; a shrink waits for the guest's ejects (req->timeout_ms, 0: the
	 * default). Optional (NULL: refused). */
	int (*resize)(void *ctx, const struct api_resize *req, char *err, size_t errlen);
	/* PUT /vmm/fork (vmm/snapshot/fork.h): the body checked against the VM, its state
	 * captured for children and the answer's document in *doc. Optional (NULL: refused). */
	int (*fork)(void *ctx, const json_t *body, json_t **doc, char *err, size_t errlen);
	/* PUT /vmm/working-set (vmm/snapshot/working_set.h): the recording started by a load
	 * stopped and written; *doc says where and how many pages. -ENOENT when none runs,
	 * -EALREADY when its time limit (or an earlier request) stopped it. */
	int (*working_set_stop)(void *ctx, json_t **doc, char *err, size_t errlen);
};

struct api {
	pthread_mutex_t lock;
	enum api_state state;
	struct api_model model;
	const struct api_backend_ops *ops;
	void *ctx;
	uint64_t created_ns; /* CLOCK_MONOTONIC */
	char id[65]; /* GET /'s and the metrics' id: --id (64 at most) or anonymous-instance */
	bool metrics_set;
	struct mmds mmds; /* /mmds and /mmds/config; the NICs it answers on share it */
	size_t
	    max_body; /* the largest request body (API_DEFAULT_BODY, --http-api-max-payload-size) */
};

struct api_response {
	unsigned status;
	char *body; /* malloc'd JSON text, or NULL for no body */
};

/* A router in API_NOT_STARTED with the default model. Returns 0 or -errno. */
int api_init(struct api *a, const struct api_backend_ops *ops, void *ctx);
/* A VM started without InstanceStart (command line, config file): state running, and the
 * model replaced by `model_taken` (left empty) unless it is NULL. */
void api_set_running(struct api *a, struct api_model *model_taken);
/* The VM is going away: every later request that would touch it gets 400. Any thread. */
void api_set_stopping(struct api *a);
void api_destroy(struct api *a);

/* Serves one request. `body` may be NULL; `body_len` beyond a->max_body means the body was
 * cut (the HTTP layer refuses it first) and answers 400. Always fills *out; the caller frees
 * out->body. */
void api_handle(struct api *a, const char *method, const char *path, const char *body,
		size_t body_len, struct api_response *out);

/* An error answer made without the router (the HTTP layer's refusals): `status` and a JSON
 * {"fault_message": msg} body (non-printable bytes of msg become '?'). */
void api_fault_response(unsigned status, const char *msg, struct api_response *out);

const char *api_state_name(enum api_state s);

#endif
