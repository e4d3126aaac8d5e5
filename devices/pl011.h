/* An Arm PrimeCell PL011 UART on the MMIO bus (Arm DDI 0183 "PrimeCell UART (PL011) Technical
 * Reference Manual"; Linux drivers/tty/serial/amba-pl011.c is the driver it must satisfy, with
 * `console=ttyAMA0` and `earlycon=pl011,<base>`). The arm64 machine's console, as the 16550A
 * (devices/uart8250.h) is x86's: the same sink, the same contract, so the VM's console code
 * drives either.
 *
 * What the guest sees:
 *   - The PrimeCell ID registers of revision r1p3 (PeriphID 0x11 0x10 0x14 0x00, CellID 0x0D 0xF0
 *     0x05 0xB1), what QEMU's virt board shows: Linux's AMBA bus matches 0x00041011 and, for a
 *     revision below 3, sizes the FIFOs at 16 entries (get_fifosize_arm()), which these are.
 *   - Transmission is instantaneous: FR always reads TXFE (TX FIFO empty), never TXFF or BUSY. A
 *     byte written to DR goes to the sink (or, with CR.LBE, into the RX FIFO). UARTEN, TXE and
 *     RXE are kept but not enforced: Linux's earlycon writes DR to a UART that nobody enabled
 *     (firmware's job on hardware; there is none here), and CR resets to TXE|RXE only.
 *   - Reception goes through a 16-entry RX FIFO (1 entry with LCR_H.FEN clear) that
 *     pl011_receive() fills; when it is full the caller keeps its bytes and is told through
 *     sink->rx_space once the guest has drained some.
 *   - Interrupts (RIS bits; the line is the OR of RIS & IMSC, a level):
 *       RXIS  set when the RX FIFO fills up to the IFLS level (1/8 .. 7/8 of 16, or 1 byte
 *             without FIFOs); cleared when reads take it below that level, or by ICR.
 *       RTIS  the receive timeout: with no timer here it is set at once whenever received data
 *             sits in the FIFO (Linux takes it exactly like RXIS); cleared when the FIFO is
 *             empty, or by ICR.
 *       TXIS  set each time written data leaves the TX FIFO, i.e. after every DR write; cleared
 *             by ICR. Not set at reset: the TRM's TX interrupt follows a transition through the
 *             level, so an idle UART with an empty FIFO has none (Linux's pl011_start_tx() writes
 *             its first bytes itself and only then unmasks TXIM).
 *       OEIS  a loopback byte found the RX FIFO full (RSR.OE too); cleared by ICR.
 *     Modem-status and framing/parity/break interrupts never occur: the line has no wire.
 *   - FR shows CTS, DSR and DCD (a terminal is attached); DMACR, ILPR, IBRD/FBRD and LCR_H are
 *     stored and read back.
 *   - Any access is safe: offsets that are no register read 0 and ignore writes; 8-, 16- and
 *     32-bit accesses of a register act on its low bits (a 64-bit access is two halves' worth of
 *     nothing: read 0, write ignored).
 *
 * Locking: one mutex; register accesses (vCPU threads) and pl011_receive() (console thread) may
 * run concurrently. The IRQ line is driven with the lock held, so level changes reach the
 * interrupt controller in the order the state changed. The sink's tx never runs under the lock
 * (devices/serial_txq.h). */
#ifndef DEVICES_PL011_H
#define DEVICES_PL011_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/irq.h"
#include "devices/serial_rxq.h"
#include "devices/serial_txq.h"

#define PL011_MMIO_SIZE 0x1000
#define PL011_FIFO_SIZE 16
#define PL011_CLOCK_HZ	24000000 /* the UARTCLK the device tree's fixed clock names */

/* Register offsets (TRM table 3-1) and the bits the model gives meaning to. */
#define PL011_DR	0x000
#define PL011_RSR	0x004 /* RSR on reads, ECR on writes */
#define PL011_FR	0x018
#define PL011_ILPR	0x020
#define PL011_IBRD	0x024
#define PL011_FBRD	0x028
#define PL011_LCR_H	0x02c
#define PL011_CR	0x030
#define PL011_IFLS	0x034
#define PL011_IMSC	0x038
#define PL011_RIS	0x03c
#define PL011_MIS	0x040
#define PL011_ICR	0x044
#define PL011_DMACR	0x048
#define PL011_PERIPHID0 0xfe0 /* four PeriphID, then four CellID registers, one byte each */

#define PL011_FR_CTS  (1u << 0)
#define PL011_FR_DSR  (1u << 1)
#define PL011_FR_DCD  (1u << 2)
#define PL011_FR_BUSY (1u << 3)
#define PL011_FR_RXFE (1u << 4)
#define PL011_FR_TXFF (1u << 5)
#define PL011_FR_RXFF (1u << 6)
#define PL011_FR_TXFE (1u << 7)

#define PL011_LCR_H_FEN (1u << 4)
#define PL011_CR_UARTEN (1u << 0)
#define PL011_CR_LBE	(1u << 7)
#define PL011_CR_TXE	(1u << 8)
#define PL011_CR_RXE	(1u << 9)

#define PL011_INT_RX  (1u << 4)
#define PL011_INT_TX  (1u << 5)
#define PL011_INT_RT  (1u << 6)
#define PL011_INT_OE  (1u << 10)
#define PL011_INT_ALL 0x7ffu /* RIMIS..OEIM: the 11 interrupt bits */
#define PL011_RSR_OE  (1u << 3)

/* The same contract as struct uart8250_sink (devices/uart8250.h). */
struct pl011_sink {
	/* Bytes the guest transmitted (DR writes outside loopback), in order. Called without the
	 * UART lock, from a vCPU thread inside a DR write, by one thread at a time. May block (a
	 * full console buffer): the guest's back-pressure. May be NULL (output discarded). */
	void (*tx)(void *opaque, const uint8_t *buf, size_t n);
	/* The RX FIFO has room again after pl011_receive() accepted fewer bytes than offered.
	 * Called once per such shortfall, without the UART lock, from a vCPU thread. May be NULL.
	 */
	void (*rx_space)(void *opaque);
	void *opaque;
};

struct pl011 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct pl011_sink sink;
	uint64_t base;

	/* The RX FIFO (capacity rx_capacity(): LCR_H.FEN) and whether a refused receive() is owed
	 * a sink.rx_space call (under `lock`). */
	struct serial_rxq rxq;

	uint16_t ris, imsc, cr, ibrd;
	uint8_t lcr_h, ifls, fbrd, ilpr, dmacr, rsr;
	int irq_level; /* last level driven on `irq` */
	/* IMSC, RIS and the line's level as of the last access, packed for pl011_view() (read
	 * without the lock: the metrics lock is a leaf). */
	atomic_uint_least32_t view;

	struct serial_txq txq; /* DR bytes on their way to sink.tx; empty outside a DR write */
};

/* Resets the UART to its power-on state, keeps its IRQ line and sink (copied), and claims
 * [base, base + PL011_MMIO_SIZE) on `mmio`. Returns 0 or -errno (logged). */
int pl011_attach(struct pl011 *u, struct io_bus *mmio, uint64_t base, struct irq_line irq,
		 const struct pl011_sink *sink);

/* Releases the range (if `mmio` is not NULL), the mutex and the queue's condition variable. */
void pl011_detach(struct pl011 *u, struct io_bus *mmio);

/* Host input: pushes up to `n` bytes into the RX FIFO, raising RX interrupts as the guest set
 * them up. Returns how many were accepted (0..n); when fewer than `n`, the caller keeps the rest
 * and retries after sink->rx_space is called. Bytes arriving in loopback mode are taken and
 * dropped (the receiver listens to the transmitter then). Any thread. */
size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t n);

/* What the guest's driver last left in the UART, for a stalled guest's diagnosis (metrics): the
 * interrupt mask, the raw status and the level of the line. Lock-free; any thread. */
struct pl011_view {
	uint16_t imsc, ris;
	uint8_t line; /* 0 or 1 */
};
void pl011_view(struct pl011 *u, struct pl011_view *v);

/* The UART's state for a snapshot (base/snapshot_io.h): plain values, fixed layout, 40 bytes.
 * The IRQ level is not saved: it follows from RIS & IMSC and is driven again by the restore. */
struct pl011_state {
	uint8_t rx_fifo[PL011_FIFO_SIZE];
	uint8_t rx_head;    /* < 16 */
	uint8_t rx_count;   /* <= 16, or <= 1 with LCR_H.FEN clear */
	uint8_t rx_blocked; /* 0 or 1 */
	uint8_t lcr_h, ifls, fbrd, ilpr, dmacr, rsr;
	uint8_t reserved0; /* zero */
	uint16_t ris, imsc, cr, ibrd;
	uint8_t reserved[6]; /* zero */
};

/* Copies the registers and the RX FIFO (lock taken inside). */
void pl011_save(struct pl011 *u, struct pl011_state *s);

/* Puts a saved state into an attached UART after checking every value against what register
 * writes could produce (indices inside the FIFO, no bit the register lacks, booleans 0/1,
 * reserved bytes zero), then drives the IRQ line to the level the state implies. Returns 0, or
 * -EINVAL with the UART unchanged. */
int pl011_restore(struct pl011 *u, const struct pl011_state *s);

#endif
