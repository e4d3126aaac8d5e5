/* MMDS in a snapshot (issue 28: the store is kept in snapshots): its configuration and its
 * document as one JSON object, {"config": <a PUT /mmds/config body> or null, "store": <the
 * document> or null}. V2 session tokens are not kept: they are short-lived, and a restored
 * guest asks for a new one as it does when one expires. A snapshot file is untrusted input, so
 * loading checks everything a PUT would. */
#ifndef VMM_MMDS_STATE_H
#define VMM_MMDS_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/mmds/mmds.h"

/* The state of `m` (a new reference), or NULL when out of memory. */
json_t *mmds_state_save(struct mmds *m);

/* Checks a saved state for `m`: the configuration as PUT /mmds/config checks it (into *cfg,
 * *has_cfg false when there is none) and the document against m's size limit (the loading VMM's
 * --mmds-size-limit). Returns 0, or -EINVAL with the reason in err. */
int mmds_state_check(struct mmds *m, const json_t *state, struct mmds_config *cfg, bool *has_cfg,
		     char *err, size_t errlen);

/* Replaces the configuration and the document of `m` by a state mmds_state_check() accepted
 * (V2 tokens issued before are dropped). Returns 0, or -errno with the reason in err. */
int mmds_state_load(struct mmds *m, const json_t *state, char *err, size_t errlen);

#endif
