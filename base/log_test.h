/* Test-only calls of base/log.h: what unit tests and fuzz targets use to drive or look
 * inside the module and the VMM does not. cmake/layers.cmake refuses a *_test.h include in any
 * layer. */
#ifndef BASE_LOG_TEST_H
#define BASE_LOG_TEST_H

#include "base/log.h"

/* Decides whether a line may print at monotonic time `now_ns`. When it may and lines were
 * dropped before it, *dropped is their count (0 otherwise), to be reported with it. */
bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ns, unsigned *dropped);

#endif
