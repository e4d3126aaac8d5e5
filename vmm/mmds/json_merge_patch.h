/* JSON Merge Patch (RFC 7396), the body of PATCH /mmds. */
#ifndef VMM_MMDS_JSON_MERGE_PATCH_H
#define VMM_MMDS_JSON_MERGE_PATCH_H

#include <jansson.h>

/* Applies `patch` to `target` (which may be NULL: no document yet) and returns the result, a
 * new reference: `target` is not changed. RFC 7396 section 2: a patch that is not an object
 * replaces the target; an object patch turns a non-object target into {} first, removes the
 * members whose patch value is null and merges the others recursively. NULL when out of
 * memory. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

#endif
