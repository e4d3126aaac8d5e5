/* The UARTs' shared receive queue (devices/serial_rxq.c) on its own: the ring's order across the
 * wrap, the capacity the caller gives (16, or 1 with the FIFOs off), clear and reset, and the
 * rx_space event: owed after a refused receive, claimed once, only when there is room. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/serial_rxq.h"

#define CAP SERIAL_RXQ_SIZE

static struct serial_rxq q;
static int space_calls;

static void setup(void)
{
	memset(&q, 0, sizeof(q));
	serial_rxq_reset(&q);
	space_calls = 0;
}

static void on_space(void *opaque)
{
	cr_assert_eq(opaque, &q);
	space_calls++;
}

TestSuite(serial_rxq, .init = setup);

Test(serial_rxq, empty_pops_zero)
{
	cr_assert_eq(serial_rxq_count(&q), 0);
	cr_assert_eq(serial_rxq_room(&q, CAP), CAP);
	cr_assert_eq(serial_rxq_pop(&q), 0);
	cr_assert_eq(serial_rxq_count(&q), 0);
	cr_assert_eq(q.head, 0);
}

Test(serial_rxq, order_kept_across_the_wrap)
{
	unsigned next_in = 0, next_out = 0;

	/* Three bytes in, two out, many times: the head goes round the ring several times. */
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 3; i++)
			cr_assert(serial_rxq_push(&q, CAP, (uint8_t)next_in++));
		for (int i = 0; i < 2; i++)
			cr_assert_eq(serial_rxq_pop(&q), (uint8_t)next_out++);
		if (serial_rxq_count(&q) > CAP - 3)
			break;
	}
	cr_assert_lt(q.head, SERIAL_RXQ_SIZE);
	while (serial_rxq_count(&q) > 0)
		cr_assert_eq(serial_rxq_pop(&q), (uint8_t)next_out++);
	cr_assert_eq(next_in, next_out);
	cr_assert_gt(next_out, SERIAL_RXQ_SIZE, "the ring wrapped");
}

Test(serial_rxq, push_refused_when_full)
{
	for (unsigned i = 0; i < CAP; i++)
		cr_assert(serial_rxq_push(&q, CAP, (uint8_t)i));
	cr_assert_eq(serial_rxq_room(&q, CAP), 0);
	cr_assert_not(serial_rxq_push(&q, CAP, 0xaa));
	cr_assert_eq(serial_rxq_count(&q), CAP);
	cr_assert_not(q.blocked, "a refused push is the caller's overrun, not a blocked receive");
	for (unsigned i = 0; i < CAP; i++)
		cr_assert_eq(serial_rxq_pop(&q), i);
}

Test(serial_rxq, capacity_one_without_fifos)
{
	cr_assert_eq(serial_rxq_room(&q, 1), 1);
	cr_assert(serial_rxq_push(&q, 1, 'a'));
	cr_assert_not(serial_rxq_push(&q, 1, 'b'));
	cr_assert_eq(serial_rxq_room(&q, 1), 0);
	cr_assert_eq(serial_rxq_pop(&q), 'a');
	cr_assert_eq(serial_rxq_room(&q, 1), 1);
}

Test(serial_rxq, clear_keeps_the_owed_event_reset_drops_it)
{
	const uint8_t in[CAP + 2] = {0};

	cr_assert_eq(serial_rxq_receive(&q, CAP, in, sizeof(in)), CAP);
	cr_assert(q.blocked);
	serial_rxq_clear(&q);
	cr_assert_eq(serial_rxq_count(&q), 0);
	cr_assert_eq(q.head, 0);
	cr_assert(q.blocked);
	serial_rxq_reset(&q);
	cr_assert_not(q.blocked);
	cr_assert_not(serial_rxq_take_space_event(&q, CAP));
}

Test(serial_rxq, receive_takes_what_fits)
{
	const uint8_t in[] = "abcdefghijklmnopqrstuvwxyz";

	cr_assert_eq(serial_rxq_receive(&q, CAP, in, 10), 10);
	cr_assert_not(q.blocked);
	cr_assert_eq(serial_rxq_receive(&q, CAP, in + 10, 10), CAP - 10);
	cr_assert(q.blocked);
	for (unsigned i = 0; i < CAP; i++)
		cr_assert_eq(serial_rxq_pop(&q), in[i]);
	cr_assert_eq(serial_rxq_receive(&q, CAP, in, 0), 0);
	cr_assert_eq(serial_rxq_count(&q), 0);
}

Test(serial_rxq, space_event_once_and_only_with_room)
{
	const uint8_t in[2] = {1, 2};

	cr_assert_not(serial_rxq_take_space_event(&q, 1), "nothing was refused");
	cr_assert_eq(serial_rxq_receive(&q, 1, in, 2), 1);
	cr_assert_not(serial_rxq_take_space_event(&q, 1), "still full");
	cr_assert(q.blocked);
	cr_assert_eq(serial_rxq_pop(&q), 1);
	cr_assert(serial_rxq_take_space_event(&q, 1));
	cr_assert_not(q.blocked);
	cr_assert_not(serial_rxq_take_space_event(&q, 1), "claimed once");
}

Test(serial_rxq, space_event_sees_the_capacity_given)
{
	const uint8_t in[2] = {1, 2};

	cr_assert_eq(serial_rxq_receive(&q, 1, in, 2), 1);
	/* The capacity is the caller's to give: with 16 there is room, with 1 there is none. */
	cr_assert_not(serial_rxq_take_space_event(&q, 1));
	cr_assert(serial_rxq_take_space_event(&q, CAP));
}

Test(serial_rxq, notify_calls_only_for_an_event)
{
	serial_rxq_notify_space(false, on_space, &q);
	cr_assert_eq(space_calls, 0);
	serial_rxq_notify_space(true, on_space, &q);
	cr_assert_eq(space_calls, 1);
	serial_rxq_notify_space(true, NULL, &q); /* no sink callback */
	cr_assert_eq(space_calls, 1);
}
