/* The descriptor-driven devices of the API model. See api_devices.h. */
#include "vmm/api/api_devices.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/api/api_model.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_record.h"

static int nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* The id a document has (NULL for a device without ids). */
static const char *doc_id(const struct device_desc *d, const json_t *doc)
{
	return d->api->id_field ? api_json_str(doc, d->api->id_field, "") : NULL;
}

/* "--OPTION ARG" for a message that quotes the record as the option it is (into q). */
static void quote_option(const struct device_desc *owner, const struct opt_items *items, char *q,
			 size_t len)
{
	int n = snprintf(q, len, "--%s ", owner->options[0].name);
	if (n > 0 && (size_t)n < len)
		(void)opt_items_format(items, owner->record_head, q + n, len - (size_t)n);
}

/* Adds the record `doc` stands for to `cfg` through its device's checks. err: "ID: reason" (or
 * "SECTION: reason"), or, quoting (a core section's in a trial), "--OPTION ARG: reason". */
static int apply(struct vm_config *cfg, const struct device_desc *d, const json_t *doc, bool quote,
		 char *err, size_t errlen)
{
	char why[512] = "", q[600];
	const char *id = doc_id(d, doc);
	const char *name = id ? id : d->api->section;
	const struct device_desc *owner;
	struct opt_items items;
	int r = device_record_of_doc(d, doc, &items, &owner);
	if (r)
		return nomem(err, errlen);
	r = owner->record_add(cfg, &items, why, sizeof(why));
	if (r && quote) {
		quote_option(owner, &items, q, sizeof(q));
		snprintf(err, errlen, "%s: %s", q, why[0] ? why : strerror(-r));
	} else if (r) {
		snprintf(err, errlen, "%s: %s", name, why[0] ? why : strerror(-r));
	}
	opt_items_free(&items);
	return r;
}

int api_devices_apply(struct vm_config *cfg, const struct device_desc *d, const json_t *doc,
		      char *err, size_t errlen)
{
	return apply(cfg, d, doc, false, err, errlen);
}

static bool is_root(const struct device_desc *d, const json_t *doc)
{
	return d->api->root_field && api_json_bool(doc, d->api->root_field, false);
}

/* Device d's documents in `value` (an object or an array) into `cfg`, in their order, or, with
 * `root_first`, the root document before the others (InstanceStart: a device with a root_arg hook).
 */
static int apply_all(struct vm_config *cfg, const struct device_desc *d, const json_t *value,
		     bool root_first, bool quote, char *err, size_t errlen)
{
	size_t k;
	json_t *doc;
	int r = 0;

	if (!value)
		return 0;
	if (!json_is_array(value))
		return apply(cfg, d, value, quote, err, errlen);

	for (int pass = root_first ? 0 : 1; pass < 2; pass++) {
		json_array_foreach(value, k, doc)
		{
			if (!r && (!root_first || is_root(d, doc) == (pass == 0)))
				r = apply(cfg, d, doc, quote, err, errlen);
		}
	}
	return r;
}

/* Whether device t's documents go into the trial of a PUT of device d (device_api.core). */
static bool tried_with(const struct device_desc *d, const struct device_desc *t)
{
	return t != d && t->api && t->api->core && d->api->core;
}

/* Device d's documents in `value` (an object or an array), with those of the device it is tried
 * with in the model, through their parsers in a configuration of their own: what the option
 * parser refuses (a duplicate, one too many, a vhost-user socket given twice). */
static int trial(const struct api_model *m, const struct device_desc *d, const json_t *value,
		 char *err, size_t errlen)
{
	bool quote = d->api->core;
	struct vm_config cfg;
	int r = 0;

	vm_config_init(&cfg);
	for (int i = 0; !r && device_table[i]; i++) {
		const struct device_desc *t = device_table[i];
		if (t == d)
			r = apply_all(&cfg, d, value, false, quote, err, errlen);
		else if (tried_with(d, t))
			r = apply_all(&cfg, t, api_devices_doc(m, t->api->section), false,
				      t->api->core, err, errlen);
	}
	cli_free(&cfg);
	if (quote && r && r != -ENOMEM)
		return -EINVAL;
	return r;
}

/* `section` of m with `doc` laid in: a new reference to the whole value, or NULL. */
static json_t *with_doc(const struct api_model *m, const struct device_desc *d, json_t *doc)
{
	if (!d->api->id_field && !d->api->each_put_adds)
		return json_incref(doc);
	const json_t *old = m->devices ? json_object_get(m->devices, d->api->section) : NULL;
	json_t *list = old ? json_copy((json_t *)old) : json_array();
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		if (d->api->id_field && !strcmp(doc_id(d, item), doc_id(d, doc)))
			break;
	}
	if (!list || (i < json_array_size(list) ? json_array_set(list, i, doc)
						: json_array_append(list, doc))) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* The id from the path and the body's id_field must agree (Firecracker's rule for drives). */
static int check_ids(const struct device_desc *d, const char *id, const json_t *body,
		     const json_t *doc, char *err, size_t errlen)
{
	const char *in_body = api_json_str(body, d->api->id_field, NULL);
	if (id && in_body && strcmp(id, in_body)) {
		snprintf(err, errlen, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	return api_json_check_id(doc_id(d, doc), err, errlen);
}

const char *api_devices_root(const struct api_model *m, const struct device_desc *except,
			     const char *except_id, const struct device_desc **dev)
{
	for (int i = 0; m->devices && device_table[i]; i++) {
		const struct device_desc *d = device_table[i];
		const json_t *v = d->api ? json_object_get(m->devices, d->api->section) : NULL;
		size_t k;
		json_t *doc;

		if (dev)
			*dev = d;
		if (v && !json_is_array(v) && is_root(d, v) && d != except)
			return d->api->section;
		json_array_foreach(v, k, doc)
		{
			const char *id = doc_id(d, doc);
			if (is_root(d, doc) &&
			    !(d == except && except_id && !strcmp(id, except_id)))
				return id;
		}
	}
	if (dev)
		*dev = NULL;
	return NULL;
}

/* One root device at most: a document that makes its device the root, when another device's
 * document (or another document of its own) already does. */
static int check_root(const struct api_model *m, const struct device_desc *d, const json_t *doc,
		      char *err, size_t errlen)
{
	const struct device_desc *od;
	const char *other;

	if (!is_root(d, doc))
		return 0;
	other = api_devices_root(m, d, doc_id(d, doc), &od);
	if (!other)
		return 0;
	if (od != d && od->api->root_taken)
		snprintf(err, errlen, "%s", od->api->root_taken);
	else
		snprintf(err, errlen, "A root device is already configured: %s", other);
	return -EINVAL;
}

/* The checks of a PUT on device `d`'s route alone (no trial, nothing kept): sets *doc (a new
 * reference) to the document it would keep. Returns 0, or -EINVAL / -ENOMEM with the message in
 * err (*doc NULL). */
static int api_devices_check(const struct api_model *m, const struct device_desc *d, const char *id,
			     const json_t *body, json_t **doc, char *err, size_t errlen)
{
	const char *self = id		      ? id
			   : d->api->id_field ? api_json_str(body, d->api->id_field, NULL)
					      : NULL;
	struct device_api_ctx ctx = {.mem_mib = m->mem_mib,
				     .docs = api_devices_doc(m, d->api->section),
				     .mmds = m->mmds_set ? &m->mmds : NULL};
	int r = 0;

	*doc = NULL;
	ctx.root_id = api_devices_root(m, d, self, &ctx.root_dev);
	if (id && d->api->id_field)
		r = api_json_check_id(id, err, errlen);
	if (!r)
		r = d->api->check(body, id, &ctx, doc, err, errlen);
	if (!r && d->api->id_field)
		r = check_ids(d, id, body, *doc, err, errlen);
	if (!r)
		r = check_root(m, d, *doc, err, errlen);
	if (r) {
		json_decref(*doc);
		*doc = NULL;
	}
	return r;
}

/* Lays the checked `doc` into m after the trial. */
static int keep(struct api_model *m, const struct device_desc *d, json_t *doc, char *err,
		size_t errlen)
{
	json_t *value = with_doc(m, d, doc);
	int r;

	if (!value)
		return nomem(err, errlen);
	r = trial(m, d, value, err, errlen);
	if (!r && !m->devices && !(m->devices = json_object()))
		r = nomem(err, errlen);
	if (!r && json_object_set(m->devices, d->api->section, value))
		r = nomem(err, errlen);
	json_decref(value);
	return r;
}

int api_devices_try(const struct api_model *m, const struct device_desc *d, const char *id,
		    const json_t *body, json_t **doc, char *err, size_t errlen)
{
	int r = api_devices_check(m, d, id, body, doc, err, errlen);
	json_t *value = r ? NULL : with_doc(m, d, *doc);

	if (!r && !value)
		r = nomem(err, errlen);
	if (!r)
		r = trial(m, d, value, err, errlen);
	json_decref(value);
	if (r) {
		json_decref(*doc);
		*doc = NULL;
	}
	return r;
}

int api_devices_put(struct api_model *m, const struct device_desc *d, const char *id,
		    const json_t *body, char *err, size_t errlen)
{
	json_t *doc;
	int r = api_devices_check(m, d, id, body, &doc, err, errlen);

	if (!r)
		r = keep(m, d, doc, err, errlen);
	json_decref(doc);
	return r;
}

void api_devices_fields(struct api_json_field *f, int *n, int max)
{
	for (int i = 0; device_table[i] && *n < max; i++) {
		const struct device_api *api = device_table[i]->api;
		if (api)
			f[(*n)++] = (struct api_json_field){
			    api->section,
			    api->id_field || api->each_put_adds ? API_JSON_ARRAY : API_JSON_OBJECT,
			    false};
	}
	f[*n] = (struct api_json_field){NULL, 0, false};
}

/* One section of the config file: an object (one PUT) or an array (a PUT per element, ids or
 * not). */
static int load_section(struct api_model *m, const struct device_desc *d, const json_t *v,
			char *err, size_t errlen)
{
	char why[API_FAULT_MAX] = "";
	size_t i;
	json_t *item;

	if (!d->api->id_field && !d->api->each_put_adds) {
		int r = api_devices_put(m, d, NULL, v, why, sizeof(why));
		if (r)
			snprintf(err, errlen, "%s: %s", d->api->section, why);
		return r;
	}
	json_array_foreach(v, i, item)
	{
		const char *id =
		    d->api->id_field ? api_json_str(item, d->api->id_field, NULL) : NULL;
		int r = api_devices_put(m, d, id, item, why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "%s[%zu]: %s", d->api->section, i, why);
			return r;
		}
	}
	return 0;
}

int api_devices_load(struct api_model *m, const json_t *root, bool core, char *err, size_t errlen)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_desc *d = device_table[i];
		const json_t *v =
		    d->api && d->api->core == core ? json_object_get(root, d->api->section) : NULL;
		int r = v ? load_section(m, d, v, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}

/* The core sections in table order, each shown ([] for an empty one with ids). */
static int core_json(const struct api_model *m, json_t *j)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api *api = device_table[i]->api;
		const json_t *v = api && api->core ? api_devices_doc(m, api->section) : NULL;
		json_t *shown = v				    ? json_incref((json_t *)v)
				: api && api->core && api->id_field ? json_array()
								    : NULL;
		if (shown && json_object_set_new(j, api->section, shown))
			return -ENOMEM;
	}
	return 0;
}

int api_devices_json(const struct api_model *m, json_t *j, bool core)
{
	const char *section;
	json_t *v;

	if (core)
		return core_json(m, j);
	/* the others in the order they were first put */
	json_object_foreach(m->devices, section, v)
	{
		const struct device_desc *d = device_table_section(section);
		if ((!d || !d->api->core) && json_object_set(j, section, v))
			return -ENOMEM;
	}
	return 0;
}

int api_devices_describe(struct api_model *m, const struct vm_config *cfg)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api *api = device_table[i]->api;
		json_t *v = api ? api->describe(cfg) : NULL;
		if (!v)
			continue;
		if ((!m->devices && !(m->devices = json_object())) ||
		    json_object_set_new(m->devices, api->section, v))
			return -ENOMEM;
	}
	return 0;
}

int api_devices_build(struct vm_config *cfg, const struct api_model *m, char *err, size_t errlen)
{
	for (int i = 0; m->devices && device_table[i]; i++) {
		const struct device_desc *d = device_table[i];
		const json_t *v = d->api ? json_object_get(m->devices, d->api->section) : NULL;
		int r = v ? apply_all(cfg, d, v, d->api->root_arg != NULL, false, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}

const json_t *api_devices_doc(const struct api_model *m, const char *section)
{
	return m->devices ? json_object_get(m->devices, section) : NULL;
}

void api_devices_doc_set(struct api_model *m, const char *section, const char *member,
			 json_t *value)
{
	json_t *doc = m->devices ? json_object_get(m->devices, section) : NULL;
	if (json_is_object(doc))
		json_object_set(doc, member, value);
	json_decref(value);
}
