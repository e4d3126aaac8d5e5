/* PUT /logger (Firecracker's Logger model): {"log_path"?, "level"?, "show_level"?,
 * "show_log_origin"?, "module"?} configures the VMM's log (base/log.h); a later PUT reconfigures
 * it, what it leaves out keeping its value (but the level: Info).
 * - log_path: a file (appended to; created when missing) or named pipe (written without
 *   blocking: a line nobody reads is dropped); absent: stderr, or the file set before.
 * - level: Error, Warning, Info (default), Debug, Trace or Off, in any case; Trace is Debug
 *   here (there is no finer level).
 * - show_level, show_log_origin: the level and the source file:line in each line's prefix.
 * - module: only lines from source paths containing it (e.g. "vmm/api").
 * Each function returns 0, or -errno with a message for the client in err[0..errlen). */
#ifndef VMM_API_LOGGER_H
#define VMM_API_LOGGER_H

#include <jansson.h>
#include <stddef.h>

#include "base/log.h"

/* Checks a body; fills *out (when not NULL) with everything but the file (fd -1). */
int api_logger_check(const json_t *body, struct log_config *out, char *err, size_t errlen);

/* Checks a body, opens (or creates) its log_path and configures the log. */
int api_logger_put(const json_t *body, char *err, size_t errlen);

#endif
