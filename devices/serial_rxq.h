/* The receive path every UART model shares (devices/uart8250.h, devices/pl011.h): bytes from the
 * host wait in a small ring until the guest reads them from the data register, and a receive
 * that found the ring full is remembered so that the sink hears once, through its rx_space
 * callback, when the guest has made room.
 *
 * The ring is SERIAL_RXQ_SIZE bytes, but how many of them the guest has depends on its FIFO
 * enable bit (a 16550A's FCR, a PL011's LCR_H.FEN: with the FIFOs off each chip has one holding
 * register). That bit lives in the UART's registers, so every call that needs the capacity takes
 * it (`cap`, 1..SERIAL_RXQ_SIZE) rather than keeping a second copy here. The interrupts a byte
 * raises or clears are the UART's own business: it calls these around its own logic.
 *
 * Why the rx_space callback runs without the lock: no callback may run under a device lock
 * (base/lock_order.h), so the event is claimed under the lock (serial_rxq_take_space_event())
 * and delivered after the unlock (serial_rxq_notify_space()).
 *
 * Every call but serial_rxq_notify_space() expects the UART's mutex held by the caller. */
#ifndef DEVICES_SERIAL_RXQ_H
#define DEVICES_SERIAL_RXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_RXQ_SIZE 16 /* the deepest FIFO a model has */

typedef void serial_rx_space_fn(void *opaque);

struct serial_rxq {
	uint8_t buf[SERIAL_RXQ_SIZE];
	unsigned head;	/* index of the oldest byte, < SERIAL_RXQ_SIZE */
	unsigned count; /* bytes held, <= the capacity */
	bool blocked;	/* a receive was refused room: the sink is owed an rx_space call */
};

/* Empty and not blocked (the UART's reset). The bytes of buf stay as they were. */
void serial_rxq_reset(struct serial_rxq *q);

/* Empties the ring (a FIFO reset by the guest); a pending rx_space event stays owed. */
void serial_rxq_clear(struct serial_rxq *q);

/* Bytes held now. */
unsigned serial_rxq_count(const struct serial_rxq *q);

/* Free room with capacity `cap` (0 when full). */
unsigned serial_rxq_room(const struct serial_rxq *q, unsigned cap);

/* Appends one byte; false (byte not taken, nothing changed) when `cap` bytes are held. */
bool serial_rxq_push(struct serial_rxq *q, unsigned cap, uint8_t byte);

/* Takes the oldest byte; 0 when empty (what a data register with nothing behind it reads). */
uint8_t serial_rxq_pop(struct serial_rxq *q);

/* Host input: appends buf[0..n) while there is room with capacity `cap`. Returns how many were
 * taken (0..n); when fewer than `n`, the queue is marked blocked. */
size_t serial_rxq_receive(struct serial_rxq *q, unsigned cap, const uint8_t *buf, size_t n);

/* If a receive was refused and there is room now with capacity `cap`, clears the mark and returns
 * true: the caller then owes one serial_rxq_notify_space() after dropping its lock. */
bool serial_rxq_take_space_event(struct serial_rxq *q, unsigned cap);

/* Without the lock: calls fn(opaque) when `event` (from serial_rxq_take_space_event()) is true
 * and `fn` is not NULL. */
void serial_rxq_notify_space(bool event, serial_rx_space_fn *fn, void *opaque);

#endif
