/* The in-kernel GIC, v3 with its ITS or v2 (gic.h). */
#include "host/kvm/aarch64/gic.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>

#include "base/log.h"
#include "host/kvm/kvm.h"

static int create_device(struct kvm *kvm, uint32_t type, const char *what)
{
	struct kvm_create_device d = {.type = type};
	if (kvm_ioctl(kvm->vm_fd, KVM_CREATE_DEVICE, &d) < 0) {
		int err = errno;
		log_error("KVM_CREATE_DEVICE (%s) failed: %s%s", what, strerror(err),
			  err == ENODEV ? " (this host's KVM offers no such interrupt controller)"
					: "");
		return -err;
	}
	return (int)d.fd;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *value, const char *what)
{
	struct kvm_device_attr a = {
	    .group = group,
	    .attr = attr,
	    .addr = (uint64_t)(uintptr_t)value,
	};
	if (kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		int err = errno;
		log_error("GIC: KVM_SET_DEVICE_ATTR %s failed: %s", what, strerror(err));
		return -err;
	}
	return 0;
}

static bool can_create(const struct kvm *kvm, uint32_t type)
{
	struct kvm_create_device test = {.type = type, .flags = KVM_CREATE_DEVICE_TEST};
	return kvm_ioctl(kvm->vm_fd, KVM_CREATE_DEVICE, &test) == 0;
}

static int create_its(struct kvm *kvm, uint64_t base)
{
	if (!can_create(kvm, KVM_DEV_TYPE_ARM_VGIC_ITS)) {
		log_warn("GIC: this host's KVM has no ITS: PCI devices get no MSIs (%s)",
			 strerror(errno));
		return 0;
	}
	int fd = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_ITS, "GICv3 ITS");
	if (fd < 0)
		return fd;
	kvm->its_fd = fd;
	int err =
	    set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &base, "ITS base");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
			       "ITS init");
	return err;
}

int kvm_gic_host_version(const struct kvm *kvm)
{
	if (can_create(kvm, KVM_DEV_TYPE_ARM_VGIC_V3))
		return KVM_GIC_V3;
	return can_create(kvm, KVM_DEV_TYPE_ARM_VGIC_V2) ? KVM_GIC_V2 : KVM_GIC_NONE;
}

/* The GICv2: its distributor and CPU interface, sized, initialised. */
static int create_v2(struct kvm *kvm, const struct kvm_gic_config *c)
{
	int fd = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_V2, "GICv2");
	if (fd < 0)
		return fd;
	kvm->gic_fd = fd;
	kvm->gic_version = KVM_GIC_V2;
	int err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, &c->dist_base,
			   "distributor base");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU,
			       &c->cpu_base, "CPU interface base");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &c->nr_irqs, "number of IRQs");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
			       "init");
	return err;
}

static int create_v3(struct kvm *kvm, const struct kvm_gic_config *c)
{
	int fd = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_V3, "GICv3");
	if (fd < 0)
		return fd;
	kvm->gic_fd = fd;
	kvm->gic_version = KVM_GIC_V3;
	int err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &c->dist_base,
			   "distributor base");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
			       &c->redist_base, "redistributor base");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &c->nr_irqs, "number of IRQs");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
			       "init");
	if (!err && c->its_base)
		err = create_its(kvm, c->its_base);
	return err;
}

int kvm_gic_create(struct kvm *kvm, const struct kvm_gic_config *c)
{
	return c->version == KVM_GIC_V2 ? create_v2(kvm, c) : create_v3(kvm, c);
}
