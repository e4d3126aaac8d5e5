/* Live-migration request bodies and the progress document (api_migration.h). */
#include "vmm/api/api_migration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/api/api_json.h"
#include "vmm/migration/mig_url.h"

int api_migration_send_parse(const json_t *body, struct api_send_migration *p, char *err,
			     size_t errlen)
{
	static const struct api_json_field f[] = {{"destination_url", API_JSON_STRING, true},
						  {"local", API_JSON_BOOL, false},
						  {"max_downtime_ms", API_JSON_UINT, false},
						  {NULL, 0, false}};
	struct mig_url u;
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	p->url = api_json_str(body, "destination_url", "");
	p->local = api_json_bool(body, "local", false);
	uint64_t ms = api_json_uint(body, "max_downtime_ms", MIG_DEFAULT_DOWNTIME_MS);
	if (!ms || ms > API_MIGRATION_MAX_DOWNTIME_MS) {
		snprintf(err, errlen, "max_downtime_ms must be 1..%u",
			 API_MIGRATION_MAX_DOWNTIME_MS);
		return -EINVAL;
	}
	p->max_downtime_ms = (uint32_t)ms;
	char why[200];
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
	char why[200];
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
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state", mig_phase_name(p->phase),
	    "rounds", (json_int_t)p->rounds, "bytes", (json_int_t)p->bytes, "pages",
	    (json_int_t)p->pages, "remaining_pages", (json_int_t)p->remaining_pages,
	    "dirty_rate_pages_per_s", (json_int_t)p->dirty_rate, "bandwidth_bytes_per_s",
	    (json_int_t)p->bandwidth, "expected_downtime_ms",
	    (json_int_t)(p->expected_downtime_ms > INT64_MAX ? INT64_MAX : p->expected_downtime_ms),
	    "downtime_ms", (json_int_t)p->downtime_ms, "total_ms", (json_int_t)p->total_ms);
	if (j && error && error[0])
		json_object_set_new(j, "error", json_string(error));
	return j;
}
