/* The host resources a device's record names. See device_paths.h. */
#include "vmm/descriptors/device_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/descriptors/device_record.h"

unsigned device_path_access(enum device_path_kind kind)
{
	switch (kind) {
	case DEVICE_PATH_KIND_READ:
	case DEVICE_PATH_KIND_FOLDER:
		return DEVICE_PATH_READ;
	case DEVICE_PATH_KIND_WRITE:
	case DEVICE_PATH_KIND_SOCKET:
		return DEVICE_PATH_READ | DEVICE_PATH_WRITE;
	case DEVICE_PATH_KIND_CREATE:
	case DEVICE_PATH_KIND_LISTEN:
		return DEVICE_PATH_WRITE | DEVICE_PATH_CREATE;
	case DEVICE_PATH_KIND_TAP:
		return 0;
	}
	return DEVICE_PATH_READ | DEVICE_PATH_WRITE | DEVICE_PATH_CREATE;
}

/* The value of `key` in `items` ("" for a flag), or NULL: none. */
static const char *value_of(const struct opt_items *items, const char *key)
{
	int i = key ? opt_items_find(items, key) : -1;
	if (i < 0)
		return NULL;
	return items->v[i].value ? items->v[i].value : "";
}

/* Whether field `f`'s file is read-only in `items`: its ro_item alone or "on". */
static bool made_read_only(const struct device_path_field *f, const struct opt_items *items)
{
	const char *v = value_of(items, f->ro_item);
	return v && (!v[0] || !strcmp(v, "on"));
}

struct one {
	device_path_fn cb;
	void *ctx;
	struct device_path p;
};

/* cb() of the path s[0..n). */
static int yield(struct one *o, const char *s, size_t n)
{
	char *path = strndup(s, n);
	if (!path)
		return -ENOMEM;
	o->p.path = path;
	int r = o->cb(&o->p, o->ctx);
	free(path);
	return r;
}

/* cb() of each path field `f`'s value `v` names. */
static int field_paths(struct one *o, const struct device_path_field *f, const char *v)
{
	size_t skip = f->prefix ? strlen(f->prefix) : 0;
	if (skip && strncmp(v, f->prefix, skip))
		return 0; /* the value names no path (a console's kind=stdio) */
	v += skip;
	if (!f->separator)
		return yield(o, v, strlen(v));
	int r = 0;
	while (!r && *v) {
		size_t n = strcspn(v, (char[]){f->separator, '\0'});
		r = n ? yield(o, v, n) : 0; /* an empty element names nothing */
		v += v[n] ? n + 1 : n;
	}
	return r;
}

int device_record_paths(const struct device_desc *d, const struct opt_items *items, int index,
			device_path_fn cb, void *ctx)
{
	const struct device_paths *ps = d->paths;
	char id[80] = "";
	const char *named = ps ? value_of(items, ps->id_item) : NULL;
	if (named)
		snprintf(id, sizeof(id), "%s", named);
	else if (ps && ps->id_stem && index >= 0)
		snprintf(id, sizeof(id), "%s%d", ps->id_stem, index);
	struct one o = {.cb = cb, .ctx = ctx, .p = {.id = id}};
	int r = 0;
	for (const struct device_path_field *f = ps ? ps->fields : NULL; !r && f && f->item; f++) {
		const char *v = value_of(items, f->item);
		if (!v)
			continue;
		o.p.field = f;
		o.p.kind = f->kind == DEVICE_PATH_KIND_WRITE && made_read_only(f, items)
			       ? DEVICE_PATH_KIND_READ
			       : f->kind;
		o.p.access = device_path_access(o.p.kind);
		r = field_paths(&o, f, v);
	}
	return r;
}

/* device_record_paths() of each instance of device `d` in `cfg`. */
static int instances_paths(const struct vm_config *cfg, const struct device_desc *d,
			   device_path_fn cb, void *ctx)
{
	int r = 0, n = d->record_count(cfg);
	for (int i = 0; !r && i < n; i++) {
		struct opt_items items = {0};
		enum virtio_transport t = cfg->transport;
		r = d->record_items(cfg, i, &items, &t) ? -ENOMEM : 0;
		if (!r)
			r = device_record_paths(d, &items, i, cb, ctx);
		opt_items_free(&items);
	}
	return r;
}

int device_config_paths(const struct vm_config *cfg, device_path_fn cb, void *ctx)
{
	int r = 0;
	for (int i = 0; !r && device_table[i]; i++)
		if (device_table[i]->paths && device_record_known(device_table[i]))
			r = instances_paths(cfg, device_table[i], cb, ctx);
	return r;
}
