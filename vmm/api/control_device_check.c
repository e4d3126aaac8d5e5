/* A device's PUT: what its document names on the host, checked when the request is made, as
 * Firecracker does (it opens a NIC's tap and binds a vsock's socket at PUT, and opens a pmem
 * file): the device's own check hook (struct device_desc.check, the one the command line's
 * options go through before KVM), and what its descriptor checks besides at PUT
 * (device_api_ext.put_check: a NIC's tap exists), over a configuration holding that document
 * alone. See control_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/control_internal.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_api_ext.h"

/* Whether the descriptor checks what the document names at PUT (device_api_ext). */
static bool checked_at_put(const struct device_desc *d, const json_t *doc)
{
	const struct device_api_ext *x = d->api->ext;
	return d->check && x && x->checked_at_put && x->checked_at_put(doc);
}

int ctl_check_device(const struct device_desc *d, const json_t *doc, char *err, size_t errlen)
{
	struct vm_config cfg;
	int r;

	if (!checked_at_put(d, doc))
		return 0;
	vm_config_init(&cfg);
	r = api_devices_apply(&cfg, d, doc, err, errlen);
	if (!r && d->api->ext->put_check)
		r = d->api->ext->put_check(&cfg, err, errlen);
	if (!r) {
		log_clear_last_error();
		r = d->check(&cfg);
		if (r)
			snprintf(err, errlen, "%s",
				 log_last_error()[0] ? log_last_error() : strerror(-r));
	}
	cli_free(&cfg);
	return r;
}
