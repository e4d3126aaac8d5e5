/* libFuzzer target: the 16550A UART (devices/uart8250.c) behind a port-I/O bus (base/io_bus.c):
 * register reads and writes of any width around its 8 ports, host input through
 * uart8250_receive(), all in fuzzed order.
 * Invariants: the RX FIFO never holds more than it can, receive() never takes more than the
 * room it reported, the IRQ line is only driven to 0 or 1 and matches the UART's idea of it. */
#include <stdlib.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/uart8250.h"
#include "devices/uart8250_test.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE	0x3f8
#define MAX_OPS 1024

static int level = -1;
static size_t tx_bytes;

static void set_irq(void *opaque, unsigned gsi, int l)
{
	(void)opaque, (void)gsi;
	FZ_ASSERT(l == 0 || l == 1, "IRQ level %d", l);
	level = l;
}

static void tx(void *opaque, const uint8_t *buf, size_t n)
{
	(void)opaque;
	for (size_t i = 0; i < n; i++)
		tx_bytes += buf[i] != 0xff; /* touch every byte (ASan) */
}

static void rx_space(void *opaque)
{
	(void)opaque;
}

static void check(struct uart8250 *u)
{
	FZ_ASSERT(u->rxq.count <= UART8250_FIFO_SIZE && u->rxq.head < UART8250_FIFO_SIZE,
		  "FIFO %u @ %u", u->rxq.count, u->rxq.head);
	FZ_ASSERT(level == -1 || level == u->irq_level, "line %d, UART thinks %d", level,
		  u->irq_level);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct io_bus bus;
	struct uart8250 u;
	struct uart8250_sink sink = {tx, rx_space, NULL};
	io_bus_init(&bus, "pio");
	level = -1;
	if (uart8250_attach(&u, &bus, BASE, (struct irq_line){set_irq, NULL, 4}, &sink))
		abort();
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&in); ops++) {
		uint8_t op = fz_u8(&in);
		uint64_t port = BASE - 2 + fz_u8(&in) % 12; /* around the 8 ports */
		uint32_t len = op & 0x40 ? 1u << (fz_u8(&in) % 3) : 1;
		uint8_t buf[32];
		size_t room, took;
		switch (op % 4) {
		case 0:
			io_bus_read(&bus, port, buf, len);
			break;
		case 1:
			fz_bytes(&in, buf, len);
			io_bus_write(&bus, port, buf, len);
			break;
		case 2:
			room = uart8250_rx_room(&u);
			len = fz_u8(&in) % sizeof(buf);
			fz_bytes(&in, buf, len);
			took = uart8250_receive(&u, buf, len);
			FZ_ASSERT(took <= len && took <= room, "receive took %zu of %u (room %zu)",
				  took, len, room);
			break;
		default: /* direct register access, as the unit tests do */
			if (op & 0x80)
				uart8250_write_reg(&u, fz_u8(&in) % 8, fz_u8(&in));
			else
				uart8250_read_reg(&u, fz_u8(&in) % 8);
			break;
		}
		check(&u);
	}
	uart8250_detach(&u, &bus);
	io_bus_destroy(&bus);
	return 0;
}
