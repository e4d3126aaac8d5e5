/* libFuzzer target: PUT /vmm/vm.resize's body (vmm/api/api_resize.c), Cloud Hypervisor's
 * VmResize, as untrusted JSON. Invariants: a refusal says why; an accepted body has
 * desired_vcpus in 1..API_RESIZE_MAX_VCPUS and a timeout of 0 (the default) or in range, and had
 * neither desired_ram nor desired_balloon. */
#include <jansson.h>
#include <stdio.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "vmm/api/api_resize.h"
#include "vmm/descriptors/api_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	json_t *body = api_json_parse((const char *)data, size, err, sizeof(err));
	if (!body)
		return 0;
	struct api_resize req;
	err[0] = '\0';
	if (api_resize_parse(body, &req, err, sizeof(err))) {
		FZ_ASSERT(err[0], "a refusal without a reason");
	} else {
		FZ_ASSERT(req.desired_vcpus >= 1 && req.desired_vcpus <= API_RESIZE_MAX_VCPUS,
			  "desired_vcpus %u accepted", req.desired_vcpus);
		FZ_ASSERT(req.timeout_ms <= API_RESIZE_MAX_TIMEOUT_MS, "timeout out of range");
		FZ_ASSERT(!json_object_get(body, "desired_ram") &&
			      !json_object_get(body, "desired_balloon"),
			  "a memory resize accepted");
	}
	json_decref(body);
	return 0;
}
