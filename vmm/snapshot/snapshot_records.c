/* The overrides of a restore on a snapshot's device records. See snapshot_records.h. */
#include "vmm/snapshot/snapshot_records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mac.h"
#include "base/options.h"
#include "base/parse.h"

/* tap= or mac= of a NIC override: parts[0] or parts[1]. */
static int set_part(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	char **part = &((char **)dst)[key[0] == 't' ? 0 : 1];

	if (!*value)
		return parse_fail(err, errlen, "%s= needs a value", key);
	*part = strdup(value);
	return *part ? 0 : -ENOMEM;
}

static const struct opt_key override_keys[] = {
    {"tap", 0, set_part},
    {"mac", 0, set_part},
    {NULL, 0, NULL},
};

int snapshot_nic_override_split(const char *spec, char **tap, char **mac, char *err, size_t errlen)
{
	char *parts[2] = {NULL, NULL}, why[160];
	int r = opts_parse(spec, override_keys, parts, "want tap=NAME and/or mac=MAC", why,
			   sizeof(why));

	if (r == -EINVAL)
		snprintf(err, errlen, "network override `%s`: %s", spec, why);
	if (r) {
		free(parts[0]);
		free(parts[1]);
		parts[0] = parts[1] = NULL;
	}
	*tap = parts[0];
	*mac = parts[1];
	return r;
}

int snapshot_nic_override_spec(const char *tap, const char *mac, char *out, size_t len)
{
	struct opt_items l = {0};
	int r = tap ? opt_items_add(&l, "tap", tap) : 0;
	if (!r && mac)
		r = opt_items_add(&l, "mac", mac);
	if (!r)
		r = opt_items_format(&l, NULL, out, len);
	opt_items_free(&l);
	return r;
}

/* Sets string member `key` of record `rec`. 0 or -ENOMEM. */
static int set_member(json_t *rec, const char *key, const char *value)
{
	return json_object_set_new(rec, key, json_string(value)) ? -ENOMEM : 0;
}

/* True when the record's "id" member is `id`, or, without one, its fallback name. */
static bool named(const json_t *rec, const char *id, const char *fallback)
{
	const char *own = json_string_value(json_object_get(rec, "id"));
	return !strcmp(id, own && own[0] ? own : fallback);
}

int snapshot_nic_override_take(struct snapshot_load *l, int nic, const char *spec, char **tap,
			       char **mac, char *err, size_t errlen)
{
	int r = spec ? snapshot_nic_override_split(spec, tap, mac, err, errlen) : 0;

	if (!spec)
		*tap = *mac = NULL;
	if (!r && *mac && mac_parse(*mac, l->mac[nic], NULL, 0)) {
		snprintf(err, errlen, "network override: `%s` is not a unicast MAC address", *mac);
		r = -EINVAL;
	}
	if (!r && *mac)
		l->mac_set[nic] = true;
	return r;
}

/* Applies override `spec` to NIC record `rec`, NIC number `nic`. */
static int override_nic(struct snapshot_load *l, json_t *rec, int nic, const char *spec, char *err,
			size_t errlen)
{
	char *tap = NULL, *mac = NULL;
	int r = snapshot_nic_override_take(l, nic, spec, &tap, &mac, err, errlen);

	if (!r && mac)
		r = set_member(rec, "mac", mac);
	/* an fd number means nothing in another process: only a tap name may replace it */
	if (!r && json_object_get(rec, "tapfd") && !tap) {
		snprintf(err, errlen,
			 "the snapshot's NIC %d used a tap fd: give it a tap (--net tap=NAME, or "
			 "network_overrides)",
			 nic);
		r = -EINVAL;
	} else if (!r && tap && (json_object_get(rec, "tapfd") || json_object_get(rec, "tap"))) {
		json_object_del(rec, "tapfd");
		r = set_member(rec, "tap", tap);
	}
	free(tap);
	free(mac);
	return r;
}

/* The first override not used yet that is for NIC `nic` (record `rec`), marked used; NULL: none. */
static const char *override_for(const json_t *rec, int nic,
				const struct snapshot_nic_override *nics, int nnics, bool *used)
{
	char fallback[16];
	snprintf(fallback, sizeof(fallback), "net%d", nic);
	for (int k = 0; k < nnics; k++) {
		if (used[k] ||
		    (nics[k].id ? !named(rec, nics[k].id, fallback) : nics[k].index != nic))
			continue;
		used[k] = true;
		return nics[k].spec;
	}
	return NULL;
}

int snapshot_records_override_nics(struct snapshot_load *l, json_t *devices,
				   const struct snapshot_nic_override *nics, int nnics, char *err,
				   size_t errlen)
{
	bool used[VM_MAX_NICS] = {false};
	json_t *arr = json_object_get(devices, "net"), *rec;
	size_t i;
	int r = 0;

	if (nnics > VM_MAX_NICS) {
		snprintf(err, errlen, "network overrides: more than %d", VM_MAX_NICS);
		return -EINVAL;
	}
	if (json_array_size(arr) > VM_MAX_NICS) {
		snprintf(err, errlen, "snapshot configuration: too many NICs");
		return -EINVAL;
	}
	json_array_foreach(arr, i, rec)
	{
		if (!json_is_object(rec))
			continue; /* device_records_load() says what is wrong with it */
		const char *spec = override_for(rec, (int)i, nics, nnics, used);
		r = override_nic(l, rec, (int)i, spec, err, errlen);
		if (r)
			return r;
	}
	return snapshot_nic_overrides_unused(nics, nnics, used, (int)json_array_size(arr), err,
					     errlen);
}

int snapshot_nic_overrides_unused(const struct snapshot_nic_override *nics, int nnics,
				  const bool *used, int found, char *err, size_t errlen)
{
	for (int k = 0; k < nnics; k++) {
		if (used[k])
			continue;
		if (nics[k].id)
			snprintf(err, errlen, "network override: the snapshot has no NIC `%s`",
				 nics[k].id);
		else
			snprintf(err, errlen, "network override %d: the snapshot has %d NICs",
				 nics[k].index, found);
		return -EINVAL;
	}
	return 0;
}

/* The record path override `o` is for: a "disk" or the "vsock"; NULL: none. */
static json_t *path_target(json_t *devices, const struct snapshot_path_override *o, bool disk)
{
	json_t *arr = json_object_get(devices, disk ? "disk" : "vsock"), *rec;
	size_t i;
	json_array_foreach(arr, i, rec)
	{
		char fallback[32];
		snprintf(fallback, sizeof(fallback), "drive%zu", i);
		bool match = !o->id		  ? o->index == (int)i
			     : !disk && !o->id[0] ? true
						  : named(rec, o->id, disk ? fallback : "");
		if (json_is_object(rec) && match)
			return rec;
	}
	return NULL;
}

int snapshot_records_override_paths(json_t *devices, const struct snapshot_overrides *ov, char *err,
				    size_t errlen)
{
	for (int k = 0; ov && k < ov->npaths; k++) {
		const struct snapshot_path_override *o = &ov->paths[k];
		bool disk = !strcmp(o->option, "disk");
		if (!disk && strcmp(o->option, "vsock"))
			continue; /* firmware, firmware-vars: the core's options */
		if (!o->path[0]) {
			snprintf(err, errlen, "%s override: want a path", o->option);
			return -EINVAL;
		}
		json_t *rec = path_target(devices, o, disk);
		if (!rec && !disk)
			snprintf(err, errlen, "vsock override: the snapshot has no vsock%s%s",
				 o->id && o->id[0] ? " " : "", o->id ? o->id : "");
		else if (!rec && o->id)
			snprintf(err, errlen, "disk override: the snapshot has no drive `%s`",
				 o->id);
		else if (!rec)
			snprintf(err, errlen, "disk override %d: the snapshot has no disk %d",
				 o->index, o->index);
		if (!rec)
			return -EINVAL;
		if (set_member(rec, disk ? "path" : "uds", o->path))
			return -ENOMEM;
	}
	return 0;
}
