/* A virtio-fs device added to a running VM through the API (device_api.ext): Cloud Hypervisor's
 * PUT /vmm/vm.add-fs body (FsConfig: "tag" and "socket", the virtio-fs tag and the vhost-user
 * back-end's socket as --fs; "num_queues", "queue_size" a power of two, "id", "pci_segment" 0). */
#include <errno.h>
#include <stdio.h>

#include "virtio/fs/fs.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hot_body.h"

static const struct api_json_field fs_fields[] = {
    {"tag", API_JSON_STRING, true},
    {"socket", API_JSON_STRING, true},
    {"num_queues", API_JSON_UINT, false},
    {"queue_size", API_JSON_UINT, false},
    {"id", API_JSON_STRING, false},
    {"pci_segment", API_JSON_UINT, false},
    {NULL, 0, false},
};

/* The request queues and their size. 0 or -EINVAL. */
static int queues(uint64_t nq, uint64_t qs, char *err, size_t errlen)
{
	if (nq < 1 || nq > VIRTIO_FS_MAX_REQUEST_QUEUES) {
		snprintf(err, errlen, "num_queues: 1 to %d", VIRTIO_FS_MAX_REQUEST_QUEUES);
		return -EINVAL;
	}
	if (qs < 2 || qs > VIRTIO_FS_DEFAULT_QSIZE || (qs & (qs - 1))) { /* virtio 1.2 2.7 */
		snprintf(err, errlen, "queue_size: a power of two, 2 to %d",
			 VIRTIO_FS_DEFAULT_QSIZE);
		return -EINVAL;
	}
	return 0;
}

static int add_body(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	if (api_json_check(body, fs_fields, err, errlen) ||
	    dev_hot_common(body, out, true, err, errlen))
		return -EINVAL;
	const char *tag = api_json_str(body, "tag", "");
	const char *socket = api_json_str(body, "socket", "");
	if (dev_hot_item("tag", tag, VIRTIO_FS_TAG_MAX, err, errlen) ||
	    dev_hot_item("socket", socket, sizeof(((struct virtio_fs_opts *)0)->socket) - 1, err,
			 errlen))
		return -EINVAL;
	uint64_t nq = api_json_uint(body, "num_queues", 1);
	uint64_t qs = api_json_uint(body, "queue_size", VIRTIO_FS_DEFAULT_QSIZE);
	if (queues(nq, qs, err, errlen))
		return -EINVAL;
	/* the --fs record (virtio_fs_opts_from_items() builds the device from it) */
	int r = dev_hot_add(out, "tag", tag, err, errlen);
	if (!r)
		r = dev_hot_add(out, "socket", socket, err, errlen);
	if (!r)
		r = dev_hot_add_num(out, "num-queues", nq, err, errlen);
	return r ? r : dev_hot_add_num(out, "queue-size", qs, err, errlen);
}

const struct device_api_ext dev_fs_api_ext = {
    .add_route = "/vmm/vm.add-fs",
    .add_body = add_body,
};
