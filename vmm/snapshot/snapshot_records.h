/* A snapshot's devices as their records (vmm/descriptors/device_record.h): the "devices" member
 * of the configuration section since its version 2, {"disk": [{"path": ...}], "net": [...]}. The
 * operator's overrides of a restore (another tap or MAC for a NIC, another file for a disk,
 * another socket for the vsock: vm_snapshot.h) change members of those records, never text. */
#ifndef VMM_SNAPSHOT_RECORDS_H
#define VMM_SNAPSHOT_RECORDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/snapshot/vm_snapshot.h"

/* A NIC override's spec "tap=NAME", "mac=MAC" or both, split into its parts (NULL: not given;
 * the caller frees them). Returns 0, or -EINVAL with "network override `SPEC`: ..." in err. */
int snapshot_nic_override_split(const char *spec, char **tap, char **mac, char *err, size_t errlen);

/* NIC override `spec` (NULL: none) for NIC number `nic`, split (snapshot_nic_override_split());
 * its MAC, when it gives one, checked and kept in l->mac[nic], l->mac_set[nic]. Returns 0 or
 * -EINVAL / -ENOMEM with the reason in err; the caller frees *tap and *mac. */
int snapshot_nic_override_take(struct snapshot_load *l, int nic, const char *spec, char **tap,
			       char **mac, char *err, size_t errlen);

/* The first of the `nnics` NIC overrides that found no NIC (used[k] false) among the snapshot's
 * `found` NICs, as -EINVAL with the reason in err; 0 when each found its NIC. */
int snapshot_nic_overrides_unused(const struct snapshot_nic_override *nics, int nnics,
				  const bool *used, int found, char *err, size_t errlen);

/* Applies the NIC overrides to the "net" records of `devices`, each to the NIC it names (its
 * id, or "netN" for the N-th NIC without one) or, without an id, to the index-th; every override
 * must find its NIC, and a NIC that used a tap fd must get a tap. A MAC given for NIC i is also
 * set in l->mac[i] and l->mac_set[i]. Returns 0, -EINVAL with the reason in err, or -ENOMEM. */
int snapshot_records_override_nics(struct snapshot_load *l, json_t *devices,
				   const struct snapshot_nic_override *nics, int nnics, char *err,
				   size_t errlen);

/* Applies the "disk" and "vsock" path overrides of `ov` (the others are not the records') to the
 * "disk" records (a disk's path, found by its id, "driveN", or index) and the "vsock" record (its
 * uds; an id "" finds it whatever its id). Returns 0, -EINVAL with the reason in err, or
 * -ENOMEM. */
int snapshot_records_override_paths(json_t *devices, const struct snapshot_overrides *ov, char *err,
				    size_t errlen);

#endif
