/* The VM's configuration kept in step with what the API changes at run time.
 *
 * A snapshot saves the options the VM was built from (struct vm_config's `recorded`) and a
 * restore replays them (vmm/snapshot/vm_snapshot.h), and GET /vm/config after a restore is the
 * model of the replayed configuration (api_model_from_config()). So every run-time change the API
 * makes to a device is also written into its recorded option, and into the parsed value beside it:
 * the new file behind a drive (PATCH /drives path_on_host), a drive's and a NIC's rate limits
 * (PATCH /drives, PATCH /network-interfaces), the balloon's target and statistics interval (PATCH
 * /balloon, PATCH /balloon/statistics). A restored VM then is the VM as it was at the snapshot.
 *
 * Disk i is the i-th recorded "disk" option, NIC i the i-th "net" option (how they were parsed,
 * in order); the balloon is the last "balloon" option (the one that won). Pure code on a struct
 * vm_config (no VM), for the API's backend (control.c). Each function returns 0, -ENOENT (no
 * such option recorded) or -ENOMEM; on failure the configuration is as it was. */
#ifndef VMM_API_LIVE_CONFIG_H
#define VMM_API_LIVE_CONFIG_H

#include <stdint.h>

#include "virtio/core/rate_limiter.h"
#include "vmm/cli/cli.h"

/* Disk `disk` is now the file at `path` (the options after the path stay). */
int live_config_disk_path(struct vm_config *cfg, int disk, const char *path);

/* Disk `disk` has the limits `rl` (its bw= and ops= options replaced). */
int live_config_disk_limits(struct vm_config *cfg, int disk, const struct rate_limiter_cfg *rl);

/* NIC `nic` has the limits `rx` and `tx` (its rx-bw=, rx-ops=, tx-bw=, tx-ops= replaced). */
int live_config_nic_limits(struct vm_config *cfg, int nic, const struct rate_limiter_cfg *rx,
			   const struct rate_limiter_cfg *tx);

/* The balloon's target is `mib` / its statistics interval is `seconds`. */
int live_config_balloon_target(struct vm_config *cfg, uint64_t mib);
int live_config_balloon_stats(struct vm_config *cfg, uint32_t seconds);

#endif
