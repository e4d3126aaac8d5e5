/* Port 0x80, the POST diagnostic port. Linux writes it for I/O delays (outb_p) and firmware for
 * progress codes; we keep the last code and log each at debug level. Reads return 0xff, as QEMU's
 * ioport80 does (not the last code written: no guest relies on reading it back). */
#ifndef DEVICES_POST_PORT_H
#define DEVICES_POST_PORT_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/io_bus.h"

struct post_port {
	_Atomic uint8_t last; /* last code written, for diagnostics */
};

/* Claim port 0x80 on `pio`. Returns 0 or -errno. */
int post_port_attach(struct post_port *p, struct io_bus *pio);
void post_port_detach(struct post_port *p, struct io_bus *pio);

#endif
