/* 16550A UART model. Register semantics follow the National PC16550D data sheet; where a driver
 * depends on a detail, the comment names the Linux 8250 code path. */
#include "devices/uart8250.h"

#include <errno.h>
#include <linux/serial_reg.h>
#include <string.h>

#include "base/log.h"

/* Modem status inputs we present when not in loopback: a terminal is attached and ready. */
#define MSR_INPUTS_CONNECTED (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)
#define MSR_DELTAS	     (UART_MSR_DDCD | UART_MSR_TERI | UART_MSR_DDSR | UART_MSR_DCTS)
#define LSR_ERRORS	     (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)
#define IER_MASK	     0x0f /* a 16550A implements IER bits 0-3; Linux probes bits 4-7 as other chips */
#define MCR_MASK	     0x1f

_Static_assert(UART8250_FIFO_SIZE == SERIAL_RXQ_SIZE, "the RX FIFO is a serial_rxq");

static bool fifo_enabled(const struct uart8250 *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO;
}

static unsigned rx_capacity(const struct uart8250 *u)
{
	/* With the FIFOs off the 16550 is a 16450: a single receive holding register. */
	return fifo_enabled(u) ? UART8250_FIFO_SIZE : 1;
}

/* RX FIFO trigger level, FCR bits 7:6 (PC16550D table: 1, 4, 8, 14 bytes). */
static unsigned rx_trigger(const struct uart8250 *u)
{
	static const unsigned levels[4] = {1, 4, 8, 14};

	return levels[UART_FCR_R_TRIG_BITS(u->fcr)];
}

/* Interrupt identification, highest priority first (PC16550D table "Interrupt Control
 * Functions"). Without a timer there is no 4-character timeout: data below the trigger level is
 * reported as a character timeout at once, which Linux handles like "data available". */
static uint8_t iir_id(const struct uart8250 *u)
{
	unsigned rx = serial_rxq_count(&u->rxq);

	if ((u->ier & UART_IER_RLSI) && (u->lsr & LSR_ERRORS))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && rx > 0) {
		if (fifo_enabled(u) && rx < rx_trigger(u))
			return UART_IIR_RX_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* On a PC the UART's INTR pin reaches the PIC/IOAPIC through a buffer enabled by OUT2; in loopback
 * mode OUT2 is disconnected from its pin (PC16550D, MCR bit 4), so the line is quiet. */
static void update_irq(struct uart8250 *u)
{
	int level =
	    iir_id(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2) && !(u->mcr & UART_MCR_LOOP);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
	atomic_store_explicit(&u->view,
			      (uint32_t)u->ier | (uint32_t)u->mcr << 8 | (uint32_t)iir_id(u) << 16 |
				  (uint32_t)(level != 0) << 24,
			      memory_order_relaxed);
}

void uart8250_view(struct uart8250 *u, struct uart8250_view *v)
{
	uint32_t w = atomic_load_explicit(&u->view, memory_order_relaxed);

	*v = (struct uart8250_view){.ier = (uint8_t)w,
				    .mcr = (uint8_t)(w >> 8),
				    .iir = (uint8_t)(w >> 16),
				    .line = (uint8_t)(w >> 24)};
}

/* Modem status inputs: in loopback, the outputs DTR, RTS, OUT1, OUT2 are wired to DSR, CTS, RI,
 * DCD. Linux's autoconfig checks exactly this (MCR = LOOP|OUT2|RTS must read MSR 0x90). */
static void update_msr(struct uart8250 *u)
{
	uint8_t in = MSR_INPUTS_CONNECTED;
	uint8_t old = u->msr & 0xf0;
	uint8_t changed;

	if (u->mcr & UART_MCR_LOOP) {
		in = 0;
		in |= (u->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0;
		in |= (u->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0;
		in |= (u->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0;
		in |= (u->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0;
	}
	changed = old ^ in;
	u->msr = in | (u->msr & MSR_DELTAS);
	u->msr |= (changed & UART_MSR_CTS) ? UART_MSR_DCTS : 0;
	u->msr |= (changed & UART_MSR_DSR) ? UART_MSR_DDSR : 0;
	u->msr |= (changed & UART_MSR_DCD) ? UART_MSR_DDCD : 0;
	u->msr |= ((old & UART_MSR_RI) && !(in & UART_MSR_RI)) ? UART_MSR_TERI : 0;
}

static void reset_state(struct uart8250 *u)
{
	serial_rxq_reset(&u->rxq);
	u->ier = 0;
	u->fcr = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	u->msr = MSR_INPUTS_CONNECTED;
	u->scr = 0;
	u->dll = 0x0c; /* 9600 baud with the PC's 1.8432 MHz clock; any value is fine */
	u->dlm = 0;
	u->thr_ipending = false;
	u->irq_level = 0;
	atomic_store_explicit(&u->view, (uint32_t)UART_IIR_NO_INT << 16, memory_order_relaxed);
}

/* Transmission is instantaneous, so after every THR write the holding register is empty again
 * and, if enabled, the THRE interrupt is pending again (what Linux's serial8250_tx_chars expects:
 * one interrupt per burst). The byte is queued for the sink (tx_wait_room() made room). */
static void write_thr(struct uart8250 *u, uint8_t val)
{
	u->thr_ipending = false;
	if (u->mcr & UART_MCR_LOOP) {
		if (!serial_rxq_push(&u->rxq, rx_capacity(u), val))
			u->lsr |= UART_LSR_OE; /* the shift register overwrote itself */
	} else if (u->sink.tx) {
		serial_txq_push(&u->txq, val);
	}
	if (u->ier & UART_IER_THRI)
		u->thr_ipending = true;
}

/* IER: enabling THRI while THR is empty raises the THRE interrupt (PC16550D; Linux's
 * serial8250_start_tx and its UART_BUG_THRE/TXEN probes rely on it); disabling it drops it. */
static void write_ier(struct uart8250 *u, uint8_t val)
{
	uint8_t old = u->ier;

	u->ier = val & IER_MASK;
	if ((u->ier & UART_IER_THRI) && !(old & UART_IER_THRI))
		u->thr_ipending = true;
	if (!(u->ier & UART_IER_THRI))
		u->thr_ipending = false;
}

/* FCR: changing the enable bit resets both FIFOs (PC16550D, FCR bit 0); bits 1 and 2 clear them
 * and are self-clearing. Only the enable bit and the RX trigger are remembered. */
static void write_fcr(struct uart8250 *u, uint8_t val)
{
	if ((val ^ u->fcr) & UART_FCR_ENABLE_FIFO)
		serial_rxq_clear(&u->rxq);
	if (val & UART_FCR_CLEAR_RCVR)
		serial_rxq_clear(&u->rxq);
	u->fcr = val & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
}

static void write_locked(struct uart8250 *u, unsigned offset, uint8_t val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_TX:
		if (dlab)
			u->dll = val;
		else
			write_thr(u, val);
		break;
	case UART_IER:
		if (dlab)
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case UART_FCR:
		write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & MCR_MASK;
		update_msr(u);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default: /* LSR and MSR writes are factory-test only: ignored */
		break;
	}
	update_irq(u);
}

static uint8_t read_iir(struct uart8250 *u)
{
	uint8_t id = iir_id(u);

	/* Reading IIR while it names THRE clears that interrupt (PC16550D). */
	if (id == UART_IIR_THRI)
		u->thr_ipending = false;
	return id | (fifo_enabled(u) ? 0xc0 : 0);
}

static uint8_t read_lsr(struct uart8250 *u)
{
	uint8_t val = u->lsr | (serial_rxq_count(&u->rxq) ? UART_LSR_DR : 0);

	u->lsr &= ~LSR_ERRORS; /* error bits clear on read */
	return val;
}

static uint8_t read_locked(struct uart8250 *u, unsigned offset)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t val;

	switch (offset) {
	case UART_RX:
		val = dlab ? u->dll : serial_rxq_pop(&u->rxq);
		break;
	case UART_IER:
		val = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		val = read_iir(u);
		break;
	case UART_LCR:
		val = u->lcr;
		break;
	case UART_MCR:
		val = u->mcr;
		break;
	case UART_LSR:
		val = read_lsr(u);
		break;
	case UART_MSR:
		val = u->msr;
		u->msr &= ~MSR_DELTAS;
		break;
	default:
		val = u->scr;
		break;
	}
	update_irq(u);
	return val;
}

/* Lock held. A write that will queue a byte for the sink waits until the queue has room; the
 * wait releases the lock, so other port accesses and host input go on meanwhile. */
static void tx_wait_room(struct uart8250 *u, unsigned offset)
{
	if (offset == UART_TX && !(u->lcr & UART_LCR_DLAB) && !(u->mcr & UART_MCR_LOOP) &&
	    u->sink.tx)
		serial_txq_wait_room(&u->txq, &u->lock);
}

uint8_t uart8250_read_reg(struct uart8250 *u, unsigned offset)
{
	uint8_t val;
	bool event;

	pthread_mutex_lock(&u->lock);
	val = read_locked(u, offset % UART8250_NR_PORTS);
	event = serial_rxq_take_space_event(&u->rxq, rx_capacity(u));
	pthread_mutex_unlock(&u->lock);
	serial_rxq_notify_space(event, u->sink.rx_space, u->sink.opaque);
	return val;
}

void uart8250_write_reg(struct uart8250 *u, unsigned offset, uint8_t val)
{
	bool event;

	offset %= UART8250_NR_PORTS;
	pthread_mutex_lock(&u->lock);
	tx_wait_room(u, offset);
	write_locked(u, offset, val);
	event = serial_rxq_take_space_event(&u->rxq, rx_capacity(u));
	serial_txq_flush_unlock(&u->txq, &u->lock, u->sink.tx, u->sink.opaque);
	serial_rxq_notify_space(event, u->sink.rx_space, u->sink.opaque);
}

size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&u->lock);
	i = serial_rxq_receive(&u->rxq, rx_capacity(u), buf, n);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}

size_t uart8250_rx_room(struct uart8250 *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = serial_rxq_room(&u->rxq, rx_capacity(u));
	pthread_mutex_unlock(&u->lock);
	return room;
}

void uart8250_save(struct uart8250 *u, struct uart8250_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&u->lock);
	memcpy(s->rx_fifo, u->rxq.buf, sizeof(s->rx_fifo));
	s->rx_head = (uint8_t)u->rxq.head;
	s->rx_count = (uint8_t)u->rxq.count;
	s->rx_blocked = u->rxq.blocked;
	s->thr_ipending = u->thr_ipending;
	s->ier = u->ier;
	s->fcr = u->fcr;
	s->lcr = u->lcr;
	s->mcr = u->mcr;
	s->lsr = u->lsr;
	s->msr = u->msr;
	s->scr = u->scr;
	s->dll = u->dll;
	s->dlm = u->dlm;
	pthread_mutex_unlock(&u->lock);
}

/* What the register writes could have produced: IER and MCR without the bits the chip lacks,
 * FCR only enable + trigger, LSR only THRE/TEMT and error bits (DR is computed), FIFO indices
 * inside the FIFO and a fill within the capacity the FCR gives. */
static bool state_ok(const struct uart8250_state *s)
{
	unsigned cap = s->fcr & UART_FCR_ENABLE_FIFO ? UART8250_FIFO_SIZE : 1;

	return s->rx_head < UART8250_FIFO_SIZE && s->rx_count <= cap && s->rx_blocked <= 1 &&
	       s->thr_ipending <= 1 && !(s->ier & ~IER_MASK) && !(s->mcr & ~MCR_MASK) &&
	       !(s->fcr & ~(UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK)) &&
	       !(s->lsr & ~(UART_LSR_THRE | UART_LSR_TEMT | LSR_ERRORS)) && !s->reserved[0] &&
	       !s->reserved[1] && !s->reserved[2];
}

int uart8250_restore(struct uart8250 *u, const struct uart8250_state *s)
{
	if (!state_ok(s))
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	memcpy(u->rxq.buf, s->rx_fifo, sizeof(u->rxq.buf));
	u->rxq.head = s->rx_head;
	u->rxq.count = s->rx_count;
	u->rxq.blocked = s->rx_blocked;
	u->thr_ipending = s->thr_ipending;
	u->ier = s->ier;
	u->fcr = s->fcr;
	u->lcr = s->lcr;
	u->mcr = s->mcr;
	u->lsr = s->lsr;
	u->msr = s->msr;
	u->scr = s->scr;
	u->dll = s->dll;
	u->dlm = s->dlm;
	/* Drive the line whatever the fresh UART last drove: the new interrupt controller knows
	 * nothing of the old one's input. */
	u->irq_level = -1;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* An ISA bus splits wider accesses into byte accesses to consecutive ports. */
static void pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	uint8_t *out = data;

	for (uint32_t i = 0; i < len; i++)
		out[i] = uart8250_read_reg(opaque, (unsigned)(offset + i));
}

static void pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	const uint8_t *in = data;

	for (uint32_t i = 0; i < len; i++)
		uart8250_write_reg(opaque, (unsigned)(offset + i), in[i]);
}

static const struct io_ops uart8250_ops = {
    .read = pio_read,
    .write = pio_write,
};

int uart8250_init(struct uart8250 *u, struct irq_line irq, const struct uart8250_sink *sink)
{
	int err;

	memset(u, 0, sizeof(*u));
	err = pthread_mutex_init(&u->lock, NULL);
	if (err)
		return -err;
	err = serial_txq_init(&u->txq);
	if (err) {
		pthread_mutex_destroy(&u->lock);
		return err;
	}
	u->irq = irq;
	if (sink)
		u->sink = *sink;
	reset_state(u);
	return 0;
}

int uart8250_attach(struct uart8250 *u, struct io_bus *pio, uint16_t base, struct irq_line irq,
		    const struct uart8250_sink *sink)
{
	int err = uart8250_init(u, irq, sink);

	if (err)
		return err;
	u->base = base;
	err = io_bus_register(pio, base, UART8250_NR_PORTS, &uart8250_ops, u, "uart8250");
	if (err) {
		log_error("uart8250: cannot claim ports 0x%x-0x%x: %s", base,
			  base + UART8250_NR_PORTS - 1, strerror(-err));
		serial_txq_destroy(&u->txq);
		pthread_mutex_destroy(&u->lock);
		return err;
	}
	return 0;
}

void uart8250_detach(struct uart8250 *u, struct io_bus *pio)
{
	if (pio)
		io_bus_unregister(pio, u->base);
	serial_txq_destroy(&u->txq);
	pthread_mutex_destroy(&u->lock);
}
