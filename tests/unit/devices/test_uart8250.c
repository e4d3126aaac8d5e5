/* 16550A register model, driven through a real port bus as a vCPU would. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/serial_reg.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/uart8250.h"
#include "devices/uart8250_test.h"

#define BASE PORT_COM1

struct recorder {
	int levels[64]; /* every level driven, in order */
	int nlevels;
	uint8_t tx[256];
	size_t ntx;
	int rx_space_calls;
};

static struct io_bus bus;
static struct uart8250 uart;
static struct recorder rec;

static void rec_irq(void *opaque, unsigned gsi, int level)
{
	struct recorder *r = opaque;

	cr_assert_eq(gsi, IRQ_COM1);
	cr_assert_lt(r->nlevels, 64);
	r->levels[r->nlevels++] = level;
}

static void rec_tx(void *opaque, const uint8_t *buf, size_t n)
{
	struct recorder *r = opaque;

	memcpy(r->tx + r->ntx, buf, n);
	r->ntx += n;
}

static void rec_rx_space(void *opaque)
{
	((struct recorder *)opaque)->rx_space_calls++;
}

static void setup(void)
{
	struct irq_line irq = {.set = rec_irq, .opaque = &rec, .gsi = IRQ_COM1};
	struct uart8250_sink sink = {.tx = rec_tx, .rx_space = rec_rx_space, .opaque = &rec};

	memset(&rec, 0, sizeof(rec));
	io_bus_init(&bus, "pio");
	cr_assert_eq(uart8250_attach(&uart, &bus, BASE, irq, &sink), 0);
}

static void teardown(void)
{
	uart8250_detach(&uart, &bus);
	io_bus_destroy(&bus);
}

static uint8_t inb(unsigned reg)
{
	uint8_t v = 0;

	cr_assert_eq(io_bus_read(&bus, BASE + reg, &v, 1), 1);
	return v;
}

static void outb(unsigned reg, uint8_t v)
{
	cr_assert_eq(io_bus_write(&bus, BASE + reg, &v, 1), 1);
}

static size_t push(const char *s)
{
	return uart8250_receive(&uart, (const uint8_t *)s, strlen(s));
}

TestSuite(uart8250, .init = setup, .fini = teardown);

Test(uart8250, power_on_state)
{
	cr_assert_eq(inb(UART_IER), 0);
	cr_assert_eq(inb(UART_IIR), UART_IIR_NO_INT);
	cr_assert_eq(inb(UART_LCR), 0);
	cr_assert_eq(inb(UART_MCR), 0);
	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(inb(UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	cr_assert_eq(rec.nlevels, 0);
}

Test(uart8250, divisor_latch_behind_dlab)
{
	outb(UART_IER, UART_IER_RDI);
	outb(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	outb(UART_DLL, 0x01);
	outb(UART_DLM, 0x02);
	cr_assert_eq(inb(UART_DLL), 0x01);
	cr_assert_eq(inb(UART_DLM), 0x02);
	cr_assert_eq(rec.ntx, 0, "a DLL write is not a transmission");
	outb(UART_LCR, UART_LCR_WLEN8);
	cr_assert_eq(inb(UART_IER), UART_IER_RDI);
	cr_assert_eq(inb(UART_LCR), UART_LCR_WLEN8);
	outb(UART_LCR, UART_LCR_DLAB);
	cr_assert_eq(inb(UART_DLL), 0x01);
}

Test(uart8250, transmitted_bytes_reach_the_sink)
{
	outb(UART_TX, 'h');
	outb(UART_TX, 'i');
	cr_assert_eq(rec.ntx, 2);
	cr_assert_eq(memcmp(rec.tx, "hi", 2), 0);
	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}

/* ---- the sink runs without the UART lock (base/lock_order.h) ---- */

static bool lock_free_in_sink = true;

static void trylock_tx(void *opaque, const uint8_t *buf, size_t n)
{
	if (pthread_mutex_trylock(&uart.lock) == 0)
		pthread_mutex_unlock(&uart.lock);
	else
		lock_free_in_sink = false;
	rec_tx(opaque, buf, n);
}

Test(uart8250, sink_is_called_without_the_uart_lock)
{
	uart.sink.tx = trylock_tx;
	outb(UART_TX, 'o');
	outb(UART_TX, 'k');
	cr_assert(lock_free_in_sink, "console_write() may wait: not under the device lock");
	cr_assert_eq(rec.ntx, 2, "each byte is written before its THR write returns");
	cr_assert_eq(memcmp(rec.tx, "ok", 2), 0);
}

/* A sink that waits (a full console) until the test opens the gate. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, in_sink;

static void gated_tx(void *opaque, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&gate_lock);
	in_sink = true;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	rec_tx(opaque, buf, n);
}

struct writer {
	const char *bytes;
	bool done; /* __atomic */
};

/* A vCPU writing THR byte by byte. */
static void *write_thr_bytes(void *arg)
{
	struct writer *w = arg;

	for (const char *c = w->bytes; *c; c++)
		uart8250_write_reg(&uart, UART_TX, (uint8_t)*c);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* vCPU A's byte waits in the sink; meanwhile the UART answers, takes host input, and vCPU B's
 * bytes queue behind A's (B returns at once while the queue has room, then waits for it); all
 * of them reach the sink in the order they were written. */
Test(uart8250, waiting_sink_stalls_no_lock_and_keeps_the_order, .timeout = 20)
{
	struct writer a = {.bytes = "a"}, b = {.bytes = "bcdefghijklmnopq"}, c = {.bytes = "rstu"};
	pthread_t ta, tb, tc;

	uart.sink.tx = gated_tx;
	cr_assert_eq(pthread_create(&ta, NULL, write_thr_bytes, &a), 0);
	pthread_mutex_lock(&gate_lock);
	while (!in_sink)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);

	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT, "the UART answers");
	cr_assert_eq(push("x"), 1, "and takes host input");
	cr_assert_eq(pthread_create(&tb, NULL, write_thr_bytes, &b), 0);
	cr_assert_eq(pthread_join(tb, NULL), 0); /* queued behind 'a', not sent */
	cr_assert_eq(rec.ntx, 0);
	cr_assert_eq(pthread_create(&tc, NULL, write_thr_bytes, &c), 0);
	usleep(50 * 1000);
	cr_assert_not(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE), "a full queue makes C wait");

	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	cr_assert_eq(pthread_join(ta, NULL), 0);
	cr_assert_eq(pthread_join(tc, NULL), 0);
	outb(UART_TX, 'v'); /* the queue is free again: this thread sends at once */
	cr_assert_eq(rec.ntx, 22);
	cr_assert_eq(memcmp(rec.tx, "abcdefghijklmnopqrstuv", 22), 0, "%.22s", (char *)rec.tx);
}

Test(uart8250, ier_keeps_only_16550a_bits_and_scratch_works)
{
	outb(UART_IER, 0xff);
	cr_assert_eq(inb(UART_IER), 0x0f);
	outb(UART_SCR, 0xa5);
	cr_assert_eq(inb(UART_SCR), 0xa5);
}

Test(uart8250, fifo_enable_is_visible_in_iir)
{
	/* Linux autoconfig: FCR=1, then IIR bits 7:6 == 3 means a 16550A. */
	outb(UART_FCR, UART_FCR_ENABLE_FIFO);
	cr_assert_eq(inb(UART_IIR), 0xc1);
	/* A 16750 probe sets FCR bit 5; a 16550A must not show IIR bit 5. */
	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	cr_assert_eq(inb(UART_IIR), 0xc1);
	outb(UART_FCR, 0);
	cr_assert_eq(inb(UART_IIR), 0x01);
}

Test(uart8250, lsr_data_ready_follows_rx)
{
	cr_assert_eq(push("A"), 1);
	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	cr_assert_eq(inb(UART_RX), 'A');
	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(inb(UART_RX), 0, "empty RBR reads 0");
}

Test(uart8250, without_fifo_holds_one_byte)
{
	cr_assert_eq(push("xyz"), 1);
	cr_assert_eq(uart8250_rx_room(&uart), 0);
	cr_assert_eq(inb(UART_RX), 'x');
	cr_assert_eq(rec.rx_space_calls, 1);
}

Test(uart8250, fifo_fills_to_16_then_drains_in_order_and_signals_room)
{
	const char *in = "0123456789abcdefXYZ";

	outb(UART_FCR, UART_FCR_ENABLE_FIFO);
	cr_assert_eq(push(in), 16);
	cr_assert_eq(uart8250_rx_room(&uart), 0);
	cr_assert_eq(push("Q"), 0);
	cr_assert_eq(rec.rx_space_calls, 0);
	cr_assert_eq(inb(UART_RX), '0');
	cr_assert_eq(rec.rx_space_calls, 1, "room after a refused receive is announced");
	for (int i = 1; i < 16; i++)
		cr_assert_eq(inb(UART_RX), (uint8_t)in[i]);
	cr_assert_eq(rec.rx_space_calls, 1, "announced once per refusal");
	cr_assert_eq(inb(UART_LSR) & UART_LSR_DR, 0);
}

Test(uart8250, fcr_clear_rcvr_empties_fifo)
{
	outb(UART_FCR, UART_FCR_ENABLE_FIFO);
	cr_assert_eq(push("hello"), 5);
	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	cr_assert_eq(inb(UART_LSR) & UART_LSR_DR, 0);
	cr_assert_eq(uart8250_rx_room(&uart), 16);
}

Test(uart8250, loopback_overrun_sets_oe_once)
{
	outb(UART_FCR, UART_FCR_ENABLE_FIFO);
	outb(UART_MCR, UART_MCR_LOOP);
	for (int i = 0; i < 17; i++)
		outb(UART_TX, (uint8_t)('a' + i));
	cr_assert_eq(rec.ntx, 0, "loopback output does not leave the UART");
	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR | UART_LSR_OE);
	cr_assert_eq(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(inb(UART_RX), (uint8_t)('a' + i));
}

Test(uart8250, loopback_wires_modem_lines)
{
	/* Linux autoconfig: MCR = LOOP|OUT2|RTS must read back MSR 0x90 (DCD|CTS). */
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	cr_assert_eq(inb(UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	cr_assert_eq(inb(UART_MSR) & 0xf0, UART_MSR_DSR | UART_MSR_RI);
	/* Deltas clear on read. */
	cr_assert_eq(inb(UART_MSR) & 0x0f, 0);
	outb(UART_MCR, 0);
	cr_assert_eq(inb(UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS | UART_MSR_DDCD |
					UART_MSR_DCTS | UART_MSR_TERI);
}

Test(uart8250, iir_priorities)
{
	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_4);
	outb(UART_IER, 0x0f);
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_THRI);
	/* Below the trigger level: character timeout. */
	cr_assert_eq(push("ab"), 2);
	outb(UART_IER, 0x0f); /* no THRI transition: nothing re-armed */
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	cr_assert_eq(push("cd"), 2);
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_RDI);
	/* A line-status error outranks data. */
	outb(UART_MCR, UART_MCR_LOOP);
	for (int i = 0; i < 13; i++)
		outb(UART_TX, 'z');
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_RLSI);
	inb(UART_LSR);
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_RDI);
	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	/* The loopback writes left THRE pending: it comes next, and reading it clears it. */
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_THRI);
	/* Entering loopback changed the modem lines: the lowest priority, modem status. */
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_MSI);
	inb(UART_MSR);
	cr_assert_eq(inb(UART_IIR), 0xc0 | UART_IIR_NO_INT);
}

Test(uart8250, modem_status_interrupt_is_last)
{
	outb(UART_IER, UART_IER_MSI);
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	cr_assert_eq(inb(UART_IIR), UART_IIR_MSI);
	inb(UART_MSR);
	cr_assert_eq(inb(UART_IIR), UART_IIR_NO_INT);
}

Test(uart8250, rx_irq_level_follows_data_and_needs_out2)
{
	outb(UART_IER, UART_IER_RDI);
	cr_assert_eq(push("k"), 1);
	cr_assert_eq(rec.nlevels, 0, "OUT2 clear: the line is gated off");
	outb(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	cr_assert_eq(rec.nlevels, 1);
	cr_assert_eq(rec.levels[0], 1);
	cr_assert_eq(inb(UART_RX), 'k');
	cr_assert_eq(rec.nlevels, 2);
	cr_assert_eq(rec.levels[1], 0);
	cr_assert_eq(push("l"), 1);
	cr_assert_eq(rec.nlevels, 3);
	cr_assert_eq(rec.levels[2], 1);
	outb(UART_IER, 0);
	cr_assert_eq(rec.nlevels, 4);
	cr_assert_eq(rec.levels[3], 0);
}

Test(uart8250, thre_interrupt_rearm_semantics)
{
	outb(UART_MCR, UART_MCR_OUT2);
	outb(UART_IER, UART_IER_THRI); /* enabling THRI with THR empty fires */
	cr_assert_eq(rec.nlevels, 1);
	cr_assert_eq(rec.levels[0], 1);
	cr_assert_eq(inb(UART_IIR), UART_IIR_THRI);
	cr_assert_eq(rec.nlevels, 2, "an IIR read naming THRE clears it");
	cr_assert_eq(rec.levels[1], 0);
	cr_assert_eq(inb(UART_IIR), UART_IIR_NO_INT);
	outb(UART_IER, UART_IER_THRI); /* already on: no new interrupt */
	cr_assert_eq(rec.nlevels, 2);
	outb(UART_IER, 0);
	outb(UART_IER, UART_IER_THRI); /* off then on: fires again */
	cr_assert_eq(rec.nlevels, 3);
	cr_assert_eq(rec.levels[2], 1);
	outb(UART_TX, '!'); /* sent at once: THR empty again, still pending */
	cr_assert_eq(rec.nlevels, 3);
	cr_assert_eq(inb(UART_IIR), UART_IIR_THRI);
	cr_assert_eq(rec.levels[3], 0);
	outb(UART_TX, '?'); /* each transmission re-arms it */
	cr_assert_eq(rec.nlevels, 5);
	cr_assert_eq(rec.levels[4], 1);
	outb(UART_IER, 0); /* Linux __stop_tx */
	cr_assert_eq(rec.levels[5], 0);
	cr_assert_eq(rec.ntx, 2);
}

/* The lock-free view a stalled guest's diagnosis reads: registers, pending IIR, line level. */
Test(uart8250, view_follows_the_registers_and_the_line)
{
	struct uart8250_view v;

	uart8250_view(&uart, &v);
	cr_assert_eq(v.ier, 0);
	cr_assert_eq(v.iir, UART_IIR_NO_INT);
	cr_assert_eq(v.line, 0);
	outb(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	outb(UART_IER, UART_IER_THRI | UART_IER_RDI);
	uart8250_view(&uart, &v);
	cr_assert_eq(v.ier, UART_IER_THRI | UART_IER_RDI);
	cr_assert_eq(v.mcr, UART_MCR_OUT2 | UART_MCR_DTR);
	cr_assert_eq(v.iir, UART_IIR_THRI);
	cr_assert_eq(v.line, 1, "a THRE interrupt the driver has not taken yet");
	cr_assert_eq(inb(UART_IIR), UART_IIR_THRI);
	uart8250_view(&uart, &v);
	cr_assert_eq(v.iir, UART_IIR_NO_INT);
	cr_assert_eq(v.line, 0);
	cr_assert_eq(v.ier & UART_IER_THRI, UART_IER_THRI, "the driver still waits to send");
}

Test(uart8250, linux_thre_probe_sees_working_uart)
{
	/* serial8250_do_startup's UART_BUG_THRE test, step by step. */
	outb(UART_MCR, UART_MCR_OUT2);
	outb(UART_IER, UART_IER_THRI);
	uint8_t iir1 = inb(UART_IIR);
	outb(UART_IER, 0);
	outb(UART_IER, UART_IER_THRI);
	uint8_t iir = inb(UART_IIR);
	outb(UART_IER, 0);
	cr_assert_eq(iir1 & UART_IIR_NO_INT, 0);
	cr_assert_eq(iir & UART_IIR_NO_INT, 0);
}

Test(uart8250, wide_access_is_split_into_bytes)
{
	uint16_t v = 0;

	outb(UART_SCR, 0x5a);
	cr_assert_eq(io_bus_read(&bus, BASE + UART_MSR, &v, 2), 1);
	cr_assert_eq(v & 0xff, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	cr_assert_eq(v >> 8, 0x5a);
}

Test(uart8250, register_offset_beyond_ports_wraps_harmlessly)
{
	uart8250_write_reg(&uart, 0xffff, 0x33); /* offset 7: scratch */
	cr_assert_eq(uart8250_read_reg(&uart, 7), 0x33);
}

/* ---- snapshot: save, restore into a fresh UART, the same answers; hostile states refused ---- */

Test(uart8250, state_restored_into_a_fresh_uart_answers_the_same)
{
	struct uart8250_state s;
	struct uart8250 fresh;
	struct recorder frec = {0};
	struct irq_line irq = {.set = rec_irq, .opaque = &frec, .gsi = IRQ_COM1};

	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10);
	outb(UART_MCR, UART_MCR_OUT2);
	outb(UART_IER, UART_IER_RDI);
	outb(UART_SCR, 0x5a);
	cr_assert_eq(push("snapshot"), 8);
	cr_assert_eq(inb(UART_RX), 's'); /* the FIFO's head moved off 0 */
	uart8250_save(&uart, &s);
	cr_assert_eq(uart8250_init(&fresh, irq, NULL), 0);
	cr_assert_eq(uart8250_restore(&fresh, &s), 0);
	cr_assert_eq(frec.nlevels, 1, "the restore drives the IRQ line");
	cr_assert_eq(frec.levels[0], 1, "data waits with RDI enabled: the line is up");
	for (unsigned reg = UART_IER; reg <= UART_SCR; reg++) {
		if (reg != UART_IIR && reg != UART_LSR && reg != UART_MSR)
			cr_assert_eq(uart8250_read_reg(&fresh, reg), inb(reg), "register %u", reg);
	}
	cr_assert_eq(uart8250_read_reg(&fresh, UART_IIR), inb(UART_IIR));
	for (int i = 0; i < 7; i++)
		cr_assert_eq(uart8250_read_reg(&fresh, UART_RX), inb(UART_RX), "byte %d", i);
	cr_assert_eq(uart8250_read_reg(&fresh, UART_LSR), inb(UART_LSR));
	uart8250_detach(&fresh, NULL);
}

Test(uart8250, hostile_state_is_refused)
{
	struct uart8250_state s, bad;

	outb(UART_FCR, UART_FCR_ENABLE_FIFO);
	push("abc");
	uart8250_save(&uart, &s);
	bad = s;
	bad.rx_head = UART8250_FIFO_SIZE; /* beyond the FIFO */
	cr_assert_eq(uart8250_restore(&uart, &bad), -EINVAL);
	bad = s;
	bad.rx_count = UART8250_FIFO_SIZE + 1;
	cr_assert_eq(uart8250_restore(&uart, &bad), -EINVAL);
	bad = s;
	bad.fcr = 0; /* FIFOs off: one byte at most */
	cr_assert_eq(uart8250_restore(&uart, &bad), -EINVAL);
	bad = s;
	bad.ier = 0xf0;
	cr_assert_eq(uart8250_restore(&uart, &bad), -EINVAL);
	bad = s;
	bad.thr_ipending = 2;
	cr_assert_eq(uart8250_restore(&uart, &bad), -EINVAL);
	cr_assert_eq(inb(UART_RX), 'a', "a refused state changed nothing");
	cr_assert_eq(uart8250_restore(&uart, &s), 0);
}
