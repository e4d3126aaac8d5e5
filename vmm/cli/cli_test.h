/* Test-only calls of vmm/cli/cli.h: what unit tests use to look inside it and the VMM does not.
 * Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef VMM_CLI_CLI_TEST_H
#define VMM_CLI_CLI_TEST_H

#include "vmm/cli/cli.h"

/* Writes the full usage text. */
void cli_usage(FILE *out);

/* Calls fn() with the name of every long option getopt knows (the core's, then each device
 * option of the table, a shared name once), and whether a snapshot may carry it (a core
 * option as recorded, a device's in its record); stops at and returns fn()'s first non-zero
 * value, else 0. */
int cli_options_each(int (*fn)(const char *name, bool recorded, void *opaque), void *opaque);

#endif
