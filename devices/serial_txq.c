/* The UARTs' shared transmit queue (see serial_txq.h). */
#include "devices/serial_txq.h"

#include <string.h>

int serial_txq_init(struct serial_txq *q)
{
	memset(q, 0, sizeof(*q));
	return -pthread_cond_init(&q->room, NULL);
}

void serial_txq_destroy(struct serial_txq *q)
{
	pthread_cond_destroy(&q->room);
}

void serial_txq_wait_room(struct serial_txq *q, pthread_mutex_t *lock)
{
	while (q->count == SERIAL_TXQ_SIZE)
		pthread_cond_wait(&q->room, lock);
}

bool serial_txq_push(struct serial_txq *q, uint8_t byte)
{
	if (q->count == SERIAL_TXQ_SIZE)
		return false;
	q->buf[q->count++] = byte;
	return true;
}

void serial_txq_flush_unlock(struct serial_txq *q, pthread_mutex_t *lock, serial_tx_fn *tx,
			     void *opaque)
{
	uint8_t buf[SERIAL_TXQ_SIZE];
	size_t n;

	if (q->flushing || q->count == 0) {
		pthread_mutex_unlock(lock);
		return;
	}
	q->flushing = true;
	while ((n = q->count) > 0) {
		memcpy(buf, q->buf, n);
		q->count = 0;
		pthread_cond_broadcast(&q->room);
		pthread_mutex_unlock(lock);
		tx(opaque, buf, n);
		pthread_mutex_lock(lock);
	}
	q->flushing = false;
	pthread_mutex_unlock(lock);
}
