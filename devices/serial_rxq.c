/* The UARTs' shared receive queue (see serial_rxq.h). */
#include "devices/serial_rxq.h"

void serial_rxq_reset(struct serial_rxq *q)
{
	serial_rxq_clear(q);
	q->blocked = false;
}

void serial_rxq_clear(struct serial_rxq *q)
{
	q->head = 0;
	q->count = 0;
}

unsigned serial_rxq_count(const struct serial_rxq *q)
{
	return q->count;
}

unsigned serial_rxq_room(const struct serial_rxq *q, unsigned cap)
{
	return q->count < cap ? cap - q->count : 0;
}

bool serial_rxq_push(struct serial_rxq *q, unsigned cap, uint8_t byte)
{
	if (q->count >= cap)
		return false;
	q->buf[(q->head + q->count) % SERIAL_RXQ_SIZE] = byte;
	q->count++;
	return true;
}

uint8_t serial_rxq_pop(struct serial_rxq *q)
{
	uint8_t byte;

	if (q->count == 0)
		return 0;
	byte = q->buf[q->head];
	q->head = (q->head + 1) % SERIAL_RXQ_SIZE;
	q->count--;
	return byte;
}

size_t serial_rxq_receive(struct serial_rxq *q, unsigned cap, const uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!serial_rxq_push(q, cap, buf[i]))
			break;
	}
	if (i < n)
		q->blocked = true;
	return i;
}

bool serial_rxq_take_space_event(struct serial_rxq *q, unsigned cap)
{
	if (!q->blocked || q->count >= cap)
		return false;
	q->blocked = false;
	return true;
}

void serial_rxq_notify_space(bool event, serial_rx_space_fn *fn, void *opaque)
{
	if (event && fn)
		fn(opaque);
}
