/* The VMM's life when a control plane is asked for (--api-sock, --config-file):
 *
 *   --kernel ... --api-sock S     the VM starts at once; the API controls it while it runs
 *   --config-file F [--api-sock S] the VM described by F (the API's schema) starts at once
 *   --api-sock S                  the VMM waits, serving the API, until a client configures
 *                                 the VM and sends InstanceStart, or loads a snapshot
 *                                 (PUT /snapshot/load) (Firecracker's flow)
 *   --restore DIR [--api-sock S]  the snapshot in DIR resumes at once (vmm/snapshot/vm_snapshot.h)
 *   --migrate-from URL [--api-sock S]  the VM a migration source sends there runs once it came
 *                                 (vmm/migration/vm_migrate.h); PUT /vmm/receive-migration does
 *                                 the same on a VMM started with --api-sock alone
 *
 * Options given on the command line besides (--console, --rng, --disk, --kvm, -v, ...) apply
 * as well: a VM configured over the API gets the API's drives and NICs after the command line's.
 * SIGINT/SIGTERM/SIGHUP end the VMM in every phase, with status 128 + signal. */
#ifndef VMM_API_CONTROL_H
#define VMM_API_CONTROL_H

#include "base/vm_control.h"
#include "vmm/config/vm_config.h"

/* Runs the VMM as above and returns its exit status (base/errors.h); `cfg` is the parsed
 * command line, also the configuration the VM is built from (cli_free() it afterwards). *why
 * (when given) receives how the VM stopped (a reset: vmm/vm/reboot.h), VM_STOP_ERROR when no
 * VM ran. */
int control_run(struct vm_config *cfg, enum vm_stop_reason *why);

/* Builds the VM configuration from the API's model on top of `cfg` (the command line): boot
 * source, vCPUs and memory, the drives (the root device first, so it is /dev/vda, with
 * "root=/dev/vda" added to the kernel command line) and the taps. `*append` receives the
 * command line (malloc'd; the caller frees it after the VM is gone) and disk_index[i] the
 * disk (vmm/descriptors/dev_disk.h) of the model's drive i, -1 for a vhost-user one. On failure
 * nothing is left added to `cfg`.
 * Returns 0, or -errno with the reason in err[0..errlen). */
struct api_model;
int control_build_config(struct vm_config *cfg, const struct api_model *m, char **append,
			 int *disk_index, char *err, size_t errlen);

/* Changes the configuration a snapshot brings (`cfg`, replayed by snapshot_open()) as a PUT
 * /snapshot/load asks: dirty-page logging (track_dirty_pages) and transparent huge pages
 * (huge_pages) on, off or as saved, the recorded options included (a snapshot of the restored
 * VM records what it does). Returns 0, or -errno with the reason in err[0..errlen). */
struct api_snapshot_load;
int control_apply_load_settings(struct vm_config *cfg, const struct api_snapshot_load *p, char *err,
				size_t errlen);

#endif
