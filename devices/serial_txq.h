/* The transmit path every UART model shares (devices/uart8250.h, devices/pl011.h): bytes the
 * guest writes to the data register go to a small queue under the UART's lock, and one thread at
 * a time hands them to the sink's tx() with the lock dropped.
 *
 * Why: the sink may block (a full console buffer is the guest's back-pressure), and no callback
 * may run under a device lock (base/lock_order.h). Why one flusher: bytes must reach the sink in
 * the order the guest wrote them even when several vCPUs write at once; a writer that finds a
 * flush under way only queues, and the flusher sends those bytes after its own.
 *
 * Every call but init/destroy expects the UART's mutex held by the caller. */
#ifndef DEVICES_SERIAL_TXQ_H
#define DEVICES_SERIAL_TXQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_TXQ_SIZE 16 /* bytes waiting for the sink */

typedef void serial_tx_fn(void *opaque, const uint8_t *buf, size_t n);

struct serial_txq {
	uint8_t buf[SERIAL_TXQ_SIZE];
	unsigned count;
	bool flushing;	     /* a thread is handing buf to the sink */
	pthread_cond_t room; /* buf was emptied */
};

/* 0 or -errno (pthread_cond_init). */
int serial_txq_init(struct serial_txq *q);
void serial_txq_destroy(struct serial_txq *q);

/* Waits, releasing `lock` meanwhile, until the queue has room for one byte. */
void serial_txq_wait_room(struct serial_txq *q, pthread_mutex_t *lock);

/* Queues one byte; false (byte dropped) when full, which serial_txq_wait_room() prevents. */
bool serial_txq_push(struct serial_txq *q, uint8_t byte);

/* `lock` held on entry, released on return. Unless another thread is flushing, hands every queued
 * byte to tx(opaque, ...) without the lock, until the queue stays empty. `tx` may be NULL only
 * when nothing was ever queued. */
void serial_txq_flush_unlock(struct serial_txq *q, pthread_mutex_t *lock, serial_tx_fn *tx,
			     void *opaque);

#endif
