/* Test-only calls of host/ui/display.h: what unit tests use to look inside it and the VMM does not.
 * Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef HOST_UI_DISPLAY_TEST_H
#define HOST_UI_DISPLAY_TEST_H

#include "host/ui/display.h"

/* Locks the framebuffer for reading without touching the damage (screenshots). */
void display_lock(struct display *d, struct display_fb *fb);

#endif
