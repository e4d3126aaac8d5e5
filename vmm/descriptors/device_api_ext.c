/* The generic lookups over the devices' further API hooks (device_api_ext.h). */
#include "vmm/descriptors/device_api_ext.h"

#include <string.h>

#include "vmm/descriptors/api_json.h"

/* The further hooks of table entry i, or NULL. */
static const struct device_api_ext *ext_of(int i)
{
	return device_table[i]->api ? device_table[i]->api->ext : NULL;
}

void device_table_preload(void)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api_ext *x = ext_of(i);
		if (x && x->preload)
			x->preload();
	}
}

const struct device_fork_disk *device_table_fork_disk(void)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api_ext *x = ext_of(i);
		if (x && x->fork_disk)
			return x->fork_disk;
	}
	return NULL;
}

const struct device_desc *device_table_add_route(const char *path)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api_ext *x = ext_of(i);
		if (x && x->add_route && x->add_body && !strcmp(x->add_route, path))
			return device_table[i];
	}
	return NULL;
}

const struct device_desc *device_table_hotplug_alt(const struct device_desc *own)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_desc *d = device_table[i];
		if (d != own && d->hotplug && own->api && d->hotplug->model == own->api)
			return d;
	}
	return NULL;
}

int device_table_host_file_check(const char *path, bool ro)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api_ext *x = ext_of(i);
		if (device_table[i]->api->host_file && x && x->host_file_check)
			return x->host_file_check(path, ro);
	}
	return 0;
}

int device_api_instance(const struct device_desc *d, const struct vm_config *cfg, const json_t *doc)
{
	const struct device_desc *owner = d;
	struct opt_items items = {0};

	if (!d->api->id_field)
		return 0;
	if (!doc || !d->hotplug || !d->hotplug->find)
		return -1;
	/* a document whose record is another descriptor's has no instance of d */
	int r = d->api->to_items ? d->api->to_items(doc, &items, &owner) : 0;
	opt_items_free(&items);
	if (r || owner != d)
		return -1;
	return d->hotplug->find(cfg, api_json_str(doc, d->api->id_field, ""));
}
