/* Test-only calls of base/stats.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef BASE_STATS_TEST_H
#define BASE_STATS_TEST_H

#include "base/stats.h"

unsigned stats_boot_timer_hits(void);

/* Nanoseconds from process start to `phase`; false if the phase was not recorded. */
bool stats_get_ns(enum stats_phase phase, uint64_t *ns);

#endif
