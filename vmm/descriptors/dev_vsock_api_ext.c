/* A vsock added to a running VM through the API (device_api.ext): Cloud Hypervisor's PUT
 * /vmm/vm.add-vsock body (VsockConfig: "cid" 3..4294967294, "socket" the host-side Unix socket
 * as --vsock uds=, "id", "iommu" false, "pci_segment" 0; one vsock per VM), and Firecracker's
 * check at PUT /vsock of the socket's folder. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/vsock/vsock.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hot_body.h"

static const struct api_json_field vsock_fields[] = {
    {"cid", API_JSON_UINT, true},	   {"socket", API_JSON_STRING, true},
    {"id", API_JSON_STRING, false},	   {"iommu", API_JSON_BOOL, false},
    {"pci_segment", API_JSON_UINT, false}, {NULL, 0, false},
};

static int add_body(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	if (api_json_check(body, vsock_fields, err, errlen) ||
	    dev_hot_common(body, out, false, err, errlen))
		return -EINVAL;
	uint64_t cid = api_json_uint(body, "cid", 0);
	if (cid < 3 || cid > 0xfffffffeull) { /* virtio 1.2 5.10.4: 0-2 are reserved */
		snprintf(err, errlen, "cid: 3 to 4294967294 (0-2 are reserved)");
		return -EINVAL;
	}
	const char *socket = api_json_str(body, "socket", "");
	if (dev_hot_safe("socket", socket, err, errlen))
		return -EINVAL;
	if (strlen(socket) > VIRTIO_VSOCK_UDS_MAX) { /* its "_PORT" sockets must fit sun_path */
		snprintf(err, errlen, "socket: at most %u bytes", VIRTIO_VSOCK_UDS_MAX);
		return -EINVAL;
	}
	int r = dev_hot_add_num(out, "cid", cid, err, errlen);
	return r ? r : dev_hot_add(out, "uds", socket, err, errlen);
}

/* A PUT /vsock checks the socket's folder, as Firecracker binds it at PUT. */
static bool checked_at_put(const json_t *doc)
{
	return !json_object_get(doc, "socket");
}

const struct device_api_ext dev_vsock_api_ext = {
    .add_route = "/vmm/vm.add-vsock",
    .add_body = add_body,
    .checked_at_put = checked_at_put,
};
