/* Firecracker's fields that have a default but are not optional: `smt`, `emit_id`,
 * `stats_polling_interval_s`, ... are plain values with serde's `default` in its models, so
 * leaving them out takes the default while sending them as `null` is a 400 ("invalid type:
 * null"). Everywhere else `null` means absent (api_json.h). These checks run on a body or a
 * config file as sent, before its nulls are dropped. */
#ifndef VMM_API_NULLS_H
#define VMM_API_NULLS_H

#include <jansson.h>
#include <stddef.h>

/* A request to `path` (normalized: one leading '/', no trailing one) by `method`: 0, or -EINVAL
 * with Firecracker's kind of message in err when the body holds null for such a field. */
int api_nulls_check_request(const char *method, const char *path, const json_t *body, char *err,
			    size_t errlen);

/* The top-level member of a request to `path` by `method` whose null is a value, not "absent"
 * (kept when the others are dropped), or NULL: a PATCH on a device's {id} route names it
 * (device_patch_hooks.kept_null: PATCH /network-interfaces/{id} "egress", where null removes
 * the NIC's egress policy and leaving it out keeps the policy). */
const char *api_nulls_kept(const char *method, const char *path);

/* The same for each section of a config file (Firecracker's --config-file layout): 0 or -EINVAL
 * with the section named. */
int api_nulls_check_config(const json_t *root, char *err, size_t errlen);

#endif
