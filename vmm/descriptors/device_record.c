/* Devices' records as JSON (see device_record.h). */
#include "vmm/descriptors/device_record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "vmm/config/record_json.h"

#define TRANSPORT_KEY "transport"

bool device_record_known(const struct device_desc *d)
{
	return d->record_count && d->record_items && d->record_add;
}

int device_record_parse(const struct device_desc *d, struct vm_config *cfg, const char *arg,
			char *err, size_t errlen)
{
	struct opt_items items;
	int r = opts_split(arg, d->record_head, &items, err, errlen);
	if (!r)
		r = d->record_add(cfg, &items, err, errlen);
	opt_items_free(&items);
	return r;
}

json_t *device_record_instance(const struct vm_config *cfg, const struct device_desc *d, int i)
{
	struct opt_items items = {0};
	enum virtio_transport t = cfg->transport;
	json_t *rec = NULL;
	if (!d->record_items(cfg, i, &items, &t))
		rec = record_json_from_items(&items);
	opt_items_free(&items);
	if (rec && json_object_set_new(rec, TRANSPORT_KEY,
				       json_string(t == TRANSPORT_PCI ? "pci" : "mmio"))) {
		json_decref(rec);
		rec = NULL;
	}
	return rec;
}

int device_record_spec(const struct vm_config *cfg, const struct device_desc *d, int i, char *arg,
		       size_t len)
{
	struct opt_items items = {0};
	enum virtio_transport t = cfg->transport;
	int r = d->record_items(cfg, i, &items, &t);
	if (!r)
		r = opt_items_format(&items, d->record_head, arg, len);
	opt_items_free(&items);
	return r;
}

json_t *device_record_to_json(const struct vm_config *cfg, const struct device_desc *d)
{
	json_t *arr = json_array();
	int n = arr ? d->record_count(cfg) : 0;
	for (int i = 0; arr && i < n; i++) {
		json_t *rec = device_record_instance(cfg, d, i);
		if (!rec || json_array_append_new(arr, rec)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* The "transport" member of `rec`, if any, into *t. 0 or -EINVAL. */
static int transport_of(const json_t *rec, enum virtio_transport *t, char *err, size_t errlen)
{
	const json_t *v = json_object_get(rec, TRANSPORT_KEY);
	const char *s = json_string_value(v);
	if (!v)
		return 0;
	if (s && !strcmp(s, "pci"))
		*t = TRANSPORT_PCI;
	else if (s && !strcmp(s, "mmio"))
		*t = TRANSPORT_MMIO;
	else
		return parse_fail(err, errlen, "member '%s': expected \"pci\" or \"mmio\"",
				  TRANSPORT_KEY);
	return 0;
}

int device_record_from_json(struct vm_config *cfg, const struct device_desc *d, const json_t *rec,
			    char *err, size_t errlen)
{
	static const char *const skip[] = {TRANSPORT_KEY, NULL};
	struct opt_items items = {0};
	enum virtio_transport t = cfg->transport, was = cfg->transport;
	if (!device_record_known(d))
		return parse_fail(err, errlen, "%s: no record", d->name);
	int r = transport_of(rec, &t, err, errlen);
	if (!r)
		r = record_json_to_items(rec, skip, &items, err, errlen);
	if (!r && d->record_head && opt_items_find(&items, d->record_head) > 0) {
		/* the head first, as the option string has it */
		int i = opt_items_find(&items, d->record_head);
		struct opt_item head = items.v[i];
		memmove(&items.v[1], &items.v[0], (size_t)i * sizeof(items.v[0]));
		items.v[0] = head;
	}
	if (!r) {
		cfg->transport = t;
		r = d->record_add(cfg, &items, err, errlen);
		cfg->transport = was;
	}
	opt_items_free(&items);
	return r;
}

int device_record_of_doc(const struct device_desc *d, const json_t *doc, struct opt_items *out,
			 const struct device_desc **owner)
{
	*out = (struct opt_items){0};
	*owner = d;
	int r = d->api->to_items(doc, out, owner);
	if (r)
		opt_items_free(out);
	return r;
}

int device_record_doc_spec(const struct device_desc *d, const json_t *doc, char *arg, size_t len)
{
	struct opt_items items;
	const struct device_desc *owner;
	int r = device_record_of_doc(d, doc, &items, &owner);
	if (!r)
		r = opt_items_format(&items, owner->record_head, arg, len);
	opt_items_free(&items);
	return r;
}

const struct device_desc *device_records_next(const struct vm_config *cfg,
					      const struct device_desc *after)
{
	int i = 0;
	while (after && device_table[i] && device_table[i++] != after)
		; /* i is past `after` */
	for (; device_table[i]; i++)
		if (device_record_known(device_table[i]) && device_table[i]->record_count(cfg))
			return device_table[i];
	return NULL;
}

json_t *device_records(const struct vm_config *cfg)
{
	json_t *doc = json_object();
	for (const struct device_desc *d = device_records_next(cfg, NULL); doc && d;
	     d = device_records_next(cfg, d)) {
		json_t *arr = device_record_to_json(cfg, d);
		if (!arr || json_object_set_new(doc, d->name, arr)) {
			json_decref(doc);
			doc = NULL;
		}
	}
	return doc;
}

/* The descriptor with a record named `name`, or NULL. */
static const struct device_desc *by_name(const char *name)
{
	for (int i = 0; device_table[i]; i++)
		if (device_record_known(device_table[i]) && !strcmp(device_table[i]->name, name))
			return device_table[i];
	return NULL;
}

static int load_device(struct vm_config *cfg, const struct device_desc *d, const json_t *arr,
		       char *err, size_t errlen)
{
	char why[512];
	size_t i;
	json_t *rec;
	if (!json_is_array(arr))
		return parse_fail(err, errlen, "%s: expected an array of records", d->name);
	json_array_foreach(arr, i, rec)
	{
		int r = device_record_from_json(cfg, d, rec, why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "%s[%zu]: %s", d->name, i, why);
			return r;
		}
	}
	return 0;
}

int device_records_load(struct vm_config *cfg, const json_t *doc, char *err, size_t errlen)
{
	const char *name;
	json_t *arr;
	if (!json_is_object(doc))
		return parse_fail(err, errlen, "the devices' records are an object");
	json_object_foreach((json_t *)doc, name, arr)
	{
		if (!by_name(name))
			return parse_fail(err, errlen, "%s: no device of that name has a record",
					  name);
	}
	for (int i = 0; device_table[i]; i++) {
		const json_t *a = json_object_get(doc, device_table[i]->name);
		int r = a && device_record_known(device_table[i])
			    ? load_device(cfg, device_table[i], a, err, errlen)
			    : 0;
		if (r)
			return r;
	}
	return 0;
}
