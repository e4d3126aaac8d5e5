/* The configuration kept in step with what the API changes at run time.
 *
 * A snapshot saves the devices as their records (vmm/descriptors/device_record.h), which are
 * their configuration blocks, and a restore adds them again (vmm/snapshot/vm_snapshot.h); GET
 * /vm/config after a restore is the model of that configuration. So every live change a
 * descriptor makes (its struct device_live) is also written into the device's block: the new
 * file behind a drive, a drive's, a NIC's and a pmem device's rate limits, a NIC's egress
 * policy, the balloon's target and statistics interval. A restored VM then is the VM as it was
 * at the snapshot.
 *
 * Disk i and NIC i are the i-th of their blocks; the balloon is the one block. Pure code on a
 * struct vm_config (no VM). Each function returns 0, -ENOENT (no such device) or -ENOMEM; on
 * failure the configuration is as it was. */
#ifndef VMM_DESCRIPTORS_DEV_LIVE_H
#define VMM_DESCRIPTORS_DEV_LIVE_H

#include <stdint.h>

#include "virtio/core/rate_limiter.h"
#include "vmm/config/vm_config.h"
#include "vmm/descriptors/device_table.h"

/* The live hooks of the drives and the NICs (dev_disk_live.c, dev_net_live.c), which their
 * struct device_api names. */
extern const struct device_live dev_disk_live;
extern const struct device_live dev_net_live;
/* The balloon's and virtio-mem's (dev_balloon_live.c, dev_memhp_live.c). */
extern const struct device_live dev_balloon_live;
extern const struct device_live dev_memhp_live;

/* Their documents (struct device_live.get) from the device's state, which tests and fuzzers
 * fake: 0, -ENODATA (the balloon's statistics without an interval) or -ENOMEM. */
struct virtio_balloon_info;
struct virtio_mem_info;
int dev_balloon_live_doc(const struct virtio_balloon_info *info, const char *view, json_t **doc);
int dev_memhp_live_doc(const struct virtio_mem_info *info, const char *view, json_t **doc);

/* ---- each device's, in its descriptor (dev_disk_live.c, dev_net_live.c, dev_balloon_live.c) ----
 */

/* Disk `disk` is now the file at `path` (the options after the path stay). */
int dev_disk_live_record_path(struct vm_config *cfg, int disk, const char *path);
/* Disk `disk` has the limits `rl` (its bw= and ops= options replaced). */
int dev_disk_live_record_limits(struct vm_config *cfg, int disk, const struct rate_limiter_cfg *rl);
/* NIC `nic` has the limits `rx` and `tx` (its rx-bw=, rx-ops=, tx-bw=, tx-ops= replaced). */
int dev_net_live_record_limits(struct vm_config *cfg, int nic, const struct rate_limiter_cfg *rx,
			       const struct rate_limiter_cfg *tx);
/* The balloon's target is `mib` / its statistics interval is `seconds`. */
int dev_balloon_live_record_target(struct vm_config *cfg, uint64_t mib);
int dev_balloon_live_record_stats(struct vm_config *cfg, uint32_t seconds);

/* A change made to the running VM that its configuration could not follow: logged (the VM goes
 * on; a snapshot would bring back the old `what`). */
void live_record_warn(int r, const char *what);

#endif
