/* PL011 UART model (see pl011.h for what the guest sees). Register semantics follow Arm DDI 0183;
 * where Linux's amba-pl011 driver depends on a detail, the comment names its code path. */
#include "devices/pl011.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

#define CR_MASK	   0xff87u /* bits 3-6 are reserved */
#define IFLS_MASK  0x3fu
#define FBRD_MASK  0x3fu
#define DMACR_MASK 0x07u
#define RSR_MASK   0x0fu /* FE, PE, BE, OE */
/* The RIS bits this model ever sets; a restored state with others is not one it produced. */
#define RIS_MODEL  (PL011_INT_RX | PL011_INT_TX | PL011_INT_RT | PL011_INT_OE)
#define CR_RESET   (PL011_CR_TXE | PL011_CR_RXE)
#define IFLS_RESET 0x12u /* both levels at 1/2 */

_Static_assert(sizeof(struct pl011_state) == 40, "pl011_state is a fixed snapshot layout");
_Static_assert(PL011_FIFO_SIZE == SERIAL_RXQ_SIZE, "the RX FIFO is a serial_rxq");

/* PeriphID0-3 (part 0x011, designer 0x41 'A', revision 1) then CellID0-3. */
static const uint8_t pl011_id[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

static bool fifo_enabled(const struct pl011 *u)
{
	return u->lcr_h & PL011_LCR_H_FEN;
}

static unsigned rx_capacity(const struct pl011 *u)
{
	/* With LCR_H.FEN clear the FIFOs become 1-byte holding registers (TRM 2.4.3). */
	return fifo_enabled(u) ? PL011_FIFO_SIZE : 1;
}

/* IFLS.RXIFLSEL (bits 5:3): the RX FIFO becomes >= 1/8, 1/4, 1/2, 3/4 or 7/8 full; the
 * reserved encodings act as 1/2 (the reset value). Without FIFOs every byte reaches it. */
static unsigned rx_trigger(const struct pl011 *u)
{
	static const unsigned sixteenths[8] = {2, 4, 8, 12, 14, 8, 8, 8};

	return fifo_enabled(u) ? sixteenths[(u->ifls >> 3) & 7] : 1;
}

static void update_irq(struct pl011 *u)
{
	int level = (u->ris & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
	atomic_store_explicit(&u->view,
			      (uint32_t)u->imsc | (uint32_t)u->ris << 16 | (uint32_t)level << 31,
			      memory_order_relaxed);
}

void pl011_view(struct pl011 *u, struct pl011_view *v)
{
	uint32_t w = atomic_load_explicit(&u->view, memory_order_relaxed);

	*v = (struct pl011_view){.imsc = (uint16_t)(w & PL011_INT_ALL),
				 .ris = (uint16_t)((w >> 16) & PL011_INT_ALL),
				 .line = (uint8_t)(w >> 31)};
}

/* Bytes were received: RXIS once the FIFO holds the IFLS level, and RTIS for data waiting below
 * it (a real receiver raises it after 32 idle bit periods; there is no timer here, and Linux's
 * pl011_int() drains the FIFO on either). */
static void rx_received(struct pl011 *u)
{
	u->ris |= PL011_INT_RT;
	if (serial_rxq_count(&u->rxq) >= rx_trigger(u))
		u->ris |= PL011_INT_RX;
}

/* Reading DR: RXIS drops below the level, RTIS when the FIFO is empty (TRM 3.4.2). */
static uint8_t rx_pop(struct pl011 *u)
{
	uint8_t byte;

	if (serial_rxq_count(&u->rxq) == 0)
		return 0;
	byte = serial_rxq_pop(&u->rxq);
	if (serial_rxq_count(&u->rxq) < rx_trigger(u))
		u->ris &= (uint16_t)~PL011_INT_RX;
	if (serial_rxq_count(&u->rxq) == 0)
		u->ris &= (uint16_t)~PL011_INT_RT;
	return byte;
}

static void reset_state(struct pl011 *u)
{
	serial_rxq_reset(&u->rxq);
	u->ris = 0;
	u->imsc = 0;
	u->cr = CR_RESET;
	u->ibrd = 0;
	u->lcr_h = 0;
	u->ifls = IFLS_RESET;
	u->fbrd = 0;
	u->ilpr = 0;
	u->dmacr = 0;
	u->rsr = 0;
	u->irq_level = 0;
	atomic_store_explicit(&u->view, 0, memory_order_relaxed);
}

/* DR write: the byte leaves the TX FIFO at once, so TXIS follows every write (what Linux's
 * pl011_tx_chars() from the interrupt expects: one TX interrupt per burst it wrote). In
 * loopback the receiver gets it instead of the wire (TRM, UARTCR.LBE); a full FIFO is then an
 * overrun (RSR.OE, OEIS). */
static void write_dr(struct pl011 *u, uint8_t byte)
{
	if (u->cr & PL011_CR_LBE) {
		if (serial_rxq_push(&u->rxq, rx_capacity(u), byte)) {
			rx_received(u);
		} else {
			u->rsr |= PL011_RSR_OE;
			u->ris |= PL011_INT_OE;
		}
	} else if (u->sink.tx) {
		serial_txq_push(&u->txq, byte);
	}
	u->ris |= PL011_INT_TX;
}

/* LCR_H: turning the FIFOs on or off empties them, as the capacity changes under the data. */
static void write_lcr_h(struct pl011 *u, uint8_t val)
{
	if ((val ^ u->lcr_h) & PL011_LCR_H_FEN) {
		serial_rxq_clear(&u->rxq);
		u->ris &= (uint16_t) ~(PL011_INT_RX | PL011_INT_RT);
	}
	u->lcr_h = val;
}

static void write_locked(struct pl011 *u, uint64_t reg, uint32_t val)
{
	switch (reg) {
	case PL011_DR:
		write_dr(u, (uint8_t)val);
		break;
	case PL011_RSR: /* ECR: any write clears the error flags */
		u->rsr = 0;
		break;
	case PL011_ILPR:
		u->ilpr = (uint8_t)val;
		break;
	case PL011_IBRD:
		u->ibrd = (uint16_t)val;
		break;
	case PL011_FBRD:
		u->fbrd = val & FBRD_MASK;
		break;
	case PL011_LCR_H:
		write_lcr_h(u, (uint8_t)val);
		break;
	case PL011_CR:
		u->cr = val & CR_MASK;
		break;
	case PL011_IFLS:
		u->ifls = val & IFLS_MASK;
		break;
	case PL011_IMSC:
		u->imsc = val & PL011_INT_ALL;
		break;
	case PL011_ICR:
		u->ris &= (uint16_t) ~(val & PL011_INT_ALL);
		break;
	case PL011_DMACR:
		u->dmacr = val & DMACR_MASK;
		break;
	default: /* FR, RIS, MIS, the IDs and every hole: read-only or nothing */
		break;
	}
	update_irq(u);
}

static uint32_t read_fr(const struct pl011 *u)
{
	uint32_t fr = PL011_FR_TXFE | PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD;

	fr |= serial_rxq_count(&u->rxq) == 0 ? PL011_FR_RXFE : 0;
	fr |= serial_rxq_room(&u->rxq, rx_capacity(u)) == 0 ? PL011_FR_RXFF : 0;
	return fr;
}

static uint32_t read_locked(struct pl011 *u, uint64_t reg)
{
	uint32_t val = 0;

	if (reg >= PL011_PERIPHID0 && reg < PL011_MMIO_SIZE)
		return pl011_id[(reg - PL011_PERIPHID0) / 4];
	switch (reg) {
	case PL011_DR:
		val = rx_pop(u);
		update_irq(u);
		break;
	case PL011_RSR:
		val = u->rsr;
		break;
	case PL011_FR:
		val = read_fr(u);
		break;
	case PL011_ILPR:
		val = u->ilpr;
		break;
	case PL011_IBRD:
		val = u->ibrd;
		break;
	case PL011_FBRD:
		val = u->fbrd;
		break;
	case PL011_LCR_H:
		val = u->lcr_h;
		break;
	case PL011_CR:
		val = u->cr;
		break;
	case PL011_IFLS:
		val = u->ifls;
		break;
	case PL011_IMSC:
		val = u->imsc;
		break;
	case PL011_RIS:
		val = u->ris;
		break;
	case PL011_MIS:
		val = u->ris & u->imsc;
		break;
	case PL011_DMACR:
		val = u->dmacr;
		break;
	default: /* ICR is write-only; holes read 0 */
		break;
	}
	return val;
}

/* A register is a word at a 4-byte-aligned offset; 1-, 2- and 4-byte accesses there reach it
 * (Linux uses 16-bit accessors, or 32-bit ones for UPIO_MEM32; earlycon may use bytes). */
static bool reg_access(uint64_t offset, uint32_t len)
{
	return offset % 4 == 0 && (len == 1 || len == 2 || len == 4);
}

static void mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pl011 *u = opaque;
	uint32_t val = 0;
	bool event;

	memset(data, 0, len);
	if (!reg_access(offset, len))
		return;
	pthread_mutex_lock(&u->lock);
	val = read_locked(u, offset);
	event = serial_rxq_take_space_event(&u->rxq, rx_capacity(u));
	pthread_mutex_unlock(&u->lock);
	serial_rxq_notify_space(event, u->sink.rx_space, u->sink.opaque);
	memcpy(data, &val, len); /* little-endian host: the low `len` bytes */
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pl011 *u = opaque;
	uint32_t val = 0;
	bool event;

	if (!reg_access(offset, len))
		return;
	memcpy(&val, data, len);
	pthread_mutex_lock(&u->lock);
	/* A DR write that will queue a byte waits for room with the lock released. */
	if (offset == PL011_DR && !(u->cr & PL011_CR_LBE) && u->sink.tx)
		serial_txq_wait_room(&u->txq, &u->lock);
	write_locked(u, offset, val);
	event = serial_rxq_take_space_event(&u->rxq, rx_capacity(u));
	serial_txq_flush_unlock(&u->txq, &u->lock, u->sink.tx, u->sink.opaque);
	serial_rxq_notify_space(event, u->sink.rx_space, u->sink.opaque);
}

static const struct io_ops pl011_ops = {.read = mmio_read, .write = mmio_write};

size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&u->lock);
	if (u->cr & PL011_CR_LBE) {
		pthread_mutex_unlock(&u->lock);
		return n;
	}
	/* Once for the batch: the fill only grows meanwhile, so it ends at the IFLS level iff some
	 * byte brought it there. A refused byte here is no overrun: the caller keeps it. */
	i = serial_rxq_receive(&u->rxq, rx_capacity(u), buf, n);
	if (i > 0)
		rx_received(u);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}

static int pl011_init(struct pl011 *u, struct irq_line irq, const struct pl011_sink *sink)
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

int pl011_attach(struct pl011 *u, struct io_bus *mmio, uint64_t base, struct irq_line irq,
		 const struct pl011_sink *sink)
{
	int err = pl011_init(u, irq, sink);

	if (err)
		return err;
	u->base = base;
	err = io_bus_register(mmio, base, PL011_MMIO_SIZE, &pl011_ops, u, "pl011");
	if (err) {
		log_error("pl011: cannot claim MMIO 0x%llx: %s", (unsigned long long)base,
			  strerror(-err));
		serial_txq_destroy(&u->txq);
		pthread_mutex_destroy(&u->lock);
	}
	return err;
}

void pl011_detach(struct pl011 *u, struct io_bus *mmio)
{
	if (mmio)
		io_bus_unregister(mmio, u->base);
	serial_txq_destroy(&u->txq);
	pthread_mutex_destroy(&u->lock);
}

void pl011_save(struct pl011 *u, struct pl011_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&u->lock);
	memcpy(s->rx_fifo, u->rxq.buf, sizeof(s->rx_fifo));
	s->rx_head = (uint8_t)u->rxq.head;
	s->rx_count = (uint8_t)u->rxq.count;
	s->rx_blocked = u->rxq.blocked;
	s->lcr_h = u->lcr_h;
	s->ifls = u->ifls;
	s->fbrd = u->fbrd;
	s->ilpr = u->ilpr;
	s->dmacr = u->dmacr;
	s->rsr = u->rsr;
	s->ris = u->ris;
	s->imsc = u->imsc;
	s->cr = u->cr;
	s->ibrd = u->ibrd;
	pthread_mutex_unlock(&u->lock);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* What register writes and received bytes could have produced. */
static bool state_ok(const struct pl011_state *s)
{
	unsigned cap = s->lcr_h & PL011_LCR_H_FEN ? PL011_FIFO_SIZE : 1;

	return s->rx_head < PL011_FIFO_SIZE && s->rx_count <= cap && s->rx_blocked <= 1 &&
	       !(s->ifls & ~IFLS_MASK) && !(s->fbrd & ~FBRD_MASK) && !(s->dmacr & ~DMACR_MASK) &&
	       !(s->rsr & ~RSR_MASK) && !(s->ris & ~RIS_MODEL) && !(s->imsc & ~PL011_INT_ALL) &&
	       !(s->cr & ~CR_MASK) && !s->reserved0 && all_zero(s->reserved, sizeof(s->reserved));
}

int pl011_restore(struct pl011 *u, const struct pl011_state *s)
{
	if (!state_ok(s))
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	memcpy(u->rxq.buf, s->rx_fifo, sizeof(u->rxq.buf));
	u->rxq.head = s->rx_head;
	u->rxq.count = s->rx_count;
	u->rxq.blocked = s->rx_blocked;
	u->lcr_h = s->lcr_h;
	u->ifls = s->ifls;
	u->fbrd = s->fbrd;
	u->ilpr = s->ilpr;
	u->dmacr = s->dmacr;
	u->rsr = s->rsr;
	u->ris = s->ris;
	u->imsc = s->imsc;
	u->cr = s->cr;
	u->ibrd = s->ibrd;
	/* Drive the line whatever this UART last drove: the new interrupt controller knows nothing
	 * of the old one's input. */
	u->irq_level = -1;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}
