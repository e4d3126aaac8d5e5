/* Snapshots of a whole VM, and restoring them (Firecracker's model).
 *
 * A snapshot is two files: the state (vmm/snapshot/format/snap_format.h: versioned sections with a
 * checksum: the configuration the VM was built from, KVM's VM and vCPU state, every device's
 * state) and the guest memory (RAM regions back to back, a sparse file). Taking one needs a
 * paused VM (vm_pause(): vCPUs parked, every device parked at its safe point with its I/O in
 * flight completed, so the state is consistent and no device writes memory meanwhile).
 *
 * Restoring builds a NEW VM from the saved configuration (the options are replayed through the
 * same parsers, so the devices are the same and in the same order; disks are re-opened by
 * path with the checks of a normal start; taps may be replaced), maps the memory file
 * privately (copy-on-write: nothing is read until the guest touches it, and clones of one
 * snapshot share every page they did not write), loads no kernel, and sets every saved state
 * back before the vCPUs run. Anything wrong in the files is refused with a message before the
 * guest runs; the caller exits 2. */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/config/vm_config.h"
#include "vmm/snapshot/format/snap_format.h"

struct vm;

/* The files inside a --restore DIR. */
#define SNAPSHOT_STATE_FILE  "state"
#define SNAPSHOT_MEMORY_FILE "memory"

/* Writes the snapshot of a paused VM: the state to `state_path` (a temporary file, then renamed)
 * and the memory to `mem_path`: Full writes the whole RAM (a new sparse file); Diff (`diff`,
 * which needs cfg->track_dirty_pages) writes only the pages written since the previous snapshot
 * into the existing memory file of that snapshot, in place (never the file this VM was
 * restored from). With tracking on, every snapshot restarts the log. Returns 0; -EAGAIN when
 * the VM is not paused; -ENOTSUP for a device that cannot be saved; -EINVAL for a Diff that
 * cannot be taken; or -errno; the reason in err. */
int vm_snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, bool diff,
		       char *err, size_t errlen);

/* The state sections of a paused VM (configuration, MMDS, KVM, every device) into `w`: what
 * vm_snapshot_create() writes to the state file, for a live migration's final state. Returns 0
 * or -errno with the reason. */
int vm_snapshot_collect(struct vm *vm, struct snap_writer *w, char *err, size_t errlen);

/* The SNAP_CONFIG JSON of a VM (running or not) as text, for a migration's HELLO; the caller
 * frees it. NULL when out of memory. */
char *vm_snapshot_config_text(const struct vm *vm);

/* A snapshot being restored. */
struct snapshot_load {
	struct snap_reader reader;
	int mem_fd;
	struct cli_record *options;
	int noptions;
	/* The devices' records (configuration version 2, snapshot_records.h), or NULL: version 1,
	 * whose options hold the devices too. */
	json_t *devices;
	bool mac_set[VM_MAX_NICS]; /* a NIC override gave NIC i this MAC */
	uint8_t mac[VM_MAX_NICS][6];
	json_t *mmds; /* the MMDS state, checked (vmm/mmds/mmds_state.h); NULL: none saved */
	/* set by the caller after snapshot_open(): kvmclock advanced by the wall time since the
	 * snapshot (kvm_vm_restore() in host/kvm/kvm_state.h) */
	bool clock_realtime;
};

/* One NIC override of snapshot_open(): `spec` is "tap=NAME" (another tap; a tap fd's NIC needs
 * one), "mac=MAC" (another MAC address) or "tap=NAME,mac=MAC", for the saved NIC named `id` (its
 * --net id=, or "netN" for the N-th NIC that has none: Firecracker's iface_id), or, when `id` is
 * NULL, for the index-th saved NIC (vmm --restore's --net options, in order). */
struct snapshot_nic_override {
	const char *id;
	int index;
	const char *spec;
};

/* A NIC override's spec from its tap name and MAC (either NULL: not given) into out[0..len), a
 * comma in the name written ",," (base/options.h), as snapshot_open() splits it. Returns 0,
 * -ENAMETOOLONG or -ENOMEM. */
int snapshot_nic_override_spec(const char *tap, const char *mac, char *out, size_t len);

/* One path override of snapshot_open(): the saved device of option `option` ("disk": a --disk
 * PATH, not a vhost-user one; "vsock": the vsock's uds=) named `id` (a disk's id=, or "driveN"
 * for the N-th disk that has none: the API's drive_id; the vsock's id=, or any for "") or, when
 * `id` is NULL, the index-th saved device of that option (vmm --restore's --disk options, in
 * order), gets the host path `path` (a disk's image, the vsock's socket); "firmware" and
 * "firmware-vars" (id and index unused: vmm --restore's --firmware, --firmware-vars) replace
 * every saved --firmware or --firmware-vars (a restore writes the saved store there). The replayed
 * option carries it, and the path counts as the operator's (vmm/snapshot/restore_paths.h). */
struct snapshot_path_override {
	const char *option;
	const char *id;
	int index;
	const char *path;
};

/* What the operator gives a restore besides the snapshot: NIC and path overrides. */
struct snapshot_overrides {
	const struct snapshot_nic_override *nics;
	int nnics;
	const struct snapshot_path_override *paths;
	int npaths;
};

/* Opens and checks the state file and the memory file (none when `mem_path` is NULL: a
 * page-fault handler serves the memory, vm_create_restored_uffd()), and builds the
 * configuration of the saved VM into `cfg` (cli_replay()), with the overrides `ov` (NULL: none)
 * applied; the replayed options carry them (so a later snapshot of the clone keeps them). Every
 * host path and tap the configuration names is then checked (restore_paths_check(): under the
 * state file's folder, given by an override, or inside cfg->landlock_rules, which stays the
 * process's) before anything but the state file is opened.
 * The state file's folder is confined first (host_path_confine(), base/host_path.h rule 6):
 * from then on no open of a path beneath it follows a symbolic link inside it, and the folder
 * stays confined for the VM's life; a caller whose restore fails undoes it with
 * host_path_unconfine_all().
 * Returns 0 or -errno (-EINVAL for a bad file, a bad override or one that names no saved
 * device; -EACCES for a path or tap the operator did not allow) with the reason in err;
 * snapshot_close() in every case. */
int snapshot_open(struct snapshot_load *l, const char *state_path, const char *mem_path,
		  struct vm_config *cfg, const struct snapshot_overrides *ov, char *err,
		  size_t errlen);

/* A live migration's destination (vm_migrate_recv.c), in two steps: snapshot_open_config()
 * replays the configuration the source announced (its HELLO: the text of
 * vm_snapshot_config_text()) into `cfg`, as snapshot_open() does from a state file (its paths
 * checked the same way, with no folder of its own: only cfg->landlock_rules, the destination's
 * command line, allows them; the source's taps are taken), so that the VM may be built during
 * the pre-copy; once the state has arrived, snapshot_attach_state()
 * takes it over (`parsed`, from snap_parse(), is left empty; its bytes must stay valid until
 * snapshot_close()), checks that its configuration is still `config` (-EINVAL "the VM's
 * configuration changed during the migration" if not: the VM built is not the saved one) and
 * reads its MMDS state. `config` must stay valid until snapshot_close(), which `l` needs in
 * every case. */
int snapshot_open_config(struct snapshot_load *l, const char *config, struct vm_config *cfg,
			 char *err, size_t errlen);
int snapshot_attach_state(struct snapshot_load *l, struct snap_reader *parsed, const char *config,
			  struct vm_config *cfg, char *err, size_t errlen);

/* After vm_create_restored(): KVM's VM and vCPU state and every device's state, set back; then
 * a NIC given a MAC override reports it (virtio_net_set_mac(): config space, config-change
 * interrupt), and the saved MMDS configuration and store replace cfg->mmds's. (snapshot_open()
 * already put MMDS in front of the NICs its configuration names, found by their ids.) Returns 0 or
 * -errno with the reason in err. */
int snapshot_restore(struct vm *vm, struct snapshot_load *l, char *err, size_t errlen);

void snapshot_close(struct snapshot_load *l);

/* The restored VM is a new generation of the one snapshotted, which may run too (a clone, a
 * fork): what the guest must learn so it stops being a copy. Called once a snapshot's state is
 * in (snapshot_restore()), before the vCPUs run, by every path that makes a VM from another's
 * state except a live migration (the same VM goes on elsewhere):
 *   - the VM generation ID changes and the guest is notified (vm_devices_new_generation(),
 *     devices/vmgenid.h: Linux reseeds its RNG);
 *   - what each device's guest side must learn (device_save_new_generation(),
 *     vmm/descriptors/device_save.h): each vsock device's guest connections are reset
 *     (virtio_vsock_transport_reset(): for a restored device its own state already owes the
 *     reset, and nothing more happens).
 * Returns 0 or -errno with the reason in err. */
int vm_snapshot_new_generation(struct vm *vm, char *err, size_t errlen);

#endif
