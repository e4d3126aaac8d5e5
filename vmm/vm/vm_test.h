/* Test-only calls of vmm/vm/vm.h: what unit tests use to look inside it and the VMM does not.
 * Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef VMM_VM_VM_TEST_H
#define VMM_VM_VM_TEST_H

#include "vmm/vm/vm.h"

/* vm_run()'s teardown, once the VM is stopping: waits for the vm_stop() calls that kick the
 * vCPUs right now, then joins the vCPU threads and releases their run pages. */
void vm_join_vcpus(struct vm *vm);

#endif
