/* The live changes the router asks for (PATCH /drives, /network-interfaces, /balloon,
 * /balloon/statistics, /hotplug/memory) and the live reads beside them: each goes to its device's
 * descriptor (struct device_live, vmm/descriptors/device_table.h), which reaches the device
 * model and keeps the configuration a snapshot saves in step. What stays here is what only the
 * backend knows: which device a model document is, the migration that refuses a recorded
 * change, and the broker for a change that opens a file. See control_internal.h. */
#include <errno.h>
#include <string.h>

#include "host/sandbox/broker.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/vm/hotplug.h"

/* One change to instance `index` of device `d`, on this thread. */
static int live_set_here(struct control *c, const struct device_desc *d, int index,
			 struct device_live_set *s, char *err, size_t errlen)
{
	const struct device_live *l = d->api->live;

	if (!c->vm_created)
		return -ENODEV;
	if (l->recorded && ctl_refused_while_migrating(c, err, errlen))
		return -EBUSY;
	return l->set(&c->vm, c->cfg, index, s, err, errlen);
}

struct live_call {
	struct control *c;
	const struct device_desc *d;
	int index;
	struct device_live_set *s;
	char *err;
	size_t errlen;
};

static int call_live_set(void *arg)
{
	struct live_call *k = arg;
	return live_set_here(k->c, k->d, k->index, k->s, k->err, k->errlen);
}

/* A change that names a file the device opens runs on the broker (host/sandbox/broker.h): the
 * API thread opens no file itself. */
static int live_set(struct control *c, const struct device_desc *d, int index,
		    struct device_live_set *s, char *err, size_t errlen)
{
	const char *opens = d->api->live->opens_file;
	struct live_call k = {c, d, index, s, err, errlen};

	if (opens && !strcmp(opens, s->member))
		return sandbox_broker_run(call_live_set, &k);
	return call_live_set(&k);
}

/* The model's document `index` of a device whose live changes name it so
 * (device_api_ext.live_by_doc), or NULL. */
static const json_t *model_doc(const struct control *c, const struct device_desc *d, int index)
{
	if (!d->api->ext || !d->api->ext->live_by_doc || index < 0)
		return NULL;
	return json_array_get(api_devices_doc(&c->api.model, d->api->section), (size_t)index);
}

int ctl_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		 char *err, size_t errlen)
{
	struct control *c = ctx;
	const json_t *doc = model_doc(c, d, index);

	if (!d->api->ext || !d->api->ext->live_by_doc) /* the change names its instance */
		return live_set(c, d, 0, s, err, errlen);
	const char *id = api_json_str(doc, d->api->id_field, "");
	if (doc && c->vm_created && vm_hotplug_has_id(&c->vm, id)) /* a hot-added one's model */
		return ctl_hotplug_live_set_of(c, d, id, s, err, errlen);
	/* a document of another descriptor's record (a vhost-user drive) has no instance here */
	return live_set(c, d, doc ? device_api_instance(d, c->cfg, doc) : -1, s, err, errlen);
}

int ctl_live_get(void *ctx, const struct device_desc *d, const char *view, json_t **doc)
{
	struct control *c = ctx;
	return c->vm_created && d->api->live->get ? d->api->live->get(&c->vm, view, doc) : -ENODEV;
}
