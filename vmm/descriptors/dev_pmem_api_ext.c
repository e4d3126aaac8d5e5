/* A pmem device added to a running VM through the API (device_api.ext): Cloud Hypervisor's
 * PUT /vmm/vm.add-pmem body (PmemConfig: "file", a multiple of 2 MiB whose whole is the window;
 * "size", the file's, if given; "discard_writes", the window read-only; "id", "iommu" false,
 * "pci_segment" 0), Firecracker's hot-add of one (PUT /pmem/{id} after InstanceStart), and its
 * check of the file at PUT. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/pmem/pmem.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_hot_body.h"

static const struct api_json_field pmem_fields[] = {
    {"file", API_JSON_STRING, true},
    {"size", API_JSON_UINT, false},
    {"iommu", API_JSON_BOOL, false},
    {"discard_writes", API_JSON_BOOL, false},
    {"id", API_JSON_STRING, false},
    {"pci_segment", API_JSON_UINT, false},
    {NULL, 0, false},
};

static int add_body(const json_t *body, struct device_hot_body *out, char *err, size_t errlen)
{
	if (api_json_check(body, pmem_fields, err, errlen) ||
	    dev_hot_common(body, out, false, err, errlen))
		return -EINVAL;
	const char *file = api_json_str(body, "file", "");
	if (dev_hot_safe("file", file, err, errlen))
		return -EINVAL;
	if (strlen(file) >= VIRTIO_PMEM_PATH_MAX) {
		snprintf(err, errlen, "file: shorter than %d bytes", VIRTIO_PMEM_PATH_MAX);
		return -EINVAL;
	}
	/* the window is the whole file (vmm/vm/pmem_file.h): a size only confirms it */
	out->size = api_json_uint(body, "size", 0);
	if (json_object_get(body, "size") && (!out->size || out->size % VIRTIO_PMEM_ALIGN)) {
		snprintf(err, errlen, "size: a non-zero multiple of 2 MiB (the file's size)");
		return -EINVAL;
	}
	int r = dev_hot_add(out, "path", file, err, errlen);
	/* Cloud Hypervisor maps such a file privately; here its window is read-only */
	if (!r && api_json_bool(body, "discard_writes", false))
		r = dev_hot_add(out, "ro", NULL, err, errlen);
	return r;
}

static int fc_add_check(const char *id, const struct opt_items *items, bool vhost_user, char *err,
			size_t errlen)
{
	return dev_hot_fc_common(id, items, vhost_user, false, err, errlen);
}

/* A PUT /pmem opens the file, as Firecracker does. */
static bool checked_at_put(const json_t *doc)
{
	return !json_object_get(doc, "socket");
}

const struct device_api_ext dev_pmem_api_ext = {
    .add_route = "/vmm/vm.add-pmem",
    .add_body = add_body,
    .fc_add_check = fc_add_check,
    .checked_at_put = checked_at_put,
    .patch = &dev_pmem_patch,
};
