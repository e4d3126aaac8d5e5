/* Just enough of an Intel 8042 keyboard controller for Linux: `reboot=k` (command 0xFE pulses the
 * CPU reset line), and a controller probe that answers every command it waits on, so the i8042
 * driver finishes without timeouts. There is no keyboard and no AUX (mouse) port behind it, and
 * no IRQ 1/12: nothing ever arrives unasked.
 *
 * Port 0x61 (system control port B) is NOT claimed by default. KVM's in-kernel PIT emulates it
 * (gate/speaker bits and the real output of PIT channel 2, which Linux's PIT-based TSC
 * calibration polls) when the VMM creates the PIT with KVM_CREATE_PIT2 and
 * `.flags = KVM_PIT_SPEAKER_DUMMY` (arch/x86/kvm/i8254.c registers ports 0x61-0x64 then, but
 * answers only 0x61; the rest still exit to us). That is the recommended setup, and those
 * accesses never reach user space. A VMM without that flag, or without an in-kernel PIT, may ask
 * for I8042_PORT_B below; otherwise 0x61 reads all-ones, which also lets Linux's loops waiting
 * for bit 5 end at once (calibration then fails fast and Linux uses another clock source). */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/base/io_bus.h"
#include "vmm/base/vm_control.h"

#define PORT_SYSTEM_CONTROL_B 0x61

enum i8042_flags {
	/* Also claim port 0x61: reads show the PIT channel 2 output (bit 5) always high and the
	 * refresh bit (bit 4) toggling on each read, so delay/calibration loops that wait for
	 * either end at once; writes to the gate/speaker bits are remembered only. */
	I8042_PORT_B = 1 << 0,
};

struct i8042 {
	pthread_mutex_t lock;
	const struct vm_control *vm;
	unsigned flags;
	uint8_t status;	     /* status register, port 0x64 read */
	uint8_t ctr;	     /* controller command byte ("CTR") */
	uint8_t outport;     /* controller output port (bit 0: CPU reset inactive, bit 1: A20) */
	uint8_t out;	     /* output buffer, valid when status OBF */
	uint8_t pending_cmd; /* command waiting for its data byte on port 0x60, or 0 */
	uint8_t port_b;	     /* port 0x61 bits 0-3 as last written */
	bool refresh_toggle; /* port 0x61 bit 4 */
};

/* Reset the controller state. `vm` is kept (not copied) to request a reset. */
int i8042_init(struct i8042 *k, const struct vm_control *vm, unsigned flags);

/* i8042_init() + claim ports 0x60 and 0x64 (and 0x61 with I8042_PORT_B) on `pio`. Returns 0 or
 * -errno (-EEXIST if a port is taken; nothing stays claimed then). */
int i8042_attach(struct i8042 *k, struct io_bus *pio, const struct vm_control *vm, unsigned flags);

void i8042_detach(struct i8042 *k, struct io_bus *pio);

/* Port-level accessors the bus handlers use, exposed for tests and fuzzers. */
uint8_t i8042_read_port(struct i8042 *k, uint16_t port);
void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t val);

#endif
