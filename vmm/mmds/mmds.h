/* One MMDS instance, shared by the API thread (PUT/PATCH/GET /mmds, PUT /mmds/config) and the
 * transmit path of each NIC it answers on (vmm/mmds/mmds_stack.h): the data store, the V2
 * tokens and the configuration behind one lock, a leaf (base/lock_order.h). */
#ifndef VMM_MMDS_H
#define VMM_MMDS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "vmm/mmds/mmds_config.h"
#include "vmm/mmds/mmds_store.h"
#include "vmm/mmds/mmds_token.h"

struct mmds {
	pthread_mutex_t lock;
	struct mmds_store store;
	struct mmds_tokens tokens;
	struct mmds_config cfg;
	bool configured; /* PUT /mmds/config was accepted */
};

/* An empty store of `limit` bytes, the default configuration. Returns 0 or -errno. */
int mmds_init(struct mmds *m, size_t limit);
void mmds_destroy(struct mmds *m);

/* The store's size limit for the next PUT or PATCH (--mmds-size-limit). */
void mmds_set_limit(struct mmds *m, size_t limit);
/* mmds_store_put() / mmds_store_patch() under the lock. */
int mmds_put(struct mmds *m, const json_t *doc);
int mmds_patch(struct mmds *m, const json_t *patch);
/* A copy of the document ({} before the first PUT), or NULL when out of memory. */
json_t *mmds_get(struct mmds *m);

/* What the guest reads (vmm/mmds/mmds_http.c), each under the lock. The value at `path` as
 * JSON (`json`, unless imds_compat forces IMDS text; *is_json says which) or IMDS text: 0 with a
 * malloc'd text, -ENOENT (no such value, or no document yet), -ENOTSUP (IMDS cannot show it),
 * -ENOMEM. */
int mmds_guest_read(struct mmds *m, const char *path, size_t path_len, bool json, char **out,
		    size_t *len, bool *is_json);
enum mmds_version mmds_guest_version(struct mmds *m);
/* mmds_token_issue() and mmds_token_valid() on the shared token table. */
int mmds_guest_new_token(struct mmds *m, uint32_t ttl_s, uint64_t now_ms,
			 const uint8_t rnd[MMDS_TOKEN_RAND_LEN], char out[MMDS_TOKEN_LEN + 1]);
bool mmds_guest_token_ok(struct mmds *m, const char *tok, size_t len, uint64_t now_ms);

void mmds_set_config(struct mmds *m, const struct mmds_config *c);
/* The configuration; false (and the defaults in *c) when none was set. */
bool mmds_get_config(struct mmds *m, struct mmds_config *c);

#endif
