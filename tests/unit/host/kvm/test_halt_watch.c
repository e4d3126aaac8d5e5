/* The halt watch's decision: stop only after HALT_WATCH_TICKS ticks in a row in which every
 * vCPU was halted with interrupts disabled. */
#include <criterion/criterion.h>

#include "host/kvm/halt_watch.h"

static const enum halt_sample dead2[] = {HALT_SAMPLE_DEAD, HALT_SAMPLE_DEAD};
static const enum halt_sample mixed[] = {HALT_SAMPLE_DEAD, HALT_SAMPLE_RUNNING};
static const enum halt_sample unanswered[] = {HALT_SAMPLE_DEAD, HALT_SAMPLE_NONE};

Test(halt_watch, stops_after_consecutive_dead_ticks)
{
	struct halt_watch w = {0};
	for (int i = 1; i < HALT_WATCH_TICKS; i++)
		cr_assert_not(halt_watch_update(&w, dead2, 2), "tick %d", i);
	cr_assert(halt_watch_update(&w, dead2, 2));
}

Test(halt_watch, one_running_vcpu_resets_the_count)
{
	struct halt_watch w = {0};
	for (int i = 0; i < 10; i++) {
		cr_assert_not(halt_watch_update(&w, dead2, 2));
		cr_assert_not(halt_watch_update(&w, mixed, 2));
	}
	cr_assert_eq(w.dead_ticks, 0);
}

Test(halt_watch, a_vcpu_that_did_not_answer_is_not_dead)
{
	struct halt_watch w = {0};
	for (int i = 0; i < 10; i++)
		cr_assert_not(halt_watch_update(&w, unanswered, 2));
}

Test(halt_watch, no_vcpus_is_never_dead)
{
	struct halt_watch w = {0};
	for (int i = 0; i < 10; i++)
		cr_assert_not(halt_watch_update(&w, NULL, 0));
}
