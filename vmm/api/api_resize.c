/* PUT /vmm/vm.resize's body (see api_resize.h). */
#include "vmm/api/api_resize.h"

#include <errno.h>
#include <stdio.h>

#include "vmm/descriptors/api_json.h"

static const struct api_json_field resize_fields[] = {
    {"desired_vcpus", API_JSON_UINT, false},
    {"desired_ram", API_JSON_UINT, false},
    {"desired_balloon", API_JSON_UINT, false},
    {"timeout_ms", API_JSON_UINT, false},
    {NULL, 0, false},
};

int api_resize_parse(const json_t *body, struct api_resize *out, char *err, size_t errlen)
{
	*out = (struct api_resize){0};
	if (api_json_check(body, resize_fields, err, errlen))
		return -EINVAL;
	if (json_object_get(body, "desired_ram") || json_object_get(body, "desired_balloon")) {
		snprintf(err, errlen,
			 "desired_ram and desired_balloon are not resized here: memory is resized "
			 "with PATCH /hotplug/memory (virtio-mem) and PATCH /balloon");
		return -EINVAL;
	}
	if (!json_object_get(body, "desired_vcpus")) {
		snprintf(err, errlen, "desired_vcpus is missing");
		return -EINVAL;
	}
	uint64_t n = api_json_uint(body, "desired_vcpus", 0);
	if (n < 1 || n > API_RESIZE_MAX_VCPUS) {
		snprintf(err, errlen, "desired_vcpus must be between 1 and %d",
			 API_RESIZE_MAX_VCPUS);
		return -EINVAL;
	}
	uint64_t t = api_json_uint(body, "timeout_ms", 0);
	if (json_object_get(body, "timeout_ms") && (t < 1 || t > API_RESIZE_MAX_TIMEOUT_MS)) {
		snprintf(err, errlen, "timeout_ms: 1 to %u", API_RESIZE_MAX_TIMEOUT_MS);
		return -EINVAL;
	}
	out->desired_vcpus = (unsigned)n;
	out->timeout_ms = (unsigned)t;
	return 0;
}
