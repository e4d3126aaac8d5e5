/* MMDS (vmm/mmds/mmds.h): GET|PUT|PATCH /mmds, the store, at any time; PUT /mmds/config,
 * its configuration, before start. See api_router.h. */
#include <errno.h>

#include "vmm/api/api_router_internal.h"

static void mmds_result(struct reply *r, int err)
{
	if (err == -EFBIG)
		fault(r, 413, "MMDS limit exceeded error: %s", MMDS_MSG_TOO_LARGE);
	else if (err == -ENODATA)
		fault(r, 400, "MMDS error: %s", MMDS_MSG_NOT_INIT);
	else if (err)
		backend_fault(r, err, "MMDS error");
	else
		r->status = 204;
}

static void get_mmds(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id, (void)body;
	r->doc = mmds_get(&a->mmds);
	if (json_is_null(r->doc)) { /* Firecracker shows a null store (PUT /mmds null) as {} */
		json_decref(r->doc);
		r->doc = json_object();
	}
}

static void put_mmds(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	mmds_result(r, mmds_put(&a->mmds, body));
}

static void patch_mmds(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	mmds_result(r, mmds_patch(&a->mmds, body));
}

/* PUT /mmds/config: the model keeps it (GET /vm/config); the NICs it names answer MMDS from
 * InstanceStart on (control_config.c). */
static void put_mmds_config(struct api *a, const char *id, const json_t *body, struct reply *r)
{
	(void)id;
	if (!before_start(a, r))
		return;
	if (api_model_put_mmds_config(&a->model, body, r->err, sizeof(r->err))) {
		r->status = 400;
		return;
	}
	mmds_set_config(&a->mmds, &a->model.mmds);
	r->status = 204;
}

const struct route api_routes_mmds[] = {
    {"/mmds", false, {get_mmds, put_mmds, patch_mmds}, true},
    {"/mmds/config", false, {NULL, put_mmds_config, NULL}, false},
    {NULL, false, {NULL, NULL, NULL}, false},
};
