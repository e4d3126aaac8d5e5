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

struct api_memhp {
	bool set; /* PUT /hotplug/memory was given (or --memory-hotplug) */
	uint64_t total_mib, block_mib, slot_mib;
};

struct api_pmem {
	char id[API_PMEM_ID_MAX];
	char *path; /* owned */
	bool root, ro;
};

/* PUT /hotplug/memory: {"total_size_mib", "block_size_mib"?, "slot_size_mib"?} (defaults 2 and
 * 128), checked by Firecracker's rules (virtio_mem_check_opts()). 0 or -EINVAL with a message. */
int api_memhp_put(struct api_memhp *h, const json_t *body, char *err, size_t errlen);
/* PATCH /hotplug/memory: {"requested_size_mib"}. Sets *mib. 0 or -EINVAL. */
int api_memhp_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen);
/* GET /hotplug/memory: total, slot and block sizes, plugged_size_mib and requested_size_mib
 * (MiB), from the live device or the model before start (nothing plugged or requested). */
json_t *api_memhp_json(const struct virtio_mem_info *i);
json_t *api_memhp_model_json(const struct api_memhp *h);
/* The "--memory-hotplug" argument for the configuration at InstanceStart. 0 or -ENOSPC. */
int api_memhp_spec(const struct api_memhp *h, char *spec, size_t len);
/* The model's region of a VM configured on the command line (GET /vm/config). */
void api_memhp_from_config(struct api_memhp *h, const struct vm_config *cfg);

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
