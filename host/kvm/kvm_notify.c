/* The KVM notification glue (see kvm_notify.h): KVM_IOEVENTFD, KVM_IRQFD, KVM_SET_GSI_ROUTING,
 * KVM_SIGNAL_MSI behind one ops table. */
#include "host/kvm/kvm_notify.h"
#include "host/kvm/kvm.h"

#include "base/layout.h"

#include <errno.h>
#include <sys/ioctl.h>

static int vm_ioctl(void *ctx, unsigned long req, const void *arg)
{
	return kvm_ioctl(*(const int *)ctx, req, arg) < 0 ? -errno : 0;
}

static int real_ioeventfd(void *ctx, const struct kvm_ioeventfd *io)
{
	return vm_ioctl(ctx, KVM_IOEVENTFD, io);
}

static int real_irqfd(void *ctx, const struct kvm_irqfd *req)
{
	return vm_ioctl(ctx, KVM_IRQFD, req);
}

static int real_set_gsi_routing(void *ctx, const struct kvm_irq_routing *table)
{
	return vm_ioctl(ctx, KVM_SET_GSI_ROUTING, table);
}

static int real_signal_msi(void *ctx, const struct kvm_msi *msi)
{
	/* KVM_SIGNAL_MSI returns > 0 when delivered, 0 when the guest blocked it. */
	return kvm_ioctl(*(const int *)ctx, KVM_SIGNAL_MSI, msi) < 0 ? -errno : 0;
}

static bool real_can_resample(void *ctx)
{
	return kvm_ioctl(*(const int *)ctx, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) > 0;
}

static const struct kvm_notify_ops ioctl_ops = {
    real_ioeventfd, real_irqfd, real_set_gsi_routing, real_signal_msi, real_can_resample,
};

struct kvm_notify kvm_notify_ioctls(const int *vm_fd)
{
	return (struct kvm_notify){&ioctl_ops, (void *)vm_fd};
}

int kvm_notify_kick(const struct kvm_notify *n, const struct kvm_notify_kick *k, bool deassign)
{
	struct kvm_ioeventfd io = {
	    .datamatch = k->match ? k->data : 0,
	    .addr = k->addr,
	    .len = k->len,
	    .fd = k->fd,
	    .flags = (k->match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		     (k->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		     (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	return n->ops->ioeventfd(n->ctx, &io);
}

int kvm_notify_irqfd(const struct kvm_notify *n, int fd, unsigned gsi, int resample_fd)
{
	struct kvm_irqfd req = {.fd = (uint32_t)fd, .gsi = gsi};
	if (resample_fd >= 0) {
		req.flags = KVM_IRQFD_FLAG_RESAMPLE;
		req.resamplefd = (uint32_t)resample_fd;
	}
	return n->ops->irqfd(n->ctx, &req);
}

void kvm_notify_irqfd_remove(const struct kvm_notify *n, int fd, unsigned gsi)
{
	struct kvm_irqfd req = {.fd = (uint32_t)fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN};
	n->ops->irqfd(n->ctx, &req);
}

int kvm_notify_signal_msi(const struct kvm_notify *n, uint64_t addr, uint32_t data, uint32_t devid)
{
	struct kvm_msi msi = {
	    .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};
	if (LAYOUT_MSI_DEVID) {
		msi.flags = KVM_MSI_VALID_DEVID;
		msi.devid = devid;
	}
	return n->ops->signal_msi(n->ctx, &msi);
}
