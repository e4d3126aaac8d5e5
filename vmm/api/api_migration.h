/* Live migration in the API (issue 31), with Cloud Hypervisor's send-migration semantics under
 * our /vmm/ routes: request bodies checked and the progress document built; pure code like
 * api_model.h. The router (api_router.c) decides the state; the backend
 * (vmm/migration/vm_migrate.h) moves the VM.
 *
 *   PUT /vmm/send-migration    {"destination_url": "unix:PATH"|"tcp:HOST:PORT", "local"?: bool,
 *                               "max_downtime_ms"?: N, "max_rounds"?: N,
 *                               "max_bandwidth_bytes_per_s"?: N}
 *                                                          a running or paused VM; 204 once it
 *                                                          started (it runs in the background)
 *   GET /vmm/migration         the progress document (api_migration_progress_json())
 *   PUT /vmm/migration/cancel  stops it; the guest runs on here
 *   PUT /vmm/receive-migration {"receiver_url": ...}      before a VM exists: wait for one */
#ifndef VMM_API_MIGRATION_H
#define VMM_API_MIGRATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/migration/stream/mig_send.h"

#define API_MIGRATION_MAX_DOWNTIME_MS 60000u
#define API_MIGRATION_MAX_ROUNDS      1000u
/* The bandwidth cap's range: 64 KiB/s (the pause after a 1 MiB frame, 16 s, stays under the
 * 30 s a destination waits for the next byte; slower would take hours for any RAM) to 1 TiB/s
 * (beyond any link: no cap in effect). */
#define API_MIGRATION_MIN_BANDWIDTH (64ull << 10)
#define API_MIGRATION_MAX_BANDWIDTH (1ull << 40)

struct api_send_migration {
	const char *url; /* points into the body */
	bool local;
	uint32_t max_downtime_ms; /* 0: the default (MIG_DEFAULT_DOWNTIME_MS) */
	uint32_t max_rounds;	  /* 0: the default (MIG_DEFAULT_ROUNDS) */
	uint64_t max_bandwidth;	  /* bytes per second; 0: no cap */
};

/* PUT /vmm/send-migration: known fields only, a destination URL mig_url_parse() takes, `local`
 * only to a unix: one, max_downtime_ms 1..API_MIGRATION_MAX_DOWNTIME_MS, max_rounds
 * 1..API_MIGRATION_MAX_ROUNDS, max_bandwidth_bytes_per_s API_MIGRATION_MIN_BANDWIDTH..
 * API_MIGRATION_MAX_BANDWIDTH, and neither of the last two with `local` (no page is copied). 0
 * or -EINVAL with a message. */
int api_migration_send_parse(const json_t *body, struct api_send_migration *p, char *err,
			     size_t errlen);

/* PUT /vmm/receive-migration: {"receiver_url"} that a destination may listen on. Sets *url
 * (into the body). 0 or -EINVAL with a message. */
int api_migration_receive_parse(const json_t *body, const char **url, char *err, size_t errlen);

/* GET /vmm/migration: {"state": "precopy"|..., "rounds", "bytes", "pages", "remaining_pages",
 * "dirty_rate_pages_per_s", "bandwidth_bytes_per_s", "expected_downtime_ms", "downtime_ms",
 * "total_ms", "max_rounds", "round_limit_reached", "max_bandwidth_bytes_per_s"} and "error" when
 * `error` is a non-empty message. A new reference or NULL. */
json_t *api_migration_progress_json(const struct mig_progress *p, const char *error);

#endif
