/* The live changes the router asks for (PATCH /drives, /network-interfaces, /balloon,
 * /balloon/statistics, /hotplug/memory) and the live reads beside them: each goes to its device's
 * descriptor (struct device_live, vmm/descriptors/device_table.h), which reaches the device
 * model and keeps the configuration a snapshot saves in step. What stays here is what only the
 * backend knows: which device a model document is, the migration that refuses a recorded
 * change, and the broker for a change that opens a file. See control_internal.h. */
#include <errno.h>
#include <string.h>

#include "host/sandbox/broker.h"
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
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

/* The instance of device `d` that the model's document `index` is: a drive's disk (-1 for a
 * vhost-user disk, which has no in-process device), a NIC's place among the NICs; 0 for a device
 * without ids. */
static int instance_of(const struct control *c, const struct device_desc *d, int index)
{
	const struct api_model *m = &c->api.model;

	if (d == &device_disk)
		return index >= 0 && index < API_MAX_DRIVES ? c->disk_index[index] : -1;
	if (d == &device_net)
		return index >= 0 && index < api_model_count(m, &dev_net_api)
			   ? ctl_nic_cfg_index(c, m, index)
			   : -1;
	return 0;
}

int ctl_live_set(void *ctx, const struct device_desc *d, int index, struct device_live_set *s,
		 char *err, size_t errlen)
{
	struct control *c = ctx;
	const json_t *doc = d == &device_disk  ? api_model_drive(&c->api.model, index)
			    : d == &device_net ? api_model_nic(&c->api.model, index)
					       : NULL;
	const char *id = api_json_str(doc, d == &device_disk ? "drive_id" : "iface_id", "");
	if (doc && c->vm_created && vm_hotplug_has_id(&c->vm, id)) /* a hot-added one's model */
		return ctl_hotplug_live_set(c, id, d == &device_net, s, err, errlen);
	return live_set(c, d, instance_of(c, d, index), s, err, errlen);
}

int ctl_live_get(void *ctx, const struct device_desc *d, const char *view, json_t **doc)
{
	struct control *c = ctx;
	return c->vm_created && d->api->live->get ? d->api->live->get(&c->vm, view, doc) : -ENODEV;
}
