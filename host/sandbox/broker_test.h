/* Test-only calls of host/sandbox/broker.h: what unit tests use to look inside it and the VMM does
 * not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_SANDBOX_BROKER_TEST_H
#define HOST_SANDBOX_BROKER_TEST_H

#include "host/sandbox/broker.h"

/* True on the broker thread, or when there is no broker (every call runs where it is made). */
bool sandbox_broker_here(void);

#endif
