/* An option's items (base/options.h) as a JSON object and back: the form a device's record takes
 * in a snapshot, a config file and GET /vm/config (vmm/descriptors/device_record.h). Each item is
 * a member: its value a string, a flag `true`; a key given more than once (OPT_REPEAT) an array
 * of its values. Read back, a number stands for its decimal text and `false` for a flag not
 * given, so a hand-written record may say {"num-queues": 2, "ro": false}. Nothing is lost either
 * way: any text is a value, commas included. */
#ifndef VMM_CONFIG_RECORD_JSON_H
#define VMM_CONFIG_RECORD_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/options.h"

/* The items as an object (a new reference), or NULL when out of memory. */
json_t *record_json_from_items(const struct opt_items *l);

/* Appends the members of `obj` to `out` as items, except those named in `skip` (NULL-terminated,
 * or NULL): members a descriptor reads itself ("transport"). Returns 0, -EINVAL with the reason
 * in err ("member 'ro': expected a string, a number, true or false"), or -ENOMEM. */
int record_json_to_items(const json_t *obj, const char *const *skip, struct opt_items *out,
			 char *err, size_t errlen);

#endif
