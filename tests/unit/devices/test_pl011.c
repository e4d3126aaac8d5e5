/* PL011 register model, driven through a real MMIO bus as a vCPU would, the way Linux's
 * amba-pl011 driver uses it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pl011.h"

#define BASE 0x40002000ULL
#define LINE 7

struct recorder {
	int levels[256]; /* every level driven, in order */
	int nlevels;
	uint8_t tx[512];
	size_t ntx;
	int rx_space_calls;
};

static struct io_bus bus;
static struct pl011 uart;
static struct recorder rec;

static void rec_irq(void *opaque, unsigned gsi, int level)
{
	struct recorder *r = opaque;

	cr_assert_eq(gsi, LINE);
	cr_assert_lt(r->nlevels, 256);
	r->levels[r->nlevels++] = level;
}

static void rec_tx(void *opaque, const uint8_t *buf, size_t n)
{
	struct recorder *r = opaque;

	cr_assert_leq(r->ntx + n, sizeof(r->tx));
	memcpy(r->tx + r->ntx, buf, n);
	r->ntx += n;
}

static void rec_rx_space(void *opaque)
{
	((struct recorder *)opaque)->rx_space_calls++;
}

static void setup(void)
{
	struct irq_line irq = {.set = rec_irq, .opaque = &rec, .gsi = LINE};
	struct pl011_sink sink = {.tx = rec_tx, .rx_space = rec_rx_space, .opaque = &rec};

	memset(&rec, 0, sizeof(rec));
	io_bus_init(&bus, "mmio");
	cr_assert_eq(pl011_attach(&uart, &bus, BASE, irq, &sink), 0);
}

static void teardown(void)
{
	pl011_detach(&uart, &bus);
	io_bus_destroy(&bus);
}

static uint32_t rd(uint64_t reg)
{
	uint32_t v = 0xdeadbeef;

	cr_assert_eq(io_bus_read(&bus, BASE + reg, &v, 4), 1);
	return v;
}

static uint16_t rd16(uint64_t reg)
{
	uint16_t v = 0xbeef;

	cr_assert_eq(io_bus_read(&bus, BASE + reg, &v, 2), 1);
	return v;
}

static void wr(uint64_t reg, uint32_t v)
{
	cr_assert_eq(io_bus_write(&bus, BASE + reg, &v, 4), 1);
}

static void wr16(uint64_t reg, uint16_t v)
{
	cr_assert_eq(io_bus_write(&bus, BASE + reg, &v, 2), 1);
}

static int line(void)
{
	return rec.nlevels ? rec.levels[rec.nlevels - 1] : 0;
}

static size_t push(const char *s)
{
	return pl011_receive(&uart, (const uint8_t *)s, strlen(s));
}

TestSuite(pl011, .init = setup, .fini = teardown);

/* Linux's AMBA bus reads the eight ID bytes and matches 0x00041011 under mask 0x000fffff; a
 * revision below 3 gives 16-entry FIFOs (amba-pl011.c get_fifosize_arm()). */
Test(pl011, primecell_ids)
{
	static const uint8_t want[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
	uint32_t periph = 0, cell = 0;

	for (int i = 0; i < 8; i++)
		cr_assert_eq(rd(PL011_PERIPHID0 + 4 * (uint64_t)i), want[i], "ID byte %d", i);
	for (int i = 0; i < 4; i++) {
		periph |= rd(PL011_PERIPHID0 + 4 * (uint64_t)i) << (8 * i);
		cell |= rd(PL011_PERIPHID0 + 16 + 4 * (uint64_t)i) << (8 * i);
	}
	cr_assert_eq(periph & 0x000fffff, 0x00041011);
	cr_assert_eq(cell, 0xb105f00d);
	cr_assert_lt((periph >> 20) & 0xf, 3, "revision < 3: Linux sizes the FIFO at 16");
}

Test(pl011, reset_values)
{
	cr_assert_eq(rd(PL011_CR), PL011_CR_TXE | PL011_CR_RXE);
	cr_assert_eq(rd(PL011_IFLS), 0x12);
	cr_assert_eq(rd(PL011_IMSC), 0);
	cr_assert_eq(rd(PL011_RIS), 0, "no TX interrupt before data left the FIFO");
	cr_assert_eq(rd(PL011_FR) & (PL011_FR_TXFE | PL011_FR_RXFE | PL011_FR_TXFF | PL011_FR_BUSY |
				     PL011_FR_RXFF),
		     PL011_FR_TXFE | PL011_FR_RXFE);
	cr_assert_eq(line(), 0);
}

/* earlycon=pl011: DR writes on a UART nobody enabled still reach the console. */
Test(pl011, earlycon_writes_without_enable)
{
	uint8_t b = 'h';

	cr_assert_eq(io_bus_write(&bus, BASE + PL011_DR, &b, 1), 1);
	wr16(PL011_DR, 'i');
	wr(PL011_DR, 0x100 | '!'); /* bits above 7 are not data */
	cr_assert_eq(rec.ntx, 3);
	cr_assert_eq(memcmp(rec.tx, "hi!", 3), 0);
	cr_assert(rd(PL011_FR) & PL011_FR_TXFE);
	cr_assert_eq(line(), 0, "TXIS is raw only while TXIM is masked");
}

Test(pl011, registers_read_back_masked)
{
	wr(PL011_IBRD, 0x12345);
	wr(PL011_FBRD, 0xff);
	wr(PL011_LCR_H, 0x1f70);
	wr(PL011_CR, 0xffffffff);
	wr(PL011_IFLS, 0xff);
	wr(PL011_IMSC, 0xffffffff);
	wr(PL011_DMACR, 0xff);
	wr(PL011_ILPR, 0x1ab);
	cr_assert_eq(rd(PL011_IBRD), 0x2345);
	cr_assert_eq(rd(PL011_FBRD), 0x3f);
	cr_assert_eq(rd(PL011_LCR_H), 0x70);
	cr_assert_eq(rd(PL011_CR), 0xff87);
	cr_assert_eq(rd(PL011_IFLS), 0x3f);
	cr_assert_eq(rd(PL011_IMSC), 0x7ff);
	cr_assert_eq(rd(PL011_DMACR), 0x7);
	cr_assert_eq(rd(PL011_ILPR), 0xab);
}

/* Linux's pl011_startup()/pl011_enable_interrupts(): clear RX interrupts, drain, unmask RX and
 * RT. Then a received byte below the level raises RTIS, the driver drains until RXFE, and the
 * line drops. */
Test(pl011, rx_timeout_interrupt_like_linux)
{
	wr(PL011_LCR_H, PL011_LCR_H_FEN | 0x60);
	wr(PL011_ICR, PL011_INT_RX | PL011_INT_RT);
	wr(PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
	cr_assert_eq(line(), 0);
	cr_assert_eq(push("ab"), 2);
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(PL011_MIS), PL011_INT_RT, "2 bytes are below the 1/2 level: timeout");
	cr_assert_eq(rd(PL011_FR) & PL011_FR_RXFE, 0);
	cr_assert_eq(rd(PL011_DR), 'a');
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(PL011_DR), 'b');
	cr_assert(rd(PL011_FR) & PL011_FR_RXFE);
	cr_assert_eq(rd(PL011_RIS), 0);
	cr_assert_eq(line(), 0);
}

Test(pl011, rx_level_interrupt)
{
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	wr(PL011_IFLS, 0 << 3); /* RX at 1/8: 2 bytes */
	wr(PL011_IMSC, PL011_INT_RX);
	cr_assert_eq(push("x"), 1);
	cr_assert_eq(line(), 0, "1 byte is below 1/8 of 16");
	cr_assert_eq(push("y"), 1);
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(PL011_DR), 'x');
	cr_assert_eq(line(), 0, "below the level again");
	cr_assert_eq(rd(PL011_RIS) & PL011_INT_RX, 0);
	cr_assert_eq(rd(PL011_DR), 'y');
}

Test(pl011, icr_clears_and_mis_follows_imsc)
{
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	push("abcdefgh"); /* the 1/2 level */
	cr_assert_eq(rd(PL011_RIS), PL011_INT_RX | PL011_INT_RT);
	cr_assert_eq(rd(PL011_MIS), 0);
	wr(PL011_IMSC, PL011_INT_RX);
	cr_assert_eq(rd(PL011_MIS), PL011_INT_RX);
	cr_assert_eq(line(), 1);
	wr(PL011_ICR, PL011_INT_RX | PL011_INT_RT);
	cr_assert_eq(rd(PL011_RIS), 0);
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(PL011_DR), 'a', "ICR does not touch the data");
}

/* Full FIFO: the caller keeps the rest, RXFF shows, and draining calls rx_space once. */
Test(pl011, rx_full_backpressure)
{
	char buf[PL011_FIFO_SIZE + 5];

	memset(buf, 'q', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	cr_assert_eq(push(buf), PL011_FIFO_SIZE);
	cr_assert(rd(PL011_FR) & PL011_FR_RXFF);
	cr_assert_eq(push("z"), 0);
	cr_assert_eq(rec.rx_space_calls, 0);
	cr_assert_eq(rd(PL011_DR), 'q');
	cr_assert_eq(rec.rx_space_calls, 1);
	cr_assert_eq(rd(PL011_DR), 'q');
	cr_assert_eq(rec.rx_space_calls, 1, "once per shortfall");
	cr_assert_eq(rd(PL011_RSR), 0, "the host's bytes are never lost: no overrun");
}

Test(pl011, fifo_disabled_holds_one_byte)
{
	wr(PL011_IMSC, PL011_INT_RX);
	cr_assert_eq(push("ab"), 1);
	cr_assert_eq(line(), 1, "without FIFOs every byte reaches the level");
	cr_assert(rd(PL011_FR) & PL011_FR_RXFF);
	cr_assert_eq(rd(PL011_DR), 'a');
	cr_assert_eq(line(), 0);
}

Test(pl011, fen_change_flushes_rx)
{
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	push("abc");
	wr(PL011_LCR_H, 0);
	cr_assert(rd(PL011_FR) & PL011_FR_RXFE);
	cr_assert_eq(rd(PL011_RIS), 0);
}

/* The TX interrupt as Linux's driver uses it: pl011_start_tx() writes what it has itself and
 * unmasks TXIM only when bytes remain; the interrupt then comes once data has left the FIFO, and
 * pl011_tx_chars() masks TXIM when it has nothing more to send. */
Test(pl011, tx_interrupt_after_data_leaves)
{
	wr(PL011_IMSC, PL011_INT_TX);
	cr_assert_eq(line(), 0, "an idle UART raises no TX interrupt");
	wr(PL011_DR, 'a');
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(PL011_MIS), PL011_INT_TX);
	wr(PL011_DR, 'b');
	cr_assert_eq(line(), 1);
	wr(PL011_IMSC, 0); /* pl011_stop_tx() */
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(PL011_RIS), PL011_INT_TX, "TXIS stays raw until cleared");
	wr(PL011_ICR, PL011_INT_TX);
	cr_assert_eq(rd(PL011_RIS), 0);
	cr_assert_eq(rec.ntx, 2);
}

/* Old drivers provoke the first TX interrupt with a byte in loopback mode. */
Test(pl011, loopback)
{
	wr(PL011_LCR_H, PL011_LCR_H_FEN);
	wr(PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE | PL011_CR_LBE);
	wr(PL011_DR, 'L');
	cr_assert_eq(rec.ntx, 0, "loopback bytes do not reach the wire");
	cr_assert_eq(rd(PL011_RIS) & PL011_INT_TX, PL011_INT_TX);
	cr_assert_eq(push("host"), 4, "host input is dropped while the receiver listens to TX");
	cr_assert_eq(rd(PL011_DR), 'L');
	cr_assert(rd(PL011_FR) & PL011_FR_RXFE);
}

Test(pl011, loopback_overrun)
{
	wr(PL011_CR, PL011_CR_LBE);
	wr(PL011_DR, '1');
	wr(PL011_DR, '2'); /* 1-byte holding register: overrun */
	cr_assert_eq(rd(PL011_RSR), 0x8);
	cr_assert(rd(PL011_RIS) & PL011_INT_OE);
	wr(PL011_RSR, 0); /* ECR */
	cr_assert_eq(rd(PL011_RSR), 0);
	cr_assert_eq(rd(PL011_DR), '1');
}

Test(pl011, odd_accesses_are_harmless)
{
	uint8_t b = 0xaa;
	uint64_t q = 0x1234;

	/* 16-bit reads work like Linux's readw */
	cr_assert_eq(rd16(PL011_CR), PL011_CR_TXE | PL011_CR_RXE);
	/* unaligned, 64-bit, holes, write-only, read-only */
	cr_assert_eq(io_bus_read(&bus, BASE + PL011_CR + 1, &b, 1), 1);
	cr_assert_eq(b, 0);
	cr_assert_eq(io_bus_read(&bus, BASE + PL011_CR, &q, 8), 1);
	cr_assert_eq(q, 0);
	q = ~0ULL;
	cr_assert_eq(io_bus_write(&bus, BASE + PL011_CR, &q, 8), 1);
	cr_assert_eq(rd(PL011_CR), PL011_CR_TXE | PL011_CR_RXE);
	cr_assert_eq(io_bus_write(&bus, BASE + PL011_DR + 2, &b, 1), 1);
	cr_assert_eq(rec.ntx, 0);
	cr_assert_eq(rd(0x100), 0);
	cr_assert_eq(rd(0xffc), 0xb1);
	cr_assert_eq(rd(PL011_ICR), 0);
	wr(0x100, 0xffffffff);
	wr(PL011_RIS, 0xffffffff);
	wr(PL011_MIS, 0xffffffff);
	wr(PL011_FR, 0xffffffff);
	wr(PL011_PERIPHID0, 0);
	cr_assert_eq(rd(PL011_RIS), 0);
	cr_assert_eq(rd(PL011_PERIPHID0), 0x11);
	cr_assert_eq(rd(PL011_DR), 0, "an empty FIFO reads 0");
}

Test(pl011, view_tracks_registers)
{
	struct pl011_view v;

	wr(PL011_IMSC, PL011_INT_TX);
	wr(PL011_DR, 'v');
	pl011_view(&uart, &v);
	cr_assert_eq(v.imsc, PL011_INT_TX);
	cr_assert_eq(v.ris, PL011_INT_TX);
	cr_assert_eq(v.line, 1);
}

Test(pl011, save_restore_roundtrip)
{
	struct pl011_state s, again;
	struct io_bus bus2;
	struct pl011 u2;
	struct recorder rec2 = {0};
	struct irq_line irq2 = {.set = rec_irq, .opaque = &rec2, .gsi = LINE};

	wr(PL011_LCR_H, PL011_LCR_H_FEN | 0x60);
	wr(PL011_IBRD, 13);
	wr(PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
	push("snap");
	pl011_save(&uart, &s);
	io_bus_init(&bus2, "mmio");
	cr_assert_eq(pl011_attach(&u2, &bus2, BASE, irq2, NULL), 0);
	cr_assert_eq(pl011_restore(&u2, &s), 0);
	cr_assert_eq(rec2.nlevels, 1);
	cr_assert_eq(rec2.levels[0], 1, "the restored RTIS is driven on the new line");
	pl011_save(&u2, &again);
	cr_assert_eq(memcmp(&s, &again, sizeof(s)), 0);
	pl011_detach(&u2, &bus2);
	io_bus_destroy(&bus2);
}

Test(pl011, restore_rejects_what_registers_cannot_hold)
{
	struct pl011_state good, bad, now;

	push("k");
	pl011_save(&uart, &good);
#define BAD(field_expr)                                                                            \
	do {                                                                                       \
		bad = good;                                                                        \
		field_expr;                                                                        \
		cr_assert_eq(pl011_restore(&uart, &bad), -EINVAL, #field_expr);                    \
		pl011_save(&uart, &now);                                                           \
		cr_assert_eq(memcmp(&now, &good, sizeof(now)), 0, "unchanged after " #field_expr); \
	} while (0)
	BAD(bad.rx_head = PL011_FIFO_SIZE);
	BAD(bad.rx_count = 2); /* FIFOs off: 1 entry */
	BAD((bad.lcr_h = PL011_LCR_H_FEN, bad.rx_count = PL011_FIFO_SIZE + 1));
	BAD(bad.rx_blocked = 2);
	BAD(bad.ifls = 0x40);
	BAD(bad.fbrd = 0x40);
	BAD(bad.dmacr = 0x8);
	BAD(bad.rsr = 0x10);
	BAD(bad.ris = 1); /* a modem interrupt this model never raises */
	BAD(bad.imsc = 0x800);
	BAD(bad.cr = 0x8);
	BAD(bad.reserved0 = 1);
	BAD(bad.reserved[5] = 1);
#undef BAD
	cr_assert_eq(pl011_restore(&uart, &good), 0);
}

/* Several vCPUs writing DR at once with a slow console: every byte arrives, each writer's bytes
 * in its order. */
struct writer {
	char tag;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < 100; i++)
		wr(PL011_DR, (uint32_t)w->tag);
	return NULL;
}

Test(pl011, concurrent_writers_keep_every_byte)
{
	pthread_t t[4];
	struct writer w[4] = {{'a'}, {'b'}, {'c'}, {'d'}};
	int count[4] = {0};

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, write_many, &w[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(rec.ntx, 400);
	for (size_t i = 0; i < rec.ntx; i++)
		count[rec.tx[i] - 'a']++;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(count[i], 100);
}
