/* A 16550A UART (PC16550D data sheet; Linux drivers/tty/serial/8250 is the driver it must satisfy).
 *
 * Transmission is instantaneous as the guest sees it: THR and the transmitter always read empty
 * (LSR THRE|TEMT). A byte written to THR is queued under the lock and handed to the sink after
 * the lock is dropped, before the THR write returns (see Locking). Reception goes through a
 * 16-byte RX FIFO (1 byte when the guest has the FIFOs disabled) filled by uart8250_receive();
 * when it is full the caller keeps its bytes and is told through sink->rx_space once the guest
 * has drained some.
 *
 * Locking: one mutex per UART; port accesses (vCPU threads) and uart8250_receive() (console
 * thread) may run concurrently. The IRQ line is driven with the lock held, so level changes reach
 * the interrupt controller in the order the device state changed. The sink's tx, which may wait
 * for room in the console, is never called with the lock held (base/lock_order.h): THR bytes
 * go to a small queue under the lock, and one writer at a time empties it into the sink without
 * the lock (devices/serial_txq.h), so bytes reach the sink in the order the guest wrote them even
 * when several vCPUs write THR at once. A THR write that finds the queue full waits for room with
 * the lock released (pthread_cond_wait): the guest's back-pressure, as before, while the other
 * registers and host input stay usable. */
#ifndef DEVICES_UART8250_H
#define DEVICES_UART8250_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/irq.h"
#include "devices/serial_rxq.h"
#include "devices/serial_txq.h"

#define UART8250_NR_PORTS  8
#define UART8250_FIFO_SIZE 16

struct uart8250_sink {
	/* Bytes the guest transmitted (THR writes outside loopback mode), in order. Called without
	 * the UART lock, from a vCPU thread inside a THR write, by one thread at a time. May block
	 * (a full console buffer): that is the guest's back-pressure. May be NULL (output
	 * discarded). */
	void (*tx)(void *opaque, const uint8_t *buf, size_t n);
	/* The RX FIFO has room again after uart8250_receive() accepted fewer bytes than offered.
	 * Called once per such shortfall, without the UART lock, from a vCPU thread. May be NULL.
	 */
	void (*rx_space)(void *opaque);
	void *opaque;
};

struct uart8250 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct uart8250_sink sink;
	uint16_t base;

	/* The RX FIFO (capacity rx_capacity(): FCR's enable bit) and whether a refused receive()
	 * is owed a sink.rx_space call (under `lock`). */
	struct serial_rxq rxq;

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool
	    thr_ipending; /* THRE interrupt pending (cleared by IIR read naming it, or THR write) */
	int irq_level;	  /* last level driven on `irq` */
	/* IER, MCR, the interrupt IIR names and the line's level as of the last register access,
	 * packed by uart8250_view() (read without the lock: the metrics lock is a leaf). */
	atomic_uint_least32_t view;

	/* Transmitted bytes on their way to sink.tx (under `lock`). Bytes are queued only while a
	 * thread is flushing (inside uart8250_write_reg()), so the queue is empty whenever no
	 * port access is in progress (a paused VM, a snapshot). */
	struct serial_txq txq;
};

/* Resets the UART to its power-on state, keeps its IRQ line and sink (copied), and claims
 * ports [base, base + 8) on `pio`. Returns 0 or -errno from either. */
int uart8250_attach(struct uart8250 *u, struct io_bus *pio, uint16_t base, struct irq_line irq,
		    const struct uart8250_sink *sink);

/* Release the ports (if `pio` is not NULL), the mutex and the condition variable. */
void uart8250_detach(struct uart8250 *u, struct io_bus *pio);

/* Host input: push up to `n` bytes into the RX FIFO, raising the RX interrupt as the guest
 * configured it. Returns how many were accepted (0..n); when fewer than `n`, the caller keeps the
 * rest and retries after sink->rx_space is called. Any thread. */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t n);

/* What the guest's driver last left in the UART, for a stalled guest's diagnosis (metrics):
 * with IER's THRI bit set the driver has bytes to send and waits for the THRE interrupt; with
 * `line` high an interrupt is raised that the guest has not taken. Lock-free; any thread. */
struct uart8250_view {
	uint8_t ier, mcr;
	uint8_t iir;  /* the interrupt IIR would name (UART_IIR_NO_INT: none), without reading it */
	uint8_t line; /* the level last driven on the IRQ line: 0 or 1 */
};
void uart8250_view(struct uart8250 *u, struct uart8250_view *v);

/* The UART's state for a snapshot (base/snapshot_io.h): plain values, fixed layout. The IRQ
 * level is not saved: it follows from the registers and is driven again by the restore. */
struct uart8250_state {
	uint8_t rx_fifo[UART8250_FIFO_SIZE];
	uint8_t rx_head,
	    rx_count;	      /* rx_head < 16, rx_count <= the capacity (16, or 1 without FIFOs) */
	uint8_t rx_blocked;   /* 0 or 1 */
	uint8_t thr_ipending; /* 0 or 1 */
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t reserved[3]; /* zero */
};

/* Copies the registers and the RX FIFO (lock taken inside). */
void uart8250_save(struct uart8250 *u, struct uart8250_state *s);

/* Puts a saved state into an initialised UART after checking every value as a guest write would
 * be (FIFO indices inside the FIFO, register bits the chip does not have, booleans 0/1), then
 * drives the IRQ line to the level the state implies (lock taken inside). Returns 0, or -EINVAL
 * with the UART unchanged. */
int uart8250_restore(struct uart8250 *u, const struct uart8250_state *s);

#endif
