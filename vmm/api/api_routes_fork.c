/* PUT /vmm/fork: a running or paused VM's state captured for children that the client starts
 * (docs/sandboxes.md, "Live fork"; vmm/snapshot/fork.h). See api_router.h. */
#include "vmm/api/api_router_internal.h"

static void put_fork(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (!after_start(a, r))
		return;
	if (!a->ops->fork) {
		fault(r, 400, "live fork is not available in this VMM", NULL);
		return;
	}
	int err = a->ops->fork(a->ctx, body, &r->doc, r->err, sizeof(r->err));
	if (err)
		backend_fault(r, err, "cannot fork the VM");
}

const struct route api_routes_fork[] = {
    {"/vmm/fork", false, {NULL, put_fork, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
