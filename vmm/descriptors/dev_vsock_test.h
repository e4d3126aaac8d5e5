/* Test-only calls of vmm/descriptors/dev_vsock.h: what unit tests use to look inside it and the VMM
 * does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else.
 */
#ifndef VMM_DESCRIPTORS_DEV_VSOCK_TEST_H
#define VMM_DESCRIPTORS_DEV_VSOCK_TEST_H

#include "vmm/descriptors/dev_vsock.h"

/* Whether `cfg` has a vsock (--vsock, or the API's PUT /vsock applied through it). */
bool dev_vsock_configured(const struct vm_config *cfg);

#endif
