/* Which virtio devices the VM gets, from the configuration, in this order: disks (so the first
 * --disk is /dev/vda), NICs (eth0, ...), the console, the rng. */
#include <errno.h>
#include <stdlib.h>

#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vconsole.h"
#include "vmm/display_stack.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_pci.h"
#include "vmm/vm_virtio.h"

/* Places an initialised device on its transport; takes ownership. Returns 0 or
 * VMM_EXIT_ERROR. */
static int place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t)
{
	int err = t == TRANSPORT_PCI ? vm_pci_add_virtio(vm->pci, dev) : vm_virtio_add(vm, dev);
	return err ? VMM_EXIT_ERROR : 0;
}

static int add_disks(struct vm *vm)
{
	for (int i = 0; i < vm->cfg->ndisks; i++) {
		struct virtio_dev *dev;
		if (virtio_blk_create(&dev, &vm->cfg->disks[i], &vm->mem))
			return VMM_EXIT_USAGE;
		if (place(vm, dev, vm->cfg->disk_transport[i]))
			return VMM_EXIT_ERROR;
	}
	return 0;
}

/* Devices built without guest memory: initialise, then place. `created` is the create call's
 * result (called before this one, so `dev` is set): its failure is the user's (a missing file,
 * a tap that cannot be opened), the rest is ours. */
static int add_initialised(struct vm *vm, int created, struct virtio_dev *dev,
			   enum virtio_transport t)
{
	if (created)
		return VMM_EXIT_USAGE;
	if (virtio_dev_init(dev, &vm->mem)) {
		virtio_dev_destroy(dev);
		free(dev);
		return VMM_EXIT_ERROR;
	}
	return place(vm, dev, t);
}

/* display_stack_create()'s place callback: the display devices all use the transport in
 * effect at --display / --gpu. */
static int place_display_dev(void *opaque, struct virtio_dev *dev)
{
	struct vm *vm = opaque;
	return place(vm, dev, vm->cfg->display_transport);
}

static int add_display(struct vm *vm)
{
	if (!display_opts_wanted(&vm->cfg->display))
		return 0;
	int err =
	    display_stack_create(&vm->display, &vm->cfg->display, &vm->mem, place_display_dev, vm);
	return err == -EINVAL ? VMM_EXIT_USAGE : err ? VMM_EXIT_ERROR : 0;
}

int vm_virtio_create_devices(struct vm *vm)
{
	int err = add_disks(vm);
	for (int i = 0; !err && i < vm->cfg->nnics; i++) {
		struct virtio_dev *dev = NULL;
		int created = virtio_net_create(&dev, &vm->cfg->nics[i]);
		err = add_initialised(vm, created, dev, vm->cfg->nic_transport[i]);
	}
	if (!err && vm->cfg->virtio_console) {
		struct virtio_dev *dev = NULL;
		int created = virtio_console_create(&dev, vm_devices_console(vm));
		err = add_initialised(vm, created, dev, vm->cfg->console_transport);
	}
	if (!err && vm->cfg->rng) {
		struct virtio_dev *dev = NULL;
		int created = virtio_rng_create(&dev, &vm->cfg->rng_opts);
		err = add_initialised(vm, created, dev, vm->cfg->rng_transport);
	}
	if (!err)
		err = add_display(vm);
	return err;
}
