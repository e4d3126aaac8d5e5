/* The KVM notification glue both virtio transports use: ioeventfds (a guest write to a notify
 * address signals an eventfd, optionally only for one value), irqfds (an eventfd write raises a
 * GSI, optionally level-triggered with a resample fd) and the GSI routing table (MSI routes).
 * Every call goes through a small ops table, so unit tests fake KVM (tests/unit/vmm/vm/
 * test_vm_pci_irq.c); kvm_open_vm() installs the real one (ioctls on the VM fd) in kvm->notify. */
#ifndef VMM_KVM_NOTIFY_H
#define VMM_KVM_NOTIFY_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* Each returns 0 or -errno, like the KVM ioctl of the same name. */
struct kvm_notify_ops {
	int (*ioeventfd)(void *ctx, const struct kvm_ioeventfd *io);
	int (*irqfd)(void *ctx, const struct kvm_irqfd *req);
	int (*set_gsi_routing)(void *ctx, const struct kvm_irq_routing *table);
	int (*signal_msi)(void *ctx, const struct kvm_msi *msi);
	bool (*can_resample)(void *ctx); /* KVM_CAP_IRQFD_RESAMPLE */
};

struct kvm_notify {
	const struct kvm_notify_ops *ops;
	void *ctx;
};

/* The real glue: ioctls on the VM file descriptor `*vm_fd`. */
struct kvm_notify kvm_notify_ioctls(const int *vm_fd);

/* One notify address: a write of `len` bytes (0: any size) at `addr` (port I/O when `pio`)
 * signals `fd`; with `match`, only a write of the value `data`. `deassign` removes exactly
 * that registration. */
struct kvm_notify_kick {
	int fd;
	uint64_t addr;
	uint32_t len;
	bool pio, match;
	uint64_t data;
};
int kvm_notify_kick(const struct kvm_notify *n, const struct kvm_notify_kick *k, bool deassign);

/* `fd` raises `gsi`; with resample_fd >= 0 the line is level-triggered: KVM lowers it at the
 * guest's EOI and signals resample_fd. */
int kvm_notify_irqfd(const struct kvm_notify *n, int fd, unsigned gsi, int resample_fd);
void kvm_notify_irqfd_remove(const struct kvm_notify *n, int fd, unsigned gsi);

/* Replaces the whole GSI routing table. */
static inline int kvm_notify_set_routes(const struct kvm_notify *n,
					const struct kvm_irq_routing *table)
{
	return n->ops->set_gsi_routing(n->ctx, table);
}

/* Sends one MSI directly (no route, no irqfd). */
int kvm_notify_signal_msi(const struct kvm_notify *n, uint64_t addr, uint32_t data, uint32_t devid);

static inline bool kvm_notify_can_resample(const struct kvm_notify *n)
{
	return n->ops->can_resample(n->ctx);
}

#endif
