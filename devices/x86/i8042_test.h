/* Test-only calls of devices/x86/i8042.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef DEVICES_X86_I8042_TEST_H
#define DEVICES_X86_I8042_TEST_H

#include "devices/x86/i8042.h"

/* Port-level accessors the bus handlers use, exposed for tests and fuzzers. */
uint8_t i8042_read_port(struct i8042 *k, uint16_t port);

void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t val);

/* Reset the controller state. `vm` is kept (not copied) to request a reset. */
int i8042_init(struct i8042 *k, const struct vm_control *vm, unsigned flags);

#endif
