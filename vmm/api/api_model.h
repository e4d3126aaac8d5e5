/* The VM as the API and the config file describe it, in Firecracker's terms: boot source,
 * machine configuration, the metrics sink, MMDS, and the documents of the devices the device
 * table describes (drives and network interfaces by id among them: api_devices.h). Request
 * bodies are checked and applied here (pure code: no VM, no KVM), and the model is turned into
 * a struct vm_config at InstanceStart (control_build_config()). Every function that takes a body
 * returns 0, or -EINVAL with a message for the client (Firecracker's `fault_message`) in
 * err[0..errlen). */
#ifndef VMM_API_MODEL_H
#define VMM_API_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/rate_limiter.h"
#include "vmm/config/vm_config.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/mmds/mmds_config.h"

#define API_ID_MAX     VIRTIO_BLK_DRIVE_ID_MAX /* drive_id / iface_id bytes, NUL included */
#define API_MAX_DRIVES VM_MAX_DISKS
#define API_MAX_NICS   VM_MAX_NICS

/* The largest request body the API takes by default (400 beyond, as Firecracker): Firecracker's
 * HTTP_MAX_PAYLOAD_SIZE; --http-api-max-payload-size changes it (struct api's max_body). */
#define API_DEFAULT_BODY 51200

/* Room for any fault message the API makes (the router's, the model's, the backend's): what a
 * message repeats comes from the request's path (at most 4096 bytes, http_request.h) and its
 * body, so with the sentences around them every message fits whole for a body up to 64 KiB, never
 * cut (issue 46: they were cut at 255 bytes, mid-sentence); one repeating a larger body (allowed
 * by --http-api-max-payload-size) is cut at this size. tests/unit/test_api_http.c sends the
 * longest. */
#define API_FAULT_MAX (64 * 1024 + 2 * 4096)

struct api_model {
	char *kernel, *initrd, *boot_args;
	/* ours: boot-source firmware_path and firmware_log_path (--firmware, --firmware-log), in
	 * place of a kernel; machine-config acpi false (--acpi off) */
	char *firmware, *firmware_log, *firmware_vars; /* firmware_vars_path: --firmware-vars */
	bool acpi_off;
	unsigned vcpus;
	unsigned max_vcpus; /* ours: machine-config max_vcpus (--cpus max=M); 0: no vCPU hotplug */
	unsigned mem_mib;
	bool track_dirty; /* track_dirty_pages: needed for Diff snapshots */
	bool hugepages;	  /* huge_pages "Transparent": guest RAM on THP (--hugepages) */
	bool smt;	  /* smt: two threads per core (--smt) */
	/* machine-config cpu_template (a static one: "T2", ...; "": None) or PUT /cpu-config (a
	 * custom template, as sent, owned; NULL: none). At most one is set: the last given. */
	char cpu_template[8];
	json_t *cpu_config;
	/* PUT /metrics: the sink, and what its lines carry (Firecracker's emit_id: the instance
	 * id; properties: an object of strings, owned) */
	char *metrics_path;
	bool metrics_emit_id;
	json_t *metrics_properties;
	/* The devices the descriptors describe (api_devices.h), drives and network interfaces
	 * included: section name -> the document GET /vm/config shows (an array for a device
	 * with an {id}); NULL: none yet. Owned. */
	json_t *devices;
	struct mmds_config mmds; /* PUT /mmds/config, valid when mmds_set */
	bool mmds_set;
};

/* Firecracker's memory when machine-config never sets it (its DEFAULT_MEM_SIZE_MIB); the command
 * line's own default (--mem) is VM_DEFAULT_MEM. */
#define API_DEFAULT_MEM_MIB 128

/* Defaults: 1 vCPU, API_DEFAULT_MEM_MIB, nothing else. */
void api_model_init(struct api_model *m);
void api_model_free(struct api_model *m);

/* PUT /boot-source: {"kernel_image_path", "boot_args"?, "initrd_path"?}, or (ours)
 * {"firmware_path", "firmware_log_path"?, "firmware_vars_path"?}: exactly one of kernel_image_path
 * and firmware_path. */
int api_model_put_boot_source(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* Its body check alone: sets *kernel and *initrd (NULL: none; *kernel NULL for a firmware) to
 * the paths (inside `body`), for checking the files before the model takes them. */
int api_model_check_boot_source(const json_t *body, const char **kernel, const char **initrd,
				char *err, size_t errlen);
/* PUT /machine-config: {"vcpu_count", "mem_size_mib", "smt"?, "track_dirty_pages"?,
 * "huge_pages"?, "cpu_template"?, "acpi"? (ours, default true)}; what is absent takes its default.
 * smt true needs vcpu_count 1 or even; huge_pages "2M" cannot be honoured here and is refused;
 * cpu_template is None or a static template's name (host/kvm/x86/cpu_template.h). */
int api_model_put_machine_config(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* PUT /cpu-config: a custom CPU template in Firecracker's JSON (vmm/vm/<arch>/cpu_template_json.c),
 * checked strictly; it replaces a static cpu_template. The config file's "cpu-config". */
int api_model_put_cpu_config(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* PATCH /machine-config: the same fields, all optional; what is absent stays as it is. The
 * whole update fails if one value is bad. */
int api_model_patch_machine_config(struct api_model *m, const json_t *body, char *err,
				   size_t errlen);
/* PUT /mmds/config (vmm/mmds/mmds_config.h): every interface id must name a NIC the model
 * already has, as Firecracker checks, and not a vhost-user one (its frames never reach the
 * VMM). Returns 0, or -EINVAL with Firecracker's message (or ours for a vhost-user NIC). */
int api_model_put_mmds_config(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* PATCH /drives/{id} body check (the drives' device_patch_hooks.check, for tests):
 * {"drive_id", "path_on_host"?, "rate_limiter"?}. Sets *index to the drive's position and *path
 * to the new path (inside `body`, or NULL when the body has none). Returns 0, -ENOENT (no such
 * drive) or -EINVAL (a vhost-user disk among the reasons: its back-end serves it). */
int api_model_check_patch_drive(const struct api_model *m, const char *id, const json_t *body,
				int *index, const char **path, char *err, size_t errlen);
/* The rate_limiter of a PATCH /drives/{id} body that api_model_check_patch_drive() accepted, as
 * a patch (api_rate_limit.h: the buckets it names change, the others stay): true when it
 * names a bucket. */
bool api_model_patch_drive_rate_limiter(const json_t *body, struct rate_limiter_patch *p);
/* PATCH /network-interfaces/{id} (the NICs' device_patch_hooks.check, for tests):
 * {"iface_id", "rx_rate_limiter"?, "tx_rate_limiter"?, "egress"?}. Sets *index to the NIC's
 * position, and *rx / *tx to the patches of each direction (a direction the body does not name:
 * a patch naming nothing). Returns 0, -ENOENT (no such NIC) or -EINVAL (a vhost-user NIC among
 * the reasons: it has no rate limiters, no egress policy). */
int api_model_check_patch_nic(const struct api_model *m, const char *id, const json_t *body,
			      int *index, struct rate_limiter_patch *rx,
			      struct rate_limiter_patch *tx, char *err, size_t errlen);
/* PUT /drives/{id} and PUT /network-interfaces/{id} are the hooks of their descriptors
 * (vmm/descriptors/dev_disk_api.c, dev_net_api.c) served by api_devices.h; the model keeps their
 * documents in `devices` ("drives", "network-interfaces"), in the order they were first put.
 * What the API changes in a running VM (PATCH) is written into those documents (by their
 * descriptors' device_patch_hooks.record, api_routes_patch.c); a live fork's disk snapshot
 * sets drive `index`'s path_on_host: */
void api_model_set_drive_path(struct api_model *m, int index, const char *path);
/* The document of drive / NIC `index` (borrowed), or NULL. */
const json_t *api_model_drive(const struct api_model *m, int index);
const json_t *api_model_nic(const struct api_model *m, int index);
/* How many documents device `api` has in the model. */
int api_model_count(const struct api_model *m, const struct device_api *api);

/* PUT /metrics body check: {"metrics_path", "emit_id"?, "properties"?: {NAME: STRING}}. Sets
 * *path and *properties (inside `body`; NULL: none) and *emit_id. */
int api_model_check_metrics(const json_t *body, const char **path, bool *emit_id,
			    const json_t **properties, char *err, size_t errlen);
/* Records an applied PUT /metrics in the model (GET /vm/config). Returns 0 or -ENOMEM. */
int api_model_set_metrics(struct api_model *m, const char *path, bool emit_id,
			  const json_t *properties);

/* A whole configuration file (Firecracker's --config-file layout): {"boot-source": {...},
 * "machine-config": {...}?, "metrics": {...}?, "logger": {...}?, "mmds-config": {...}?} and each
 * device section of the table (api_devices.h: "drives": [...]?, "network-interfaces": [...]?,
 * "vsock": {...}?, "balloon": {...}?, "fs": [...]?, "memory-hotplug": {...}?, "pmem": [...]?),
 * applied as the same PUTs: boot source, machine, the core devices' sections (drives, NICs),
 * "mmds-config" (after the NICs it names), the other devices, metrics (the logger is only checked:
 * the caller applies it, api_logger.h). Nulls are absent; Firecracker's sections this VMM does not
 * have ("cpu-config") are refused when set. */
int api_model_load(struct api_model *m, const json_t *root, char *err, size_t errlen);

/* GET /machine-config and GET /vm/config documents (new references). */
json_t *api_model_machine_config_json(const struct api_model *m);
json_t *api_model_json(const struct api_model *m);

/* The model of a VM started from the command line or restored from a snapshot, for GET
 * /vm/config: each device as its descriptor describes it (device_api.describe: drives named by
 * their id=, "drive0", "drive1", ... without one, and NICs "net0", ... in the order the guest
 * sees them, vhost-user ones after the others, shown with their socket); -ENOMEM. */
int api_model_from_config(struct api_model *m, const struct vm_config *cfg);

#endif
