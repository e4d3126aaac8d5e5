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

/* What differs between the two GICs at creation: the device, its name, the attributes placing
 * the distributor and the second frame (a GICv3's redistributors, a GICv2's CPU interface). */
struct gic_kind {
	int version;
	uint32_t type;
	const char *name;
	uint64_t dist_attr, second_attr;
	const char *second_name;
};

static const struct gic_kind gic_v3 = {KVM_GIC_V3,
				       KVM_DEV_TYPE_ARM_VGIC_V3,
				       "GICv3",
				       KVM_VGIC_V3_ADDR_TYPE_DIST,
				       KVM_VGIC_V3_ADDR_TYPE_REDIST,
				       "redistributor base"};
static const struct gic_kind gic_v2 = {KVM_GIC_V2,
				       KVM_DEV_TYPE_ARM_VGIC_V2,
				       "GICv2",
				       KVM_VGIC_V2_ADDR_TYPE_DIST,
				       KVM_VGIC_V2_ADDR_TYPE_CPU,
				       "CPU interface base"};

/* The GIC: created, placed, sized, initialised. */
static int create_gic(struct kvm *kvm, const struct gic_kind *k, const struct kvm_gic_config *c)
{
	int fd = create_device(kvm, k->type, k->name);
	if (fd < 0)
		return fd;
	kvm->gic_fd = fd;
	kvm->gic_version = k->version;
	uint64_t second = k->version == KVM_GIC_V2 ? c->cpu_base : c->redist_base;
	int err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, k->dist_attr, &c->dist_base,
			   "distributor base");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, k->second_attr, &second,
			       k->second_name);
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &c->nr_irqs, "number of IRQs");
	if (!err)
		err = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
			       "init");
	return err;
}

int kvm_gic_create(struct kvm *kvm, const struct kvm_gic_config *c)
{
	if (c->version == KVM_GIC_V2)
		return create_gic(kvm, &gic_v2, c);
	int err = create_gic(kvm, &gic_v3, c);
	if (!err && c->its_base)
		err = create_its(kvm, c->its_base);
	return err;
}
