/* The API's id rule. The schema checks are vmm/config/json_body.h. See api_json.h. */
#include "vmm/descriptors/api_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/blk/options.h"

int api_json_check_id(const char *id, char *err, size_t errlen)
{
	size_t n = strlen(id);
	if (n == 0 || n >= VIRTIO_BLK_DRIVE_ID_MAX) {
		snprintf(err, errlen, "the id must have 1 to %d characters",
			 VIRTIO_BLK_DRIVE_ID_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= ' ' || c > '~' || c == '/' || c == ',') {
			snprintf(err, errlen, "the id has a character that is not allowed");
			return -EINVAL;
		}
	}
	return 0;
}
