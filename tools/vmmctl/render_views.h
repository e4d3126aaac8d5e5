/* vmmctl: what the renderers share (internal to tools/vmmctl). render.c dispatches by view and
 * renders the instance's views; render_config.c the configuration; render_balloon.c the balloon.
 * Every field is read through render_field() / render_text(), which tolerate a missing key or a
 * wrong type, so a malformed answer prints "-" instead of crashing. */
#ifndef VMMCTL_RENDER_VIEWS_H
#define VMMCTL_RENDER_VIEWS_H

#include <jansson.h>
#include <stdio.h>

#define CELL 32

/* The value of `key` in `obj` as text in `buf` ("-" when missing or not a scalar; a boolean is
 * "yes" or "no"; cut to CELL - 1 characters). */
const char *render_field(json_t *obj, const char *key, char buf[CELL]);

/* A string field in full (paths are longer than a table cell), or "-". */
const char *render_text(json_t *obj, const char *key);

/* "every N s", "off" (0) or "-": the stats_polling_interval_s of a balloon document. */
const char *render_stats_interval(json_t *obj, char buf[CELL]);

/* Each returns 0, or -EPROTO when the document is not an object. */
int render_config(json_t *doc, FILE *out);
int render_balloon(json_t *doc, FILE *out);
int render_balloon_stats(json_t *doc, FILE *out);

#endif
