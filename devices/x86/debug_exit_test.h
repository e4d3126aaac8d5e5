/* Test-only calls of devices/x86/debug_exit.h: what unit tests and fuzz targets use to drive or
 * look inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef DEVICES_X86_DEBUG_EXIT_TEST_H
#define DEVICES_X86_DEBUG_EXIT_TEST_H

#include "devices/x86/debug_exit.h"

/* The exit status for a written value: (v << 1) | 1 as QEMU computes it, reduced to the 8 bits a
 * process exit status keeps (exit(2)), so the result is what a shell sees: always odd. */
int debug_exit_status(uint32_t value);

#endif
