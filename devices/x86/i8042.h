/* An Intel 8042 keyboard controller with a PS/2 keyboard behind it, enough for Linux's i8042 and
 * atkbd drivers: `reboot=k` (command 0xFE pulses the CPU reset line), a controller probe that
 * answers every command it waits on, and a keyboard that answers its commands and types what the
 * VMM asks for (i8042_press_ctrl_alt_del()). There is no AUX (mouse) port and no IRQ 12.
 *
 * Keyboard bytes (command answers and scancodes) wait in a bounded FIFO and move one at a time
 * into the output buffer (port 0x60, status OBF) while the keyboard interface is enabled (command
 * byte KBDDIS clear). IRQ 1 follows "output buffer full and command byte KBDINT set", so each byte
 * the guest reads and the next one loaded make a new edge on the ISA (edge-triggered) pin.
 * Scancodes: with the command byte's XLATE bit (Linux's default) the controller translates the
 * keyboard's set 2 to set 1, so set-1 codes arrive; without it, codes of the keyboard's current
 * set (0xF0 command; set 2 after reset) arrive untranslated.
 *
 * Locking: one mutex; port accesses (vCPU threads) and i8042_press_ctrl_alt_del() (a control
 * thread) may run concurrently. The IRQ line is driven with the lock held, like the UART's.
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

#include "base/io_bus.h"
#include "base/irq.h"
#include "base/vm_control.h"

#define PORT_SYSTEM_CONTROL_B 0x61
#define I8042_FIFO_SIZE	      64 /* keyboard bytes waiting for the output buffer */

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
	bool out_from_kbd;   /* the output buffer holds a keyboard byte (not a controller answer) */

	/* IRQ 1: raised while OBF and CTR KBDINT; irq_level is the level last driven. */
	struct irq_line irq;
	int irq_level;

	/* The keyboard: bytes for the guest in a ring, its state as the PS/2 commands left it. */
	uint8_t fifo[I8042_FIFO_SIZE];
	unsigned fifo_head;  /* index of the oldest byte */
	unsigned fifo_count; /* bytes waiting */
	uint8_t
	    kbd_pending;   /* keyboard command waiting for its data byte (0xED, 0xF0, 0xF3), or 0 */
	uint8_t kbd_set;   /* scancode set 1..3 (2 after reset) */
	bool kbd_scanning; /* 0xF4 enables, 0xF5 disables key reports */
};

/* Resets the controller (`vm` kept, not copied, to request a reset) and claims ports 0x60 and 0x64
 * (and 0x61 with I8042_PORT_B) on `pio`. Returns 0 or -errno (-EEXIST if a port is taken; nothing
 * stays claimed then). */
int i8042_attach(struct i8042 *k, struct io_bus *pio, const struct vm_control *vm, unsigned flags);

void i8042_detach(struct i8042 *k, struct io_bus *pio);

/* Wires IRQ 1 (copied). Call after i8042_init()/attach and before the guest runs; without it the
 * controller works but raises no interrupt. */
void i8042_set_irq(struct i8042 *k, struct irq_line irq);

/* Types Ctrl-Alt-Del: the make codes of Left Ctrl, Left Alt and Delete, then their break codes in
 * reverse order, queued at once (in set 1 when the controller translates, else in the keyboard's
 * set), raising IRQ 1 as the guest configured it. Any thread. Returns 0, -EAGAIN when the guest
 * has disabled the keyboard's scanning (0xF5, as Linux's atkbd does while probing; a real
 * keyboard drops keys then), or -ENOSPC when the FIFO lacks room for the whole sequence (nothing
 * is queued then). */
int i8042_press_ctrl_alt_del(struct i8042 *k);

/* The controller's and keyboard's state for a snapshot (base/snapshot_io.h): fixed layout,
 * booleans as 0/1 bytes. The IRQ level is not saved: the restore drives what the state implies. */
struct i8042_state {
	uint8_t status, ctr, outport, out;
	uint8_t pending_cmd; /* 0, or a controller command waiting for data (0x60, 0xd1-0xd3) */
	uint8_t port_b;
	uint8_t refresh_toggle, out_from_kbd; /* 0 or 1 */
	uint8_t fifo[I8042_FIFO_SIZE];
	uint8_t fifo_head;   /* < I8042_FIFO_SIZE */
	uint8_t fifo_count;  /* <= I8042_FIFO_SIZE */
	uint8_t kbd_pending; /* 0, or a keyboard command waiting for data (0xed, 0xf0, 0xf3) */
	uint8_t kbd_set;     /* 1..3 */
	uint8_t kbd_scanning;
	uint8_t reserved[3]; /* zero */
};

/* Copies the state (lock taken inside). */
void i8042_save(struct i8042 *k, struct i8042_state *s);

/* Checks every value (FIFO indices, pending commands the controller knows, status bits, booleans)
 * and puts it into an initialised controller, keeping its VM, flags and IRQ line; then drives IRQ
 * 1 to the level the state implies. Lock taken inside. Returns 0 or -EINVAL (nothing changed). */
int i8042_restore(struct i8042 *k, const struct i8042_state *s);

#endif
