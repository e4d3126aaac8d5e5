/* Test-only calls of pause and resume (vmm/vm/vm_pause.h): what unit tests use to set up or
 * look inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a
 * *_test.h include anywhere else. */
#ifndef VMM_VM_PAUSE_TEST_H
#define VMM_VM_PAUSE_TEST_H

#include "vmm/vm/vm_pause.h"

/* How many pauses succeeded. Any thread. */
uint64_t vm_pause_count(struct vm *vm);

#endif
