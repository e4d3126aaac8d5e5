/* The fields that must not be null. See api_nulls.h. */
#include "vmm/api/api_nulls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/device_api_ext.h"

#define MAX_FIELDS 6

/* From Firecracker's models (src/vmm/src/vmm_config/): the members declared as a plain value
 * with #[serde(default)], by the PUT route that takes the body and its config file section. */
static const struct {
	const char *route;   /* ending in '/': followed by an {id} */
	const char *section; /* NULL: no config file section */
	const char *fields[MAX_FIELDS + 1];
} not_null[] = {
    {"/machine-config", "machine-config", {"smt", "track_dirty_pages", "huge_pages"}},
    {"/metrics", "metrics", {"emit_id"}},
    {"/balloon",
     "balloon",
     {"stats_polling_interval_s", "free_page_hinting", "free_page_reporting"}},
    {"/drives/", "drives", {"cache_type"}},
    {"/mmds/config", "mmds-config", {"version", "imds_compat"}},
    {"/hotplug/memory", "memory-hotplug", {"block_size_mib", "slot_size_mib"}},
    {"/pmem/", "pmem", {"root_device", "read_only"}},
    {"/snapshot/create", NULL, {"snapshot_type"}},
    {"/snapshot/load",
     NULL,
     {"enable_diff_snapshots", "track_dirty_pages", "resume_vm", "network_overrides",
      "clock_realtime", "huge_pages"}},
};
#define NROUTES (sizeof(not_null) / sizeof(not_null[0]))

static bool route_matches(const char *route, const char *path)
{
	size_t n = strlen(route);
	if (route[n - 1] != '/')
		return !strcmp(route, path);
	return !strncmp(route, path, n) && path[n] && !strchr(path + n, '/');
}

/* The first field of entry `i` that `obj` sends as null, or NULL. */
static const char *null_field(size_t i, const json_t *obj)
{
	for (const char *const *f = not_null[i].fields; *f; f++)
		if (json_is_null(json_object_get(obj, *f)))
			return *f;
	return NULL;
}

static int refuse(const char *where, const char *field, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "An error occurred when deserializing the json body of a request: %s%sinvalid "
		 "type: null for `%s`, which is not optional (leave it out for its default).",
		 where ? where : "", where ? ": " : "", field);
	return -EINVAL;
}

int api_nulls_check_request(const char *method, const char *path, const json_t *body, char *err,
			    size_t errlen)
{
	if (strcmp(method, "PUT") || !json_is_object(body))
		return 0;
	for (size_t i = 0; i < NROUTES; i++) {
		const char *f = route_matches(not_null[i].route, path) ? null_field(i, body) : NULL;
		if (f)
			return refuse(NULL, f, err, errlen);
	}
	return 0;
}

const char *api_nulls_kept(const char *method, const char *path)
{
	const char *id = NULL;
	const struct device_desc *d = device_table_route(path, &id);
	const struct device_api_ext *x = d && id ? d->api->ext : NULL;

	return !strcmp(method, "PATCH") && x && x->patch ? x->patch->kept_null : NULL;
}

/* One section: an object, or an array of them. */
static int check_section(size_t i, const json_t *v, char *err, size_t errlen)
{
	const json_t *item;
	size_t k;
	const char *f = json_is_object(v) ? null_field(i, v) : NULL;

	if (f)
		return refuse(not_null[i].section, f, err, errlen);
	json_array_foreach(v, k, item)
	{
		f = json_is_object(item) ? null_field(i, item) : NULL;
		if (f)
			return refuse(not_null[i].section, f, err, errlen);
	}
	return 0;
}

int api_nulls_check_config(const json_t *root, char *err, size_t errlen)
{
	for (size_t i = 0; i < NROUTES; i++) {
		const json_t *v =
		    not_null[i].section ? json_object_get(root, not_null[i].section) : NULL;
		int r = v ? check_section(i, v, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}
