/* The decision half of the halt watch (see halt_watch.h); vcpu.c does the sampling. */
#include "host/kvm/halt_watch.h"

bool halt_watch_update(struct halt_watch *w, const enum halt_sample *samples, unsigned n)
{
	bool all_dead = n > 0;
	for (unsigned i = 0; i < n; i++)
		all_dead = all_dead && samples[i] == HALT_SAMPLE_DEAD;
	w->dead_ticks = all_dead ? w->dead_ticks + 1 : 0;
	return w->dead_ticks >= HALT_WATCH_TICKS;
}
