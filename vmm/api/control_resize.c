/* The router's resize backend (api_router.h's resize): the vCPUs changed on a running VM
 * (vmm/vm/cpu_hotplug.h) and the new count recorded where GET /vm/config reads it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vmm/api/control_internal.h"
#include "vmm/vm/cpu_hotplug.h"

/* The configuration's --cpus record and the model say how many vCPUs are present now. */
static void record_vcpus(struct control *c)
{
	unsigned now = vm_cpuhp_present(&c->vm), max = vm_cpuhp_max(&c->vm);
	char arg[32];
	snprintf(arg, sizeof(arg), "boot=%u,max=%u", now, max);
	c->cfg->ncpus = now;
	c->api.model.vcpus = now;
	for (int i = 0; i < c->cfg->nrecorded; i++) {
		struct cli_record *r = &c->cfg->recorded[i];
		if (strcmp(r->name, "cpus"))
			continue;
		char *copy = strdup(arg);
		if (!copy) {
			log_warn(
			    "vCPU hotplug: the configuration keeps the old count (out of memory)");
			return;
		}
		free(r->arg);
		r->arg = copy;
	}
}

int ctl_resize(void *ctx, const struct api_resize *req, char *err, size_t errlen)
{
	struct control *c = ctx;
	if (!c->vm_created)
		return -ENODEV;
	if (ctl_refuse_for_migration(
		c,
		"a live migration of this VM is running: resize it after it (or "
		"cancel it)",
		err, errlen))
		return -EBUSY;
	int r = vm_cpuhp_resize(&c->vm, req->desired_vcpus, req->timeout_ms, err, errlen);
	if (vm_cpuhp_enabled(&c->vm)) /* a shrink that timed out may have ejected some */
		record_vcpus(c);
	return r;
}

int ctl_refuse_for_cpu_hotplug(struct control *c, char *err, size_t errlen)
{
	return c->vm_created ? vm_cpuhp_check_snapshot(&c->vm, err, errlen) : 0;
}
