/* PUT /vmm/vm.resize (api_resize.h): a running VM only; a paused one could not answer (its
 * guest brings up and ejects nothing), and a snapshot is taken of a paused VM, so none is under
 * way. */
#include "vmm/api/api_resize.h"
#include "vmm/api/api_router_internal.h"

static void put_resize(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	struct api_resize req;
	(void)id;
	if (api_resize_parse(body, &req, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	if (!after_start(a, r))
		return;
	if (a->state == API_PAUSED) {
		fault(r, 400,
		      "The VM is paused: resume it before resizing it (the guest must see the "
		      "change).",
		      NULL);
		return;
	}
	if (!a->ops->resize) {
		fault(r, 400, "vCPU hotplug is not available in this VMM", NULL);
		return;
	}
	int err = a->ops->resize(a->ctx, &req, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot resize the VM");
	else
		r->status = 204;
}

const struct route api_routes_resize[] = {
    {"/vmm/vm.resize", false, {NULL, put_resize, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
