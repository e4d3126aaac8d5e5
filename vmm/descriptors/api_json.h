/* The JSON bodies of the API (vmm/api) and of the device descriptors, which check their own
 * (vmm/descriptors/device_table.h): the strict schema checks (vmm/config/json_body.h, where a CPU
 * template's JSON finds them too) and the id rule of every device the API names. */
#ifndef VMM_MACHINE_API_JSON_H
#define VMM_MACHINE_API_JSON_H

#include <stddef.h>

#include "vmm/config/json_body.h"

/* The id rule of every device the API names (drives, NICs, vsock_id, pmem, fs): 1 to
 * VIRTIO_BLK_DRIVE_ID_MAX-1 printable ASCII characters, no space, '/' or ',' (it goes into a
 * path and an option argument). Returns 0 or -EINVAL with the reason. */
int api_json_check_id(const char *id, char *err, size_t errlen);

#endif
