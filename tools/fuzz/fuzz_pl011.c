/* libFuzzer target: the PL011 UART (devices/pl011.c) and the PL031 RTC (devices/pl031.c) behind
 * an MMIO bus (base/io_bus.c): reads and writes of any width at any offset of their pages, host
 * input through pl011_receive(), the RTC's poll, snapshots of both restored from fuzzed bytes,
 * in fuzzed order.
 * Invariants: the RX FIFO never holds more than it can, receive() never takes more than it was
 * offered, the IRQ lines are only driven to 0 or 1 and match the devices' idea of them, a
 * refused restore leaves the device as it was. */
#include <stdlib.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pl011.h"
#include "devices/pl031.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UART_BASE 0x40002000ULL
#define RTC_BASE  0x40003000ULL
#define MAX_OPS	  1024

static int levels[2] = {-1, -1};
static time_t rtc_time;

static void set_irq(void *opaque, unsigned gsi, int l)
{
	(void)opaque;
	FZ_ASSERT(l == 0 || l == 1, "IRQ level %d", l);
	levels[gsi & 1] = l;
}

static void tx(void *opaque, const uint8_t *buf, size_t n)
{
	size_t *bytes = opaque;
	for (size_t i = 0; i < n; i++)
		*bytes += buf[i] != 0xff; /* touch every byte (ASan) */
}

static time_t now(void *opaque)
{
	(void)opaque;
	return rtc_time;
}

static void check(struct pl011 *u, struct pl031 *r)
{
	unsigned cap = u->lcr_h & PL011_LCR_H_FEN ? PL011_FIFO_SIZE : 1;
	FZ_ASSERT(u->rxq.count <= cap && u->rxq.head < PL011_FIFO_SIZE, "FIFO %u @ %u",
		  u->rxq.count, u->rxq.head);
	FZ_ASSERT(levels[0] == -1 || levels[0] == u->irq_level, "UART line %d, it thinks %d",
		  levels[0], u->irq_level);
	FZ_ASSERT(levels[1] == -1 || levels[1] == r->irq_level, "RTC line %d, it thinks %d",
		  levels[1], r->irq_level);
}

/* A state from the input: a restore either takes it or changes nothing. */
static void restore_uart(struct fz_in *in, struct pl011 *u)
{
	struct pl011_state s, before, after;
	pl011_save(u, &before);
	fz_bytes(in, &s, sizeof(s));
	if (pl011_restore(u, &s) == 0)
		return;
	pl011_save(u, &after);
	FZ_ASSERT(memcmp(&before, &after, sizeof(before)) == 0, "refused restore changed the UART");
}

static void restore_rtc(struct fz_in *in, struct pl031 *r)
{
	struct pl031_state s, before, after;
	pl031_save(r, &before);
	fz_bytes(in, &s, sizeof(s));
	if (pl031_restore(r, &s) == 0)
		return;
	pl031_save(r, &after);
	FZ_ASSERT(memcmp(&before, &after, sizeof(before)) == 0, "refused restore changed the RTC");
}

static void one_op(struct fz_in *in, struct io_bus *bus, struct pl011 *u, struct pl031 *r)
{
	uint8_t op = fz_u8(in);
	uint64_t addr = (op & 0x10 ? RTC_BASE : UART_BASE) + fz_u16(in) % PL011_MMIO_SIZE;
	uint32_t len = 1u << (fz_u8(in) % 4);
	uint8_t buf[32];
	size_t took;
	switch (op % 6) {
	case 0:
		io_bus_read(bus, addr, buf, len);
		break;
	case 1:
		fz_bytes(in, buf, len);
		io_bus_write(bus, addr, buf, len);
		break;
	case 2:
		len = fz_u8(in) % sizeof(buf);
		fz_bytes(in, buf, len);
		took = pl011_receive(u, buf, len);
		FZ_ASSERT(took <= len, "receive took %zu of %u", took, len);
		break;
	case 3:
		rtc_time += (time_t)fz_u32(in);
		pl031_poll(r);
		break;
	case 4:
		restore_uart(in, u);
		break;
	default:
		restore_rtc(in, r);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct io_bus bus;
	struct pl011 u;
	struct pl031 r;
	size_t tx_bytes = 0;
	struct pl011_sink sink = {tx, NULL, &tx_bytes};
	io_bus_init(&bus, "mmio");
	levels[0] = levels[1] = -1;
	rtc_time = 1700000000;
	if (pl011_attach(&u, &bus, UART_BASE, (struct irq_line){set_irq, NULL, 0}, &sink) ||
	    pl031_attach(&r, &bus, RTC_BASE, (struct irq_line){set_irq, NULL, 1}, now, NULL))
		abort();
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&in); ops++) {
		one_op(&in, &bus, &u, &r);
		check(&u, &r);
	}
	pl031_detach(&r, &bus);
	pl011_detach(&u, &bus);
	io_bus_destroy(&bus);
	return 0;
}
