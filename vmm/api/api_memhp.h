/* Memory hotplug in the API, in Firecracker's terms: PATCH|GET /hotplug/memory (virtio-mem; its
 * PUT and PUT /pmem/{id} are the devices' own hooks, vmm/descriptors/dev_memhp.c and dev_pmem.c).
 * Request bodies and the documents answered; pure code like api_balloon.h. The router
 * (api_router.c) decides the state, the backend (control.c) reaches the device (virtio/mem/mem.h).
 */
#ifndef VMM_API_MEMHP_H
#define VMM_API_MEMHP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/mem/mem.h"
#include "vmm/cli/cli.h"

/* PATCH /hotplug/memory: {"requested_size_mib"}. Sets *mib. 0 or -EINVAL. */
int api_memhp_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen);
/* GET /hotplug/memory: total, slot and block sizes, plugged_size_mib and requested_size_mib
 * (MiB), from the live device (before start the model's document answers: PUT
 * /hotplug/memory is vmm/descriptors/dev_memhp.c's). */
json_t *api_memhp_json(const struct virtio_mem_info *i);

#endif
