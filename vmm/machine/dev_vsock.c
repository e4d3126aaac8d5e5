/* --vsock cid=N,uds=PATH: a virtio-vsock with Firecracker's Unix-socket host side
 * (virtio/vsock/vsock.h). */
#include "vmm/machine/dev_vsock.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "vmm/base/log.h"
#include "vmm/machine/vm.h"

static int parse_vsock(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_vsock_cfg *c = device_cfg(cfg, &device_vsock);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (c->opts.cid) {
		snprintf(err, errlen, "only one vsock device");
		return -EINVAL;
	}
	int ret = virtio_vsock_parse_opts(arg, &c->opts, err, errlen);
	if (ret)
		return ret;
	c->transport = cfg->transport;
	return 0;
}

static int create_vsock(struct vm *vm)
{
	const struct dev_vsock_cfg *c = device_cfg_find(vm->cfg, &device_vsock);
	if (!c || !c->opts.cid)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_vsock_create(&dev, &c->opts);
	return err ? err : vm_virtio_init_and_place(vm, dev, c->transport);
}

/* Before KVM is opened: the socket's directory, so a bad path has its own message. */
static int check_vsock(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	char err[VIRTIO_VSOCK_UDS_MAX + 128];
	if (!c || !c->opts.cid)
		return 0;
	int r = virtio_vsock_check_opts(&c->opts, err, sizeof(err));
	if (r)
		log_error("%s", err);
	return r;
}

bool dev_vsock_configured(const struct vm_config *cfg)
{
	const struct dev_vsock_cfg *c = device_cfg_find(cfg, &device_vsock);
	return c && c->opts.cid;
}

void dev_vsock_unset(struct vm_config *cfg)
{
	struct dev_vsock_cfg *c = dev_vsock_configured(cfg) ? device_cfg(cfg, &device_vsock) : NULL;
	if (c)
		c->opts = (struct virtio_vsock_opts){0};
}

static const struct device_option vsock_options[] = {
    {"vsock", required_argument,
     "      --vsock cid=N,uds=PATH[,id=NAME]\n"
     "                        a virtio-vsock with guest CID N (>= 3); the guest's connections\n"
     "                        to host port P go to the Unix socket PATH_P, and host programs\n"
     "                        connect to PATH and write \"CONNECT <port>\\n\" to reach the guest;\n"
     "                        id=NAME is its name in the API (vsock_id)\n",
     parse_vsock},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_vsock = {.name = "vsock",
					 .options = vsock_options,
					 .check = check_vsock,
					 .create = create_vsock,
					 .cfg_size = sizeof(struct dev_vsock_cfg)};
