/* vmmctl: readable text for the API's JSON answers (tables of devices and vCPUs, summaries).
 * Pure (JSON in, text out): tests/unit/tools/vmmctl/test_vmmctl_render.c feeds it documents, odd
 * ones too. */
#ifndef VMMCTL_RENDER_H
#define VMMCTL_RENDER_H

#include <jansson.h>
#include <stdio.h>

#include "tools/vmmctl/request.h"

/* Writes `doc` (the answer to a request of view `view`) to `out` for a reader. For VIEW_INFO,
 * `state` is the answer of GET /vmm/state (may be NULL if that failed). Missing or mistyped
 * fields print as "-"; returns -EPROTO if the document's shape is unusable (say, an object where
 * a list belongs), else 0. */
int vmmctl_render(enum vmmctl_view view, json_t *doc, json_t *state, FILE *out);

#endif
