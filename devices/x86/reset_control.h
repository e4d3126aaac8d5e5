/* The chipset's Reset Control Register, byte port 0xCF9 (Intel PIIX3/PIIX4 and ICH: bit 1
 * SYS_RST picks a hard reset, bit 2 RST_CPU starts the reset on its 0 -> 1 edge, bit 3 FULL_RST).
 * SeaBIOS and OVMF reset a PC through it, and Linux with `reboot=pci`; QEMU's i440FX and Q35 have
 * it. A reset ends the VM as the i8042's reset line does (VM_STOP_RESET). The byte sits inside the
 * PCI configuration window 0xCF8-0xCFF: with a PCI bus the bus hands byte accesses to it on
 * (pci_bus_set_cf9()); without one the port is claimed alone. */
#ifndef DEVICES_RESET_CONTROL_H
#define DEVICES_RESET_CONTROL_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/vm_control.h"

#define RESET_CONTROL_SYS_RST  0x02
#define RESET_CONTROL_RST_CPU  0x04
#define RESET_CONTROL_FULL_RST 0x08

struct reset_control {
	const struct vm_control *vm; /* kept, not copied */
	_Atomic uint8_t value;	     /* SYS_RST and FULL_RST as last written; RST_CPU reads 0 */
};

/* io_bus handlers (offset 0 = port 0xCF9, byte accesses; wider ones read 0xff, are ignored). */
extern const struct io_ops reset_control_ops;

void reset_control_init(struct reset_control *r, const struct vm_control *vm);

/* Claims port 0xCF9 alone on `pio` (no PCI bus). Returns 0 or -errno. */
int reset_control_attach(struct reset_control *r, struct io_bus *pio);
void reset_control_detach(struct reset_control *r, struct io_bus *pio);

#endif
