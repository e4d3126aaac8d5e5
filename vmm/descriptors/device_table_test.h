/* Test-only calls of vmm/descriptors/device_table.h: what unit tests use to add a device of their
 * own and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include
 * anywhere else. */
#ifndef VMM_DESCRIPTORS_DEVICE_TABLE_TEST_H
#define VMM_DESCRIPTORS_DEVICE_TABLE_TEST_H

#include "vmm/descriptors/device_table.h"

/* Appends `d` to device_table (after every device of the VMM), as one more line of
 * device_table.c would: for a test that adds a device through its descriptor alone. Each
 * Criterion test runs in a process of its own, so the entry lives for that test. Returns 0 or
 * -ENOSPC (VM_MAX_DEVICE_KINDS entries already). */
int device_table_add_for_test(const struct device_desc *d);

#endif
