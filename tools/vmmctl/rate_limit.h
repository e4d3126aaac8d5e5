/* vmmctl: rate limiter options -> Firecracker's rate_limiter objects. A bucket option is spelled
 * as the VMM's own --disk bw= / --net rx-bw= (and parsed by the same function, rl_bucket_parse):
 * SIZE:REFILL_MS[:BURST], SIZE and BURST with K/M/G suffixes; or 0 for no limit. */
#ifndef VMMCTL_RATE_LIMIT_H
#define VMMCTL_RATE_LIMIT_H

#include <jansson.h>
#include <stddef.h>

#include "tools/vmmctl/commands.h"

/* Sets member `key` of `body` to {"bandwidth"?, "ops"?} from the options PREFIXbw and PREFIXops
 * of `a` (prefix "", "rx-" or "tx-"). A bucket not given is left out of the object (a PATCH
 * leaves it as it is); a bucket of 0 is {"size": 0, "refill_time": 0} (no limit: a PATCH
 * removes it); when neither option was given nothing is set. Returns 0, or -EINVAL with the
 * reason in err. */
int vmmctl_rate_limiter_set(json_t *body, const char *key, const struct args *a, const char *prefix,
			    char *err, size_t errlen);

#endif
