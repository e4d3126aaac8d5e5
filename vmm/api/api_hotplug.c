/* Cloud Hypervisor's hotplug bodies, checked and turned into devices' record items by each
 * device's own hooks (device_api_ext.h), and the answers (api_hotplug.h). */
#include "vmm/api/api_hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/options.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"

_Static_assert(API_HOTPLUG_ID_MAX == DEVICE_HOT_ID_MAX, "one id limit");

static const struct api_json_field remove_fields[] = {
    {"id", API_JSON_STRING, true},
    {"timeout_ms", API_JSON_UINT, false},
    {NULL, 0, false},
};

/* A request for device `d`, no items yet. */
static void request_of(const struct device_desc *d, struct api_hotplug_add *out)
{
	*out = (struct api_hotplug_add){.dev = d};
}

int api_hotplug_parse(const struct device_desc *d, const json_t *body, struct api_hotplug_add *out,
		      char *err, size_t errlen)
{
	struct device_hot_body b = {.owner = d, .items = &out->items};

	request_of(d, out);
	int r = d->api->ext->add_body(body, &b, err, errlen);
	snprintf(out->id, sizeof(out->id), "%s", b.id);
	out->size = b.size;
	out->dev = b.owner;
	out->vhost_user = b.owner != d;
	return r;
}

int api_hotplug_route_parse(const char *route, const json_t *body, struct api_hotplug_add *out,
			    char *err, size_t errlen)
{
	const struct device_desc *d = device_table_add_route(route);
	if (!d) {
		*out = (struct api_hotplug_add){0};
		return -ENOENT;
	}
	return api_hotplug_parse(d, body, out, err, errlen);
}

int api_hotplug_disk_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			   size_t errlen)
{
	return api_hotplug_route_parse("/vmm/vm.add-disk", body, out, err, errlen);
}

int api_hotplug_net_parse(const json_t *body, struct api_hotplug_add *out, char *err, size_t errlen)
{
	return api_hotplug_route_parse("/vmm/vm.add-net", body, out, err, errlen);
}

int api_hotplug_vsock_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			    size_t errlen)
{
	return api_hotplug_route_parse("/vmm/vm.add-vsock", body, out, err, errlen);
}

int api_hotplug_pmem_parse(const json_t *body, struct api_hotplug_add *out, char *err,
			   size_t errlen)
{
	return api_hotplug_route_parse("/vmm/vm.add-pmem", body, out, err, errlen);
}

int api_hotplug_fs_parse(const json_t *body, struct api_hotplug_add *out, char *err, size_t errlen)
{
	return api_hotplug_route_parse("/vmm/vm.add-fs", body, out, err, errlen);
}

/* The items without id= into out (the backend adds the id, as for Cloud Hypervisor's). */
static int items_without_id(const struct opt_items *items, struct api_hotplug_add *out, char *err,
			    size_t errlen)
{
	for (size_t i = 0; i < items->n; i++) {
		if (strcmp(items->v[i].key, "id") &&
		    opt_items_add(&out->items, items->v[i].key, items->v[i].value)) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int api_hotplug_from_record(const struct device_desc *d, const struct opt_items *items,
			    struct api_hotplug_add *out, char *err, size_t errlen)
{
	int k = opt_items_find(items, "id");
	request_of(d, out);
	snprintf(out->id, sizeof(out->id), "%s", k >= 0 ? items->v[k].value : "");
	return items_without_id(items, out, err, errlen);
}

int api_hotplug_from_items(const char *section, const char *id, const struct opt_items *items,
			   bool vhost_user, struct api_hotplug_add *out, char *err, size_t errlen)
{
	const struct device_desc *d = device_table_section(section);
	if (!d || !d->hotplug || !d->api->ext || !d->api->ext->fc_add_check)
		return -ENOENT;
	request_of(d, out);
	if (api_json_check_id(id, err, errlen))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", id);
	/* the device's own checks of its record (a root device, a vhost-user one) */
	int r = items_without_id(items, out, err, errlen);
	if (!r && d->api->ext->fc_add_check(id, &out->items, vhost_user, err, errlen))
		r = -EINVAL;
	if (r)
		return r;
	out->vhost_user = vhost_user;
	out->dev = vhost_user ? device_table_hotplug_alt(d) : d;
	return 0;
}

void api_hotplug_add_free(struct api_hotplug_add *a)
{
	opt_items_free(&a->items);
}

int api_hotplug_add_spec(const struct api_hotplug_add *a, char *buf, size_t len)
{
	return opt_items_format(&a->items, a->dev ? a->dev->record_head : NULL, buf, len);
}

int api_hotplug_remove_parse(const json_t *body, struct api_hotplug_remove *out, char *err,
			     size_t errlen)
{
	*out = (struct api_hotplug_remove){0};
	if (api_json_check(body, remove_fields, err, errlen))
		return -EINVAL;
	const char *id = api_json_str(body, "id", "");
	if (api_json_check_id(id, err, errlen))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", id);
	uint64_t t = api_json_uint(body, "timeout_ms", 0);
	if (json_object_get(body, "timeout_ms") && (t < 1 || t > API_HOTPLUG_MAX_TIMEOUT_MS)) {
		snprintf(err, errlen, "timeout_ms: 1 to %u", API_HOTPLUG_MAX_TIMEOUT_MS);
		return -EINVAL;
	}
	out->timeout_ms = (unsigned)t;
	return 0;
}

json_t *api_hotplug_info_json(const char *id, int slot)
{
	char bdf[32];
	snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", (unsigned)slot & 0x1f);
	return json_pack("{s:s, s:s}", "id", id, "bdf", bdf);
}
