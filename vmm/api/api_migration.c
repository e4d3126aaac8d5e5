/* Live-migration request bodies and the progress document (api_migration.h). */
#include "vmm/api/api_migration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/api/api_model.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/migration/stream/mig_url.h"

/* The optional unsigned field `name` into *out: `def` when absent, else within [min, max].
 * 0 or -EINVAL with "NAME must be MIN..MAX" and `hint`. */
static int uint_field(const json_t *body, const char *name, uint64_t min, uint64_t max,
		      uint64_t def, const char *hint, uint64_t *out, char *err, size_t errlen)
{
	*out = api_json_uint(body, name, def);
	if (!json_object_get(body, name) || (*out >= min && *out <= max))
		return 0;
	snprintf(err, errlen, "%s must be %llu..%llu%s", name, (unsigned long long)min,
		 (unsigned long long)max, hint);
	return -EINVAL;
}

/* The limits of a copying migration: max_downtime_ms, max_rounds, max_bandwidth_bytes_per_s. */
static int send_limits(const json_t *body, struct api_send_migration *p, char *err, size_t errlen)
{
	uint64_t ms, rounds, bw;
	if (uint_field(body, "max_downtime_ms", 1, API_MIGRATION_MAX_DOWNTIME_MS,
		       MIG_DEFAULT_DOWNTIME_MS, "", &ms, err, errlen) ||
	    uint_field(body, "max_rounds", 1, API_MIGRATION_MAX_ROUNDS, MIG_DEFAULT_ROUNDS,
		       " (rounds while the guest runs, the first included)", &rounds, err,
		       errlen) ||
	    uint_field(body, "max_bandwidth_bytes_per_s", API_MIGRATION_MIN_BANDWIDTH,
		       API_MIGRATION_MAX_BANDWIDTH, 0,
		       " (64 KiB/s to 1 TiB/s; leave it out for no cap)", &bw, err, errlen))
		return -EINVAL;
	if (p->local && (json_object_get(body, "max_rounds") ||
			 json_object_get(body, "max_bandwidth_bytes_per_s"))) {
		snprintf(err, errlen,
			 "a local migration copies no page: max_rounds and "
			 "max_bandwidth_bytes_per_s do not apply");
		return -EINVAL;
	}
	p->max_downtime_ms = (uint32_t)ms;
	p->max_rounds = (uint32_t)rounds;
	p->max_bandwidth = bw;
	return 0;
}

int api_migration_send_parse(const json_t *body, struct api_send_migration *p, char *err,
			     size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"destination_url", API_JSON_STRING, true},
	    {"local", API_JSON_BOOL, false},
	    {"max_downtime_ms", API_JSON_UINT, false},
	    {"max_rounds", API_JSON_UINT, false},
	    {"max_bandwidth_bytes_per_s", API_JSON_UINT, false},
	    {NULL, 0, false}};
	struct mig_url u;
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	p->url = api_json_str(body, "destination_url", "");
	p->local = api_json_bool(body, "local", false);
	if (send_limits(body, p, err, errlen))
		return -EINVAL;
	char why[API_FAULT_MAX];
	if (mig_url_parse(p->url, 0, &u, why, sizeof(why))) {
		snprintf(err, errlen, "destination_url: %s", why);
		return -EINVAL;
	}
	if (p->local && u.kind != MIG_URL_UNIX) {
		snprintf(err, errlen, "local migration needs a unix: destination_url");
		return -EINVAL;
	}
	return 0;
}

int api_migration_receive_parse(const json_t *body, const char **url, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"receiver_url", API_JSON_STRING, true},
						  {NULL, 0, false}};
	struct mig_url u;
	char why[API_FAULT_MAX];
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	*url = api_json_str(body, "receiver_url", "");
	if (mig_url_parse(*url, 1, &u, why, sizeof(why))) {
		snprintf(err, errlen, "receiver_url: %s", why);
		return -EINVAL;
	}
	return 0;
}

json_t *api_migration_progress_json(const struct mig_progress *p, const char *error)
{
	json_t *j = json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "state",
	    mig_phase_name(p->phase), "rounds", (json_int_t)p->rounds, "bytes",
	    (json_int_t)p->bytes, "pages", (json_int_t)p->pages, "remaining_pages",
	    (json_int_t)p->remaining_pages, "dirty_rate_pages_per_s", (json_int_t)p->dirty_rate,
	    "bandwidth_bytes_per_s", (json_int_t)p->bandwidth, "expected_downtime_ms",
	    (json_int_t)(p->expected_downtime_ms > INT64_MAX ? INT64_MAX : p->expected_downtime_ms),
	    "downtime_ms", (json_int_t)p->downtime_ms, "total_ms", (json_int_t)p->total_ms,
	    "max_rounds", (json_int_t)p->max_rounds, "round_limit_reached",
	    (int)p->round_limit_reached, "max_bandwidth_bytes_per_s",
	    (json_int_t)(p->max_bandwidth > INT64_MAX ? INT64_MAX : p->max_bandwidth));
	if (j && error && error[0])
		json_object_set_new(j, "error", json_string(error));
	return j;
}
