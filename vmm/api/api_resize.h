/* PUT /vmm/vm.resize (Cloud Hypervisor's route and VmResize body under our /vmm/ prefix): the
 * body checked; pure code like api_hotplug.h. The router (api_routes_resize.c) decides the
 * state; the backend (control_resize.c, vmm/vm/cpu_hotplug.h) changes the vCPUs.
 *
 *   {"desired_vcpus": N, "timeout_ms"?: T}
 * N: 1..64 (the VM's maximum, --cpus max=M, is the backend's to check); T (ours): how long a
 * shrink waits for the guest's ejects, 1..600000 ms, default VM_CPUHP_REMOVE_TIMEOUT_MS.
 * Cloud Hypervisor's "desired_ram" and "desired_balloon" are refused with a pointer to what
 * resizes memory here (PATCH /hotplug/memory, PATCH /balloon); a body without desired_vcpus is
 * refused. Answers 204. */
#ifndef VMM_API_RESIZE_H
#define VMM_API_RESIZE_H

#include <jansson.h>
#include <stddef.h>

#define API_RESIZE_MAX_VCPUS	  64
#define API_RESIZE_MAX_TIMEOUT_MS 600000u

struct api_resize {
	unsigned desired_vcpus;
	unsigned timeout_ms; /* 0: the default */
};

/* 0, or -EINVAL with the reason in err. */
int api_resize_parse(const json_t *body, struct api_resize *out, char *err, size_t errlen);

#endif
