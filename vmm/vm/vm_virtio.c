/* virtio-mmio windows of the VM (virtio 1.2, 4.2; Linux's virtio_mmio.device= parameter). */
#include "vmm/vm/vm_virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vmm/vm/vm.h"

static int wire_slot(struct vm *vm, struct virtio_mmio_slot *s)
{
	int err = io_bus_register(&vm->mmio, s->base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &s->regs,
				  s->dev->name);
	if (err)
		return err;
	s->on_bus = true;
	err = virtio_kvm_bind_kicks(&vm->kvm, s->dev, s->base + VIRTIO_MMIO_QUEUE_NOTIFY, false);
	if (err)
		return err;
	s->kicks_bound = true;
	return virtio_kvm_irq_init(&s->irq, &vm->kvm, s->dev, s->gsi);
}

int vm_virtio_add(struct vm *vm, struct virtio_dev *dev)
{
	struct vm_virtio *v = vm->virtio;
	if (v->count == VIRTIO_MMIO_MAX) {
		log_error("%s: no free virtio-mmio window (at most %d devices)", dev->name,
			  VIRTIO_MMIO_MAX);
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return -ENOSPC;
	}
	int i = v->count++;
	struct virtio_mmio_slot *s = &v->slots[i];
	s->dev = dev;
	s->base = VIRTIO_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_SIZE;
	s->gsi = VIRTIO_MMIO_IRQ(i);
	s->irq.irq_fd = s->irq.resample_fd = -1;
	virtio_mmio_init(&s->regs, dev);
	machine_add_virtio_mmio(&vm->machine, s->base, VIRTIO_MMIO_SIZE, s->gsi);
	int err = wire_slot(vm, s);
	if (err)
		log_error("%s: cannot attach at 0x%llx: %s", dev->name, (unsigned long long)s->base,
			  strerror(-err));
	return err;
}

void vm_virtio_dev_free(struct virtio_dev *dev)
{
	free(dev);
}

int vm_virtio_start(struct vm *vm)
{
	struct vm_virtio *v = vm->virtio;
	for (int i = 0; v && i < v->count; i++) {
		int err = virtio_dev_start(v->slots[i].dev);
		if (err)
			return err;
		v->slots[i].started = true;
	}
	return 0;
}

void vm_virtio_destroy(struct vm *vm)
{
	struct vm_virtio *v = vm->virtio;
	if (!v)
		return;
	for (int i = 0; i < v->count; i++) {
		struct virtio_mmio_slot *s = &v->slots[i];
		if (s->kicks_bound)
			virtio_kvm_unbind_kicks(&vm->kvm, s->dev,
						s->base + VIRTIO_MMIO_QUEUE_NOTIFY, false);
		if (s->on_bus)
			io_bus_unregister(&vm->mmio, s->base);
		virtio_dev_destroy(s->dev);
		virtio_kvm_irq_destroy(&s->irq);
		vm_virtio_dev_free(s->dev);
	}
	free(v);
	vm->virtio = NULL;
}
