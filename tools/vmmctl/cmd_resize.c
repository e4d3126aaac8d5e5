/* vmmctl resize: PUT /vmm/vm.resize with Cloud Hypervisor's VmResize body (vCPUs only here). */
#include <jansson.h>

#include "tools/vmmctl/commands.h"

#define MAX_VCPUS      64     /* vmm/api/api_resize.h */
#define MAX_TIMEOUT_MS 600000 /* vmm/api/api_resize.h */

int cmd_resize(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *vcpus = arg_opt(a, "vcpus"), *timeout = arg_opt(a, "timeout-ms");
	long long count = 0, ms = 0;

	if (!vcpus)
		return cmd_fail(e, n, "%s: --vcpus N is required", a->cmd);
	if (cmd_parse_int(vcpus, 1, MAX_VCPUS, &count))
		return cmd_fail(e, n, "%s: --vcpus wants 1-%d, not '%s'", a->cmd, MAX_VCPUS, vcpus);
	if (timeout && cmd_parse_int(timeout, 1, MAX_TIMEOUT_MS, &ms))
		return cmd_fail(e, n, "%s: --timeout-ms wants 1-%d, not '%s'", a->cmd,
				MAX_TIMEOUT_MS, timeout);
	cmd_set(r, "PUT", "/vmm/vm.resize", VIEW_NONE);
	r->body = json_pack("{s:I}", "desired_vcpus", (json_int_t)count);
	if (timeout)
		json_object_set_new(r->body, "timeout_ms", json_integer(ms));
	return 0;
}
