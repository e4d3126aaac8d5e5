/* Memory hotplug and pmem in the API, in Firecracker's terms: PUT|PATCH|GET /hotplug/memory
 * (virtio-mem) and PUT /pmem/{id} (virtio-pmem). The pre-boot configuration in the model, request
 * bodies and the documents answered; pure code like api_balloon.h. The router (api_router.c)
 * decides the state, the backend (control.c) reaches the device (virtio/mem/mem.h). */
#ifndef VMM_API_MEMHP_H
#define VMM_API_MEMHP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/mem/mem.h"
#include "virtio/pmem/pmem.h"
#include "vmm/machine/cli.h"

#define API_MAX_PMEM	8
#define API_PMEM_ID_MAX 64

struct api_pmem {
	char id[API_PMEM_ID_MAX];
	char *path; /* owned */
	bool root, ro;
};

/* PATCH /hotplug/memory: {"requested_size_mib"}. Sets *mib. 0 or -EINVAL. */
int api_memhp_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen);
/* GET /hotplug/memory: total, slot and block sizes, plugged_size_mib and requested_size_mib
 * (MiB), from the live device (before start the model's document answers: PUT
 * /hotplug/memory is vmm/machine/dev_memhp.c's). */
json_t *api_memhp_json(const struct virtio_mem_info *i);

/* PUT /pmem/{id}: {"id", "path_on_host", "root_device"?, "read_only"?}; a known id is replaced,
 * one root device at most (`drive_root`: a drive is the root already), no comma in the path (the
 * option syntax cannot carry one). 0 or -EINVAL / -ENOSPC / -ENOMEM with a message. */
int api_pmem_put(struct api_pmem *list, int *n, const char *id, const json_t *body, bool drive_root,
		 char *err, size_t errlen);
/* The "--pmem" argument of one device, its id included (a snapshot replays it: the id comes
 * back after a load). 0 or -ENOSPC. */
int api_pmem_spec(const struct api_pmem *p, char *spec, size_t len);
/* The "pmem" array of GET /vm/config and the config file. */
json_t *api_pmem_json(const struct api_pmem *list, int n);
void api_pmem_free(struct api_pmem *list, int *n);

#endif
