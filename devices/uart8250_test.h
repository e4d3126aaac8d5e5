/* Test-only calls of devices/uart8250.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef DEVICES_UART8250_TEST_H
#define DEVICES_UART8250_TEST_H

#include "devices/uart8250.h"

/* Free room in the RX FIFO now (16 - fill, or 1 - fill with FIFOs disabled). Any thread. */
size_t uart8250_rx_room(struct uart8250 *u);

/* One register access at `offset` (0..7) as the guest sees it; what the io_bus handlers call for
 * each byte. Exposed for tests and fuzzers. */
uint8_t uart8250_read_reg(struct uart8250 *u, unsigned offset);
void uart8250_write_reg(struct uart8250 *u, unsigned offset, uint8_t val);

/* Reset the UART to its power-on state and remember its IRQ line and sink (copied). Does not touch
 * any bus. Returns 0 or -errno (mutex init). */
int uart8250_init(struct uart8250 *u, struct irq_line irq, const struct uart8250_sink *sink);

#endif
