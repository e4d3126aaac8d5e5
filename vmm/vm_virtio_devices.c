/* Which virtio devices the VM gets, from the configuration, in this order: disks (so the first
 * --disk is /dev/vda), NICs (eth0, ...), the console, the rng. */
#include <stdlib.h>

#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vconsole.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_virtio.h"

static int add_disks(struct vm *vm)
{
	for (int i = 0; i < vm->cfg->ndisks; i++) {
		struct virtio_dev *dev;
		int err = virtio_blk_create(&dev, &vm->cfg->disks[i], &vm->mem);
		if (err)
			return err;
		err = vm_virtio_add(vm, dev);
		if (err)
			return err;
	}
	return 0;
}

/* Devices built without guest memory: initialise, then place. */
static int add_initialised(struct vm *vm, struct virtio_dev *dev)
{
	int err = virtio_dev_init(dev, &vm->mem);
	if (err) {
		virtio_dev_destroy(dev);
		free(dev);
		return err;
	}
	return vm_virtio_add(vm, dev);
}

int vm_virtio_create_devices(struct vm *vm)
{
	int err = add_disks(vm);
	for (int i = 0; !err && i < vm->cfg->nnics; i++) {
		struct virtio_dev *dev;
		err = virtio_net_create(&dev, &vm->cfg->nics[i]);
		if (!err)
			err = add_initialised(vm, dev);
	}
	if (!err && vm->cfg->virtio_console) {
		struct virtio_dev *dev;
		err = virtio_console_create(&dev, vm_devices_console(vm));
		if (!err)
			err = add_initialised(vm, dev);
	}
	if (!err && vm->cfg->rng) {
		struct virtio_dev *dev;
		err = virtio_rng_create(&dev, &vm->cfg->rng_opts);
		if (!err)
			err = add_initialised(vm, dev);
	}
	return err;
}
