/* Memory hotplug bodies and documents. See api_memhp.h. */
#include "vmm/api/api_memhp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_memhp.h"

#define MIB	(1ull << 20)
#define MAX_MIB (VIRTIO_MEM_MAX_REGION / MIB)

int api_memhp_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"requested_size_mib", API_JSON_UINT, true},
						  {NULL, 0, false}};

	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	*mib = api_json_uint(body, "requested_size_mib", 0);
	if (*mib > MAX_MIB) {
		snprintf(err, errlen, "requested_size_mib must be at most total_size_mib");
		return -EINVAL;
	}
	return 0;
}

static json_t *doc(uint64_t total, uint64_t slot, uint64_t block, uint64_t plugged,
		   uint64_t requested)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "total_size_mib", (json_int_t)total,
			 "slot_size_mib", (json_int_t)slot, "block_size_mib", (json_int_t)block,
			 "plugged_size_mib", (json_int_t)plugged, "requested_size_mib",
			 (json_int_t)requested);
}

json_t *api_memhp_json(const struct virtio_mem_info *i)
{
	return doc(i->region_size / MIB, i->slot_size / MIB, i->block_size / MIB,
		   i->plugged_size / MIB, i->requested_size / MIB);
}
