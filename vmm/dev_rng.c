/* --rng: a virtio-rng fed from getrandom() (virtio/rng.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "virtio/rng.h"
#include "vmm/device_table.h"
#include "vmm/vm.h"

static int parse_rng(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	if (virtio_rng_parse_opts(arg, &cfg->rng_opts)) {
		snprintf(err, errlen, "expected rate=BYTES_PER_SEC[,burst=BYTES]");
		return -EINVAL;
	}
	cfg->rng = true;
	cfg->rng_transport = cfg->transport;
	return 0;
}

static int create_rng(struct vm *vm)
{
	if (!vm->cfg->rng)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_rng_create(&dev, &vm->cfg->rng_opts);
	return err ? err : vm_virtio_init_and_place(vm, dev, vm->cfg->rng_transport);
}

static const struct device_option rng_options[] = {
    {"rng", optional_argument,
     "      --rng[=rate=BYTES_PER_SEC[,burst=BYTES]]\n"
     "                        a virtio-rng fed from getrandom(), optionally rate limited\n",
     parse_rng},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_rng = {"rng", rng_options, create_rng, NULL};
