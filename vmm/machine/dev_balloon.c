/* --balloon: a virtio-balloon (virtio/balloon/balloon.h) whose target the API can change. */
#include "vmm/machine/dev_balloon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "vmm/machine/vm.h"

/* Given again (a second --balloon, or PUT /balloon over the command line's), the last one wins. */
static int parse_balloon(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_balloon_cfg *c = device_cfg(cfg, &device_balloon);
	struct virtio_balloon_opts o;
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = virtio_balloon_parse_opts(arg, &o, err, errlen);
	if (rc)
		return rc;
	c->opts = o;
	c->transport = cfg->transport;
	return 0;
}

static int create_balloon(struct vm *vm)
{
	const struct dev_balloon_cfg *c = device_cfg_find(vm->cfg, &device_balloon);
	struct virtio_dev *dev = NULL;
	int err;

	if (!c)
		return 0;
	err = virtio_balloon_create(&dev, &c->opts, vm->cfg->mem_size);
	return err ? err : vm_virtio_init_and_place(vm, dev, c->transport);
}

static int pick_balloon(struct virtio_dev *dev, void *opaque)
{
	if (!virtio_balloon_is(dev))
		return 0;
	*(struct virtio_dev **)opaque = dev;
	return 1;
}

struct virtio_dev *dev_balloon_find(struct vm *vm)
{
	struct virtio_dev *found = NULL;

	vm_for_each_virtio_dev(vm, pick_balloon, &found);
	return found;
}

static const struct device_option balloon_options[] = {
    {"balloon", required_argument,
     "      --balloon size=MIB[,stats=Ns][,deflate-on-oom=on|off][,free-page-reporting=on|off]\n"
     "                        a virtio-balloon asking the guest for MIB of its RAM (default 0;\n"
     "                        PATCH /balloon changes it), guest statistics every N seconds\n",
     parse_balloon},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_balloon = {.name = "balloon",
					   .options = balloon_options,
					   .create = create_balloon,
					   .cfg_size = sizeof(struct dev_balloon_cfg)};
