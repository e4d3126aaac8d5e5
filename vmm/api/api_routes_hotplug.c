/* Device hotplug (api_hotplug.h): PUT /vmm/vm.add-disk, /vmm/vm.add-net, /vmm/vm.remove-device,
 * Cloud Hypervisor's routes under our /vmm/ prefix. A running VM only: a paused one could not
 * answer (its guest releases nothing, a new device's thread would run while its peers are
 * parked), and a snapshot is taken of a paused VM, so none is under way. */
#include <errno.h>

#include "vmm/api/api_hotplug.h"
#include "vmm/api/api_router_internal.h"

#define NO_HOTPLUG "device hotplug is not available in this VMM"

/* Running, not paused, and a backend that plugs. */
static bool may_plug(struct api *a, struct reply *r)
{
	if (!after_start(a, r))
		return false;
	if (a->state == API_PAUSED) {
		fault(r, 400,
		      "The VM is paused: resume it before adding or removing a device (the guest "
		      "must see the change).",
		      NULL);
		return false;
	}
	if (!a->ops->hotplug_add || !a->ops->hotplug_remove) {
		fault(r, 400, NO_HOTPLUG, NULL);
		return false;
	}
	return true;
}

static void add(struct api *a, const struct api_hotplug_add *req, struct reply *r)
{
	char id[API_HOTPLUG_ID_MAX];
	int slot = -1;
	if (!may_plug(a, r))
		return;
	int err = a->ops->hotplug_add(a->ctx, req, id, &slot, r->err, sizeof(r->err));
	if (err) {
		backend_fault(r, err, "cannot add the device");
		return;
	}
	r->doc = api_hotplug_info_json(id, slot);
	r->status = 200;
}

static void put_add_disk(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_hotplug_add req;
	(void)id;
	if (api_hotplug_disk_parse(body, &req, r->err, sizeof(r->err)))
		r->status = 400;
	else
		add(a, &req, r);
}

static void put_add_net(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_hotplug_add req;
	(void)id;
	if (api_hotplug_net_parse(body, &req, r->err, sizeof(r->err)))
		r->status = 400;
	else
		add(a, &req, r);
}

static void put_remove(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_hotplug_remove req;
	(void)id;
	if (api_hotplug_remove_parse(body, &req, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!may_plug(a, r))
		return;
	int err = a->ops->hotplug_remove(a->ctx, &req, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot remove the device");
	else
		r->status = 204;
}

const struct route api_routes_hotplug[] = {
    {"/vmm/vm.add-disk", false, {NULL, put_add_disk, NULL}, false},
    {"/vmm/vm.add-net", false, {NULL, put_add_net, NULL}, false},
    {"/vmm/vm.remove-device", false, {NULL, put_remove, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
