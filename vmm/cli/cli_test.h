/* Test-only calls of vmm/cli/cli.h: what unit tests use to look inside it and the VMM does not.
 * Included by tests/ only; cmake/layers.cmake refuses a *_test.h include anywhere else. */
#ifndef VMM_CLI_CLI_TEST_H
#define VMM_CLI_CLI_TEST_H

#include "vmm/cli/cli.h"

/* Writes the full usage text. */
void cli_usage(FILE *out);

#endif
