/* --rng: a virtio-rng fed from getrandom() (virtio/rng/rng.h). The model for a new device: its
 * configuration lives in its own block (device_cfg()), not in struct vm_config. */
#include "vmm/machine/dev_rng.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "vmm/machine/vm.h"

static int parse_rng(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_rng_cfg *c = device_cfg(cfg, &device_rng);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (virtio_rng_parse_opts(arg, &c->opts)) {
		snprintf(err, errlen, "expected rate=BYTES_PER_SEC[,burst=BYTES]");
		return -EINVAL;
	}
	c->transport = cfg->transport;
	return 0;
}

static int create_rng(struct vm *vm)
{
	const struct dev_rng_cfg *c = device_cfg_find(vm->cfg, &device_rng);
	if (!c)
		return 0;
	struct virtio_dev *dev = NULL;
	int err = virtio_rng_create(&dev, &c->opts);
	return err ? err : vm_virtio_init_and_place(vm, dev, c->transport);
}

static const struct device_option rng_options[] = {
    {"rng", optional_argument,
     "      --rng[=rate=BYTES_PER_SEC[,burst=BYTES]]\n"
     "                        a virtio-rng fed from getrandom(), optionally rate limited\n",
     parse_rng},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_rng = {.name = "rng",
				       .options = rng_options,
				       .create = create_rng,
				       .cfg_size = sizeof(struct dev_rng_cfg)};
