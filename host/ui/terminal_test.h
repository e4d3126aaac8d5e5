/* Test-only calls of the terminal (host/ui/terminal.h): what unit tests use to set up or look
 * inside it and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h
 * include anywhere else. */
#ifndef VMM_UI_TERMINAL_TEST_H
#define VMM_UI_TERMINAL_TEST_H

#include "host/ui/terminal.h"

/* 1 while the terminal is in raw mode. */
int terminal_is_raw(void);

#endif
