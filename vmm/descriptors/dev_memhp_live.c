/* The running virtio-mem device through the API (struct device_live): PATCH /hotplug/memory
 * {"requested_size_mib"} asks the guest to plug or unplug; GET /hotplug/memory is its document.
 * Not recorded in --memory-hotplug: the option gives the region, and how much of it the guest
 * plugged is the device's state, which a snapshot keeps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_memhp.h"

#define MIB	(1ull << 20)
#define MAX_MIB (VIRTIO_MEM_MAX_REGION / MIB)

static int memhp_live_check(const char *view, const json_t *body, struct device_live_set *s,
			    char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"requested_size_mib", API_JSON_UINT, true},
						  {NULL, 0, false}};

	(void)view;
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	*s = (struct device_live_set){.member = "requested_size_mib",
				      .num = api_json_uint(body, "requested_size_mib", 0)};
	if (s->num > MAX_MIB) {
		snprintf(err, errlen, "requested_size_mib must be at most total_size_mib");
		return -EINVAL;
	}
	return 0;
}

int dev_memhp_live_doc(const struct virtio_mem_info *i, const char *view, json_t **doc)
{
	(void)view;
	*doc = json_pack("{s:I, s:I, s:I, s:I, s:I}", "total_size_mib",
			 (json_int_t)(i->region_size / MIB), "slot_size_mib",
			 (json_int_t)(i->slot_size / MIB), "block_size_mib",
			 (json_int_t)(i->block_size / MIB), "plugged_size_mib",
			 (json_int_t)(i->plugged_size / MIB), "requested_size_mib",
			 (json_int_t)(i->requested_size / MIB));
	return *doc ? 0 : -ENOMEM;
}

static int memhp_live_get(struct vm *vm, const char *view, json_t **doc)
{
	struct virtio_dev *dev = dev_memhp_find(vm);
	struct virtio_mem_info info;

	if (!dev)
		return -ENODEV;
	virtio_mem_get_info(dev, &info);
	return dev_memhp_live_doc(&info, view, doc);
}

static int memhp_live_set(struct vm *vm, struct vm_config *cfg, int index,
			  struct device_live_set *s, char *err, size_t errlen)
{
	struct virtio_dev *dev = dev_memhp_find(vm);

	(void)cfg, (void)index;
	if (!dev)
		return -ENODEV;
	if (virtio_mem_set_requested(dev, s->num << 20)) {
		snprintf(err, errlen, "requested_size_mib %llu does not fit the region",
			 (unsigned long long)s->num);
		return -EINVAL;
	}
	return 0;
}

const struct device_live dev_memhp_live = {
    .check = memhp_live_check,
    .get = memhp_live_get,
    .set = memhp_live_set,
};
