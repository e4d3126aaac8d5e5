/* ioeventfd kicks and irqfd interrupts for virtio-mmio devices, through host/kvm/kvm_notify.h. */
#include "vmm/vm/virtio_kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

/* 4.2.2 QueueNotify: a 4-byte write of the queue index; one ioeventfd per queue (datamatch). */
static int ioeventfd(struct kvm *kvm, int fd, uint64_t addr, uint16_t q, bool pio, bool deassign)
{
	struct kvm_notify_kick k = {fd, addr, 4, pio, true, q};
	return kvm_notify_kick(kvm_notifier(kvm), &k, deassign);
}

int virtio_kvm_bind_kicks(struct kvm *kvm, struct virtio_dev *dev, uint64_t notify_addr, bool pio)
{
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		int err = ioeventfd(kvm, dev->kick_fd[q], notify_addr, q, pio, false);
		if (err) {
			log_error("%s: KVM_IOEVENTFD for queue %u: %s", dev->name, q,
				  strerror(-err));
			while (q-- > 0)
				ioeventfd(kvm, dev->kick_fd[q], notify_addr, q, pio, true);
			return err;
		}
	}
	return 0;
}

void virtio_kvm_unbind_kicks(struct kvm *kvm, struct virtio_dev *dev, uint64_t notify_addr,
			     bool pio)
{
	for (uint16_t q = 0; q < dev->num_queues; q++)
		ioeventfd(kvm, dev->kick_fd[q], notify_addr, q, pio, true);
}

static void fire(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("irqfd write: %s", strerror(errno));
}

static void raise_irq(void *opaque, uint16_t queue)
{
	(void)queue; /* one pin for the whole device: InterruptStatus says why */
	struct virtio_kvm_irq *irq = opaque;
	fire(irq->irq_fd);
}

/* The guest EOI'd the level interrupt: raise it again if still unacknowledged. Runs on the
 * device's I/O thread with the device lock held. */
static void resample(struct virtio_dev *dev, int fd, uint32_t revents)
{
	(void)revents;
	uint64_t count;
	if (read(fd, &count, sizeof(count)) < 0)
		return;
	struct virtio_kvm_irq *irq = dev->irq.opaque;
	if (virtio_dev_isr(dev))
		fire(irq->irq_fd);
}

static int assign_irqfd(struct virtio_kvm_irq *irq)
{
	return kvm_notify_irqfd(kvm_notifier(irq->kvm), irq->irq_fd, irq->gsi, irq->resample_fd);
}

int virtio_kvm_irq_init(struct virtio_kvm_irq *irq, struct kvm *kvm, struct virtio_dev *dev,
			unsigned gsi)
{
	*irq = (struct virtio_kvm_irq){kvm, dev, gsi, -1, -1};
	irq->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq->irq_fd < 0)
		return -errno;
	if (kvm_notify_can_resample(kvm_notifier(kvm))) {
		irq->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (irq->resample_fd < 0)
			return -errno;
	}
	int err = assign_irqfd(irq);
	if (!err && irq->resample_fd >= 0)
		err = virtio_dev_add_fd(dev, irq->resample_fd, EPOLLIN, resample);
	if (err) {
		log_error("%s: irqfd on GSI %u: %s", dev->name, gsi, strerror(-err));
		return err;
	}
	dev->irq = (struct virtio_irq){raise_irq, irq};
	return 0;
}

void virtio_kvm_irq_destroy(struct virtio_kvm_irq *irq)
{
	if (irq->irq_fd >= 0 && irq->kvm && irq->kvm->vm_fd >= 0)
		kvm_notify_irqfd_remove(kvm_notifier(irq->kvm), irq->irq_fd, irq->gsi);
	if (irq->irq_fd >= 0)
		close(irq->irq_fd);
	if (irq->resample_fd >= 0)
		close(irq->resample_fd);
	irq->irq_fd = irq->resample_fd = -1;
}

void virtio_kvm_irq_flush(struct virtio_kvm_irq *irq)
{
	if (irq->irq_fd < 0 || !irq->kvm || irq->kvm->vm_fd < 0)
		return;
	kvm_notify_irqfd_remove(kvm_notifier(irq->kvm), irq->irq_fd, irq->gsi);
	int err = assign_irqfd(irq);
	if (err)
		log_warn("%s: irqfd on GSI %u not assigned again: %s", irq->dev->name, irq->gsi,
			 strerror(-err));
}

void virtio_kvm_irq_resync(struct virtio_kvm_irq *irq)
{
	pthread_mutex_lock(&irq->dev->lock);
	if (virtio_dev_isr(irq->dev))
		fire(irq->irq_fd);
	pthread_mutex_unlock(&irq->dev->lock);
}
