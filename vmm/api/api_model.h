/* The VM as the API and the config file describe it, in Firecracker's terms: boot source,
 * machine configuration, drives and network interfaces by id, the metrics sink. Request bodies
 * are checked and applied here (pure code: no VM, no KVM), and the model is turned into a
 * struct vm_config at InstanceStart (api_vm.h). Every function that takes a body returns 0, or
 * -EINVAL with a message for the client (Firecracker's `fault_message`) in err[0..errlen). */
#ifndef VMM_API_MODEL_H
#define VMM_API_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/core/rate_limiter.h"
#include "vmm/api/api_memhp.h"
#include "vmm/machine/cli.h"
#include "vmm/mmds/mmds_config.h"

#define API_ID_MAX	 VIRTIO_BLK_DRIVE_ID_MAX /* drive_id / iface_id bytes, NUL included */
#define API_MAX_DRIVES	 CLI_MAX_DISKS
#define API_MAX_NICS	 CLI_MAX_NICS
#define API_PARTUUID_MAX 40   /* a GPT UUID (36) or an MBR "SSSSSSSS-PP" (11), NUL included */
#define API_NET_MTU	 1500 /* what our virtio-net advertises (VIRTIO_NET_F_MTU), fixed */
#define API_SOCKET_MAX	 108  /* a vhost-user socket path (sun_path), NUL included */

struct api_drive {
	char id[API_ID_MAX];
	char *path; /* path_on_host; with vhost_user, the back-end's socket */
	/* Given with Firecracker's "socket" (vhost-user-block): the disk is --disk vhost-user=PATH,
	 * served by another process; ro, cache_type, io_engine and rl are then unset. */
	bool vhost_user;
	/* Cloud Hypervisor's num_queues and queue_size, with a socket only; -1: not given (the
	 * option's defaults). The option's parser judges them. */
	int64_t num_queues, queue_size;
	bool root;
	bool ro;
	/* cache_type "Unsafe" (--disk flush=off: no VIRTIO_BLK_F_FLUSH, nothing synced, as in
	 * Firecracker), "Writeback" (flush=on: a guest FLUSH is an fdatasync()), or "" when not
	 * given: flush=on, safer than Firecracker's default Unsafe (reported as Writeback). */
	char cache_type[10];
	/* io_engine "Sync" (preadv/pwritev), "Async" (io_uring), or "" (the VMM's choice: io_uring
	 * when it can be set up). */
	char io_engine[6];
	/* partuuid of the root device: the kernel gets root=PARTUUID=... instead of /dev/vda. */
	char partuuid[API_PARTUUID_MAX];
	struct rate_limiter_cfg rl; /* rate_limiter (api_rate_limit.h); zero: none */
};

/* A NIC whose host_dev_name is this is user-mode networking (libslirp), not a tap. */
#define API_NIC_USER "user"

struct api_nic {
	char id[API_ID_MAX];
	char host_dev[16]; /* IFNAMSIZ; "" for a vhost-user NIC */
	/* A vhost-user NIC's back-end socket (Cloud Hypervisor's "socket", --net vhost-user=PATH);
	 * "" for a tap. */
	char socket[API_SOCKET_MAX];
	int64_t num_queues, queue_size;	      /* with a socket only; -1: not given */
	char mac[18];			      /* "" = the VMM's choice */
	struct rate_limiter_cfg rx_rl, tx_rl; /* rx_rate_limiter, tx_rate_limiter */
};

struct api_model {
	char *kernel, *initrd, *boot_args;
	unsigned vcpus;
	unsigned mem_mib;
	bool track_dirty; /* track_dirty_pages: needed for Diff snapshots */
	bool hugepages;	  /* huge_pages "Transparent": guest RAM on THP (--hugepages) */
	bool smt;	  /* smt: two threads per core (--smt) */
	struct api_drive drives[API_MAX_DRIVES];
	int ndrives;
	struct api_nic nics[API_MAX_NICS];
	int nnics;
	/* PUT /metrics: the sink, and what its lines carry (Firecracker's emit_id: the instance
	 * id; properties: an object of strings, owned) */
	char *metrics_path;
	bool metrics_emit_id;
	json_t *metrics_properties;
	/* The devices the descriptors describe (api_devices.h): section name -> the document GET
	 * /vm/config shows (an array for a device with an {id}); NULL: none yet. Owned. */
	json_t *devices;
	struct mmds_config mmds; /* PUT /mmds/config, valid when mmds_set */
	bool mmds_set;
};

/* Defaults: 1 vCPU, 256 MiB, nothing else. */
void api_model_init(struct api_model *m);
void api_model_free(struct api_model *m);

/* PUT /boot-source: {"kernel_image_path", "boot_args"?, "initrd_path"?}. */
int api_model_put_boot_source(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* Its body check alone: sets *kernel and *initrd (NULL: none) to the paths (inside `body`), for
 * checking the files before the model takes them. */
int api_model_check_boot_source(const json_t *body, const char **kernel, const char **initrd,
				char *err, size_t errlen);
/* PUT /machine-config: {"vcpu_count", "mem_size_mib", "smt"?, "track_dirty_pages"?,
 * "huge_pages"?, "cpu_template"?}; what is absent takes its default. smt true needs vcpu_count 1
 * or even; huge_pages "2M" and any cpu_template but "None" cannot be honoured here and are
 * refused. */
int api_model_put_machine_config(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* PATCH /machine-config: the same fields, all optional; what is absent stays as it is. The
 * whole update fails if one value is bad. */
int api_model_patch_machine_config(struct api_model *m, const json_t *body, char *err,
				   size_t errlen);
/* PUT /mmds/config (vmm/mmds/mmds_config.h): every interface id must name a NIC the model
 * already has, as Firecracker checks, and not a vhost-user one (its frames never reach the
 * VMM). Returns 0, or -EINVAL with Firecracker's message (or ours for a vhost-user NIC). */
int api_model_put_mmds_config(struct api_model *m, const json_t *body, char *err, size_t errlen);
/* PUT /drives/{id}: {"drive_id", "path_on_host", "is_root_device", "is_read_only",
 * "cache_type"?, "io_engine"?, "partuuid"?, "rate_limiter"?}, or a vhost-user disk:
 * {"drive_id", "socket", "is_root_device", "partuuid"?, "vhost_user"?: true, "num_queues"?,
 * "queue_size"?} (Firecracker's socket, Cloud Hypervisor's vhost_user and queue fields), where
 * is_read_only true, cache_type, io_engine and rate_limiter are refused: the back-end serves
 * the disk. Exactly one of path_on_host and socket. A known id is replaced; one root device at
 * most. Every drive and NIC of the model goes through the command line's parser
 * (api_model_drive_option()), so what --disk would refuse is refused here. */
int api_model_put_drive(struct api_model *m, const char *id, const json_t *body, char *err,
			size_t errlen);
/* Its checks alone (what api_model_put_drive() would refuse): sets *path (inside `body`) and
 * *ro to the file and the mode the drive asks for; *path is NULL for a vhost-user disk (its
 * socket is looked at when the VM starts: the back-end may come later). */
int api_model_check_drive(const struct api_model *m, const char *id, const json_t *body,
			  const char **path, bool *ro, char *err, size_t errlen);
/* PATCH /drives/{id} body check: {"drive_id", "path_on_host"?}. Sets *index to the drive's
 * position and *path to the new path (inside `body`, or NULL when the body has none). A
 * vhost-user disk is refused (-EINVAL): its back-end serves it. */
int api_model_check_patch_drive(const struct api_model *m, const char *id, const json_t *body,
				int *index, const char **path, char *err, size_t errlen);
/* The rate_limiter of a PATCH /drives/{id} body that api_model_check_patch_drive() accepted, as
 * a patch (api_rate_limit.h: the buckets it names change, the others stay): true when it
 * names a bucket. */
bool api_model_patch_drive_rate_limiter(const json_t *body, struct rate_limiter_patch *p);
/* PATCH /network-interfaces/{id}: {"iface_id", "rx_rate_limiter"?, "tx_rate_limiter"?}. Sets
 * *index to the NIC's position, and *rx / *tx to the patches of each direction (a direction
 * the body does not name: a patch naming nothing). Returns 0, -ENOENT (no such NIC) or
 * -EINVAL (a vhost-user NIC among the reasons: it has no rate limiters). */
int api_model_check_patch_nic(const struct api_model *m, const char *id, const json_t *body,
			      int *index, struct rate_limiter_patch *rx,
			      struct rate_limiter_patch *tx, char *err, size_t errlen);
/* PUT /network-interfaces/{id}: {"iface_id", "host_dev_name", "guest_mac"?, "mtu"?,
 * "rx_rate_limiter"?, "tx_rate_limiter"?}, or a vhost-user NIC with Cloud Hypervisor's fields:
 * {"iface_id", "socket", "vhost_user"?: true, "guest_mac"?, "num_queues"?, "queue_size"?}
 * (--net vhost-user=PATH), where mtu and the rate limiters are refused (the frames do not pass
 * through the VMM), and so is an id that mmds-config names. Exactly one of host_dev_name and
 * socket. */
int api_model_put_nic(struct api_model *m, const char *id, const json_t *body, char *err,
		      size_t errlen);

/* The --disk / --net argument a drive / NIC of the model stands for: what InstanceStart gives
 * the command line's parser (and what PUT tries it with). Returns 0 or -ENAMETOOLONG. */
int api_model_drive_option(const struct api_drive *d, char *spec, size_t len);
int api_model_nic_option(const struct api_nic *n, char *spec, size_t len);
/* PUT /metrics body check: {"metrics_path", "emit_id"?, "properties"?: {NAME: STRING}}. Sets
 * *path and *properties (inside `body`; NULL: none) and *emit_id. */
int api_model_check_metrics(const json_t *body, const char **path, bool *emit_id,
			    const json_t **properties, char *err, size_t errlen);
/* Records an applied PUT /metrics in the model (GET /vm/config). Returns 0 or -ENOMEM. */
int api_model_set_metrics(struct api_model *m, const char *path, bool emit_id,
			  const json_t *properties);

/* A whole configuration file (Firecracker's --config-file layout): {"boot-source": {...},
 * "machine-config": {...}?, "drives": [...]?, "network-interfaces": [...]?, "metrics": {...}?,
 * "logger": {...}?} and each device section of the table (api_devices.h: "vsock": {...}?,
 * "balloon": {...}?, "fs": [...]?, "memory-hotplug": {...}?, "pmem": [...]?), applied as the same
 * PUTs: boot source, machine, drives, NICs, "mmds-config" (after the NICs it names), the table's
 * devices, metrics (the logger is only checked: the caller applies it, api_logger.h). Nulls are
 * absent; Firecracker's sections this VMM does not have ("cpu-config", "entropy", "serial") are
 * refused when set. */
int api_model_load(struct api_model *m, const json_t *root, char *err, size_t errlen);

/* GET /machine-config and GET /vm/config documents (new references). */
json_t *api_model_machine_config_json(const struct api_model *m);
json_t *api_model_json(const struct api_model *m);

/* The model of a VM started from the command line or restored from a snapshot, for GET
 * /vm/config. Drives are named by their id= ("drive0", "drive1", ... without one) and NICs
 * "net0", ... in the order the guest sees them (vhost-user ones after the others, shown with
 * their socket); -ENOMEM. */
int api_model_from_config(struct api_model *m, const struct vm_config *cfg);

#endif
