/* QEMU `isa-debug-exit` compatible device (hw/misc/debugexit.c): a guest write of value v to any
 * of its ports stops the VM, and the VMM exits with status (v << 1) | 1. Reads return 0, as in
 * QEMU (the one way a guest can tell the device is there: an unclaimed port reads all-ones). */
#ifndef DEVICES_DEBUG_EXIT_H
#define DEVICES_DEBUG_EXIT_H

#include <stdint.h>

#include "base/io_bus.h"
#include "base/vm_control.h"

#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit {
	const struct vm_control *vm;
	uint16_t base;
};

/* Claim [base, base + 4) on `pio`. `vm` is kept, not copied. Returns 0 or -errno. */
int debug_exit_attach(struct debug_exit *d, struct io_bus *pio, uint16_t base,
		      const struct vm_control *vm);
void debug_exit_detach(struct debug_exit *d, struct io_bus *pio);

#endif
