/* A device's PUT: what its document names on the host, checked when the request is made, as
 * Firecracker does (it opens a NIC's tap and binds a vsock's socket at PUT, and opens a pmem
 * file): the device's own check hook (struct device_desc.check, the one the command line's
 * options go through before KVM), over a configuration holding that document alone. A tap must
 * exist already: Firecracker does not make one (where it has the capability to, the TUNSETIFF it
 * opens the tap with would, so a missing tap is looked for first). See control_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/control_internal.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_net.h"

/* The sections whose PUT looks at the host. A vhost-user device (a "socket" member) is not
 * looked at: its back-end may start after the PUT (docs/vhost-user.md). */
static bool checked_at_put(const struct device_desc *d, const json_t *doc)
{
	static const char *const sections[] = {"network-interfaces", "vsock", "pmem", "serial"};
	if (!d->check || json_object_get(doc, "socket"))
		return false;
	/* a drive that follows backing files: its chain under its own rules (the plain file check
	 * of host_file knows only the path and the mode) */
	if (!strcmp(d->api->section, "drives"))
		return json_is_true(json_object_get(doc, "backing_files"));
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strcmp(d->api->section, sections[i]))
			return true;
	return false;
}

/* A NIC's tap exists and is a tun/tap device (sysfs has its tun_flags). Where /sys/class/net
 * cannot be seen (a jail without /sys) the tap's open decides alone. */
static int tap_exists(const char *name, char *err, size_t errlen)
{
	char path[128];
	struct stat st;

	if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".") ||
	    stat("/sys/class/net", &st))
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/%.64s", name);
	if (stat(path, &st)) {
		snprintf(err, errlen,
			 "host_dev_name `%s`: no such network interface (create the tap first, "
			 "e.g. ip tuntap add %s mode tap)",
			 name, name);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%.64s/tun_flags", name);
	if (stat(path, &st)) {
		snprintf(err, errlen, "host_dev_name `%s` is not a tap device", name);
		return -ENODEV;
	}
	return 0;
}

/* The taps of the NICs in `cfg` (a NIC on user-mode networking has none). */
static int taps_exist(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < dev_net_count(cfg); i++) {
		const struct virtio_net_opts *o = dev_net_opts(cfg, i);
		int r = o->kind == VIRTIO_NET_TAP ? tap_exists(o->ifname, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}

int ctl_check_device(const struct device_desc *d, const json_t *doc, char *err, size_t errlen)
{
	struct vm_config cfg;
	int r;

	if (!checked_at_put(d, doc))
		return 0;
	vm_config_init(&cfg);
	r = api_devices_apply(&cfg, d, doc, err, errlen);
	if (!r && d == &device_net)
		r = taps_exist(&cfg, err, errlen);
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
