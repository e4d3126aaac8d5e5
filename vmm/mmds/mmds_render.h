/* What the guest reads: the value at a path of the MMDS document, as JSON or in the IMDS text
 * format (Firecracker's data_store.rs get_value() and format_imds()). */
#ifndef VMM_MMDS_RENDER_H
#define VMM_MMDS_RENDER_H

#include <jansson.h>
#include <stddef.h>

enum mmds_format { MMDS_FORMAT_IMDS, MMDS_FORMAT_JSON };

/* Firecracker's message for a value IMDS cannot show (501). */
#define MMDS_MSG_UNSUPPORTED "Cannot retrieve value. The value has an unsupported type."

/* The value at `path` (a URI path: runs of '/' count as one, a trailing '/' is ignored, the
 * rest is a JSON pointer, RFC 6901, with ~0 and ~1 escapes and array indices), or NULL. `doc`
 * NULL (no document yet) finds nothing. Borrowed reference. */
const json_t *mmds_lookup(const json_t *doc, const char *path, size_t path_len);

/* Renders `v`. JSON: its compact text, keys sorted. IMDS: an object lists its keys, sorted,
 * one a line (no final newline), those whose value is an object with a trailing '/'; a string
 * is returned as is; anything else is -ENOTSUP (501). Returns 0 with a malloc'd text in *out
 * and its length in *len, -ENOTSUP, or -ENOMEM. */
int mmds_render(const json_t *v, enum mmds_format fmt, char **out, size_t *len);

#endif
