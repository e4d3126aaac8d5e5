/* Firecracker-compatible boot timer: the guest writes the byte 123 to its MMIO page (current
 * Firecracker; x86: 0xC0000000) or to a port (older Firecracker on x86: 0x3F0) when it reaches a
 * point worth timing, usually from a tiny init wrapper just before exec'ing the real init; the VMM
 * records the time since its own start (base/stats.h) and logs it.
 *
 * Only a write at offset 0 whose first (lowest) byte is 123 counts, at any width: Firecracker's
 * wrapper writes one byte, a 32-bit store of 123 is the same signal. Every other write in the
 * 4 KiB page is ignored (the exit_cost guest uses one as a plain MMIO exit), and reads return 0. */
#ifndef DEVICES_BOOT_TIMER_H
#define DEVICES_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"

#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	unsigned hits; /* guest writes of the magic value seen by this device */
	bool mmio_attached;
	bool pio_attached;
	uint16_t port; /* the port claimed on the port bus */
};

/* Claims [BOOT_TIMER_MMIO_BASE, +BOOT_TIMER_MMIO_SIZE) on `mmio` and `port` on `pio` (either bus
 * may be NULL; the port is the architecture's: vmm/vm/arch_vm.h). Returns 0 or -errno; on an
 * error nothing stays claimed. */
int boot_timer_attach(struct boot_timer *t, struct io_bus *mmio, struct io_bus *pio, uint16_t port);
void boot_timer_detach(struct boot_timer *t, struct io_bus *mmio, struct io_bus *pio);

#endif
