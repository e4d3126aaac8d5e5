/* Test-only calls of vmm/snapshot/restore_paths.h: what unit tests use to look inside it and the
 * VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere
 * else. */
#ifndef VMM_SNAPSHOT_RESTORE_PATHS_TEST_H
#define VMM_SNAPSHOT_RESTORE_PATHS_TEST_H

#include "vmm/snapshot/restore_paths.h"

/* Calls fn() for every host resource `cfg` names (the core's recorded path options, then the
 * path fields of the devices' records, vmm/descriptors/device_paths.h, in device-table order,
 * then a passed-through device's DEVICE_CLAIM_PINNED_RAM); stops at
 * and returns the first non-zero value fn() returns, else 0. */
int restore_paths_each(const struct vm_config *cfg,
		       int (*fn)(const struct restore_resource *res, void *opaque), void *opaque);

/* True when `path`, used with `access`, is one `a` allows (rules above). */
bool restore_path_allowed(const char *path, unsigned access, const struct restore_allow *a);

#endif
