/* Test-only calls of vmm/snapshot/restore_paths.h: what unit tests use to look inside it and the
 * VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere
 * else. */
#ifndef VMM_SNAPSHOT_RESTORE_PATHS_TEST_H
#define VMM_SNAPSHOT_RESTORE_PATHS_TEST_H

#include "vmm/snapshot/restore_paths.h"

/* Calls fn() for every host resource `cfg` names (the devices' DEVICE_CLAIM_PATH and
 * DEVICE_CLAIM_SOCKET claims, vmm/descriptors/device_table.h), in device-table order; stops at
 * and returns the first non-zero value fn() returns, else 0. */
int restore_paths_each(const struct vm_config *cfg,
		       int (*fn)(const struct restore_resource *res, void *opaque), void *opaque);

/* True when `path`, used with `access`, is one `a` allows (rules above). */
bool restore_path_allowed(const char *path, unsigned access, const struct restore_allow *a);

#endif
