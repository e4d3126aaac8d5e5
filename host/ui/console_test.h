/* Test-only calls of host/ui/console.h: what unit tests use to look inside it and the VMM does not.
 * Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_UI_CONSOLE_TEST_H
#define HOST_UI_CONSOLE_TEST_H

#include "host/ui/console.h"

enum console_escape_action console_escape_feed(struct console_escape *e, uint8_t byte,
					       uint8_t *out);

#endif
