/* The MMDS data store: one JSON document the host replaces (PUT /mmds) or patches (PATCH
 * /mmds, RFC 7396) and reads back (GET /mmds), under a size limit on its compact text
 * (Firecracker's --mmds-size-limit, 51200 bytes by default). Plain data, no lock: the caller
 * that shares a store between threads holds its lock (vmm/mmds/mmds.h). */
#ifndef VMM_MMDS_STORE_H
#define VMM_MMDS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MMDS_DEFAULT_SIZE_LIMIT 51200

/* Firecracker's messages for the errors of mmds_store_put() and mmds_store_patch(). */
#define MMDS_MSG_TOO_LARGE "The MMDS patch request doesn't fit."
#define MMDS_MSG_NOT_INIT  "The MMDS data store is not initialized."

struct mmds_store {
	json_t *doc;  /* NULL until the first PUT */
	size_t limit; /* bytes of the compact JSON text */
};

void mmds_store_init(struct mmds_store *s, size_t limit);
void mmds_store_free(struct mmds_store *s);

/* The compact JSON text length of `doc`, as the limit counts it (keys sorted, like
 * Firecracker's serde_json maps); SIZE_MAX when it cannot be written. */
size_t mmds_json_size(const json_t *doc);

/* Replaces the document with a copy of `doc` (any JSON value). Returns 0, -EFBIG when its
 * text is over the limit (the store unchanged; Firecracker answers 413), -ENOMEM. */
int mmds_store_put(struct mmds_store *s, const json_t *doc);

/* Merges `patch` into the document (RFC 7396). Returns 0, -ENODATA before the first PUT
 * (Firecracker refuses a PATCH of a store never put), -EFBIG when the result would be over
 * the limit (the store unchanged), -ENOMEM. */
int mmds_store_patch(struct mmds_store *s, const json_t *patch);

#endif
