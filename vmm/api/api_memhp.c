/* Memory hotplug and pmem bodies and documents. See api_memhp.h. */
#include "vmm/api/api_memhp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_json.h"
#include "vmm/base/parse.h"
#include "vmm/machine/dev_memhp.h"

#define MIB	(1ull << 20)
#define MAX_MIB (VIRTIO_MEM_MAX_REGION / MIB)

int api_memhp_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"requested_size_mib", API_JSON_UINT, true},
						  {NULL, 0, false}};

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	*mib = api_json_uint(body, "requested_size_mib", 0);
	if (*mib > MAX_MIB) {
		snprintf(err, errlen, "requested_size_mib must be at most total_size_mib");
		return -EINVAL;
	}
	return 0;
}

static json_t *doc(uint64_t total, uint64_t slot, uint64_t block, uint64_t plugged,
		   uint64_t requested)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "total_size_mib", (json_int_t)total,
			 "slot_size_mib", (json_int_t)slot, "block_size_mib", (json_int_t)block,
			 "plugged_size_mib", (json_int_t)plugged, "requested_size_mib",
			 (json_int_t)requested);
}

json_t *api_memhp_json(const struct virtio_mem_info *i)
{
	return doc(i->region_size / MIB, i->slot_size / MIB, i->block_size / MIB,
		   i->plugged_size / MIB, i->requested_size / MIB);
}

/* ---- pmem ---- */

static int pmem_check(const struct api_pmem *list, int n, int at, const char *id,
		      const json_t *body, bool drive_root, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"id", API_JSON_STRING, true},
						  {"path_on_host", API_JSON_STRING, true},
						  {"root_device", API_JSON_BOOL, false},
						  {"read_only", API_JSON_BOOL, false},
						  {NULL, 0, false}};
	const char *path;
	char idbuf[API_PMEM_ID_MAX];

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	if (strcmp(api_json_str(body, "id", ""), id)) {
		snprintf(err, errlen, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	/* the rule of every other device id: printable, no space, '/' or ',' */
	if (parse_device_id(id, idbuf, sizeof(idbuf), err, errlen))
		return -EINVAL;
	path = api_json_str(body, "path_on_host", "");
	if (!*path || strchr(path, ',') || strlen(path) >= VIRTIO_PMEM_PATH_MAX) {
		snprintf(err, errlen,
			 "path_on_host must be a path without a comma, shorter than %d",
			 VIRTIO_PMEM_PATH_MAX);
		return -EINVAL;
	}
	if (!api_json_bool(body, "root_device", false))
		return 0;
	if (drive_root) {
		snprintf(err, errlen, "A root block device is already configured.");
		return -EINVAL;
	}
	for (int k = 0; k < n; k++) {
		if (k != at && list[k].root) {
			snprintf(err, errlen, "A root pmem device is already configured: %s",
				 list[k].id);
			return -EINVAL;
		}
	}
	return 0;
}

int api_pmem_put(struct api_pmem *list, int *n, const char *id, const json_t *body, bool drive_root,
		 char *err, size_t errlen)
{
	int at;
	char *path;

	for (at = 0; at < *n && strcmp(list[at].id, id); at++)
		;
	if (pmem_check(list, *n, at, id, body, drive_root, err, errlen))
		return -EINVAL;
	if (at == API_MAX_PMEM) {
		snprintf(err, errlen, "at most %d pmem devices", API_MAX_PMEM);
		return -ENOSPC;
	}
	path = strdup(api_json_str(body, "path_on_host", ""));
	if (!path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (at < *n)
		free(list[at].path);
	list[at] = (struct api_pmem){.path = path,
				     .root = api_json_bool(body, "root_device", false),
				     .ro = api_json_bool(body, "read_only", false)};
	snprintf(list[at].id, sizeof(list[at].id), "%s", id);
	if (at == *n)
		(*n)++;
	return 0;
}

int api_pmem_spec(const struct api_pmem *p, char *spec, size_t len)
{
	int n = snprintf(spec, len, "path=%s%s%s,id=%s", p->path, p->ro ? ",ro" : "",
			 p->root ? ",root" : "", p->id);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

json_t *api_pmem_json(const struct api_pmem *list, int n)
{
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:b}", "id", list[i].id,
						   "path_on_host", list[i].path, "root_device",
						   list[i].root, "read_only", list[i].ro));
	return a;
}

void api_pmem_free(struct api_pmem *list, int *n)
{
	for (int i = 0; i < *n; i++)
		free(list[i].path);
	*n = 0;
}
