/* Thin, checked wrappers around /dev/kvm and a VM file descriptor. */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "host/kvm/kvm_notify.h"

struct guest_mem;

struct kvm {
	int dev_fd;	    /* /dev/kvm */
	int vm_fd;	    /* KVM_CREATE_VM */
	int vcpu_mmap_size; /* KVM_GET_VCPU_MMAP_SIZE */
	bool emulated;	    /* host KVM is kvm_pvm: guest kernel code is emulated in software */
	/* aarch64: the in-kernel GIC and its ITS (KVM_CREATE_DEVICE, host/kvm/aarch64/gic.h);
	 * -1 elsewhere; gic_version: 3 or 2 once the GIC exists, 0 before and elsewhere */
	int gic_fd, its_fd;
	int gic_version;
	struct kvm_notify notify; /* ioeventfds, irqfds, GSI routes (tests replace it) */
};

/* A VM in two steps, with its RAM mapped in between (kvm_map_memory()). kvm_open_vm() opens
 * `path` (normally /dev/kvm), checks the API version and every capability the VMM uses and
 * creates the VM without its irqchip and PIT; kvm_create_chips() then creates those (x86; the
 * aarch64 GIC needs every vCPU first: host/kvm/aarch64/gic.h). Registering
 * guest RAM before the irqchip exists is much cheaper on some hosts (kvm_pvm: ~0.3 ms instead of
 * ~8 ms for 256 MiB; tools/bench startup). On failure each logs which step or capability failed
 * and returns -errno (-ENOTSUP for a missing capability); when the device cannot be opened, is no
 * KVM or cannot create a VM, the log line is the host probe's reason and fix
 * (host/kvm/kvm_probe.h). kvm_open_vm() closes what it opened on failure; after a
 * kvm_create_chips() failure call kvm_close(). */
int kvm_open_vm(struct kvm *kvm, const char *path);

/* Creates a VM ahead (as kvm_open_vm() would, quietly; nothing on failure) for the process's
 * next kvm_open_vm() of the same path to take: a VMM waiting for its configuration or a
 * snapshot (a warm pool's) then does not create it on the request (KVM_CREATE_VM: ~0.2 ms of
 * CPU on kvm_pvm, most of it KVM's debugfs files and the MMU notifier). A second call replaces
 * the first's VM. */
void kvm_prepare_vm(const char *path);
int kvm_create_chips(struct kvm *kvm);
void kvm_close(struct kvm *kvm);

/* kvm->notify, or (for a struct kvm filled in by hand) the real ioctls on kvm->vm_fd. */
static inline const struct kvm_notify *kvm_notifier(struct kvm *kvm)
{
	if (!kvm->notify.ops)
		kvm->notify = kvm_notify_ioctls(&kvm->vm_fd);
	return &kvm->notify;
}

/* Registers every region of `mem` as KVM memory slots. Returns 0 or -errno. */
int kvm_map_memory(struct kvm *kvm, const struct guest_mem *mem);
/* Maps [host, host+size) read-only at `gpa` as memory slot `slot` (a firmware ROM: reads come
 * from the pages, writes exit to the MMIO bus); `size` 0 removes the slot again (a flash out of
 * read-array mode: devices/pflash.h). Returns 0 or -errno. */
int kvm_map_rom(struct kvm *kvm, uint32_t slot, uint64_t gpa, void *host, uint64_t size);

/* Drives interrupt line `gsi` to `level`: the IOAPIC pin on x86, the SPI numbered from the first
 * (INTID 32 + gsi) on aarch64, as KVM_IRQFD numbers them too. Thread-safe (an ioctl). */
int kvm_irq_line(struct kvm *kvm, unsigned gsi, int level);

/* ioctl() on a KVM file descriptor (/dev/kvm, a VM, a vCPU), tried again while it fails with
 * EINTR, at least KVM_IOCTL_TRIES times and for KVM_IOCTL_EINTR_MS (a stop-and-continue flood
 * interrupted KVM_CREATE_VM 100 times in a row in CI's run of start_signals); returns what ioctl()
 * returns (-1 with errno). Every KVM call but KVM_RUN goes through it: those calls either complete
 * or, interrupted, change nothing, and a pending signal or task notification interrupts some of
 * them (KVM_CREATE_VM gives up in mm_take_all_locks() when signal_pending(): a real signal, a stop
 * and continue, or the task work that the kernel queues on every thread that used an io_uring ring
 * once that ring is closed, which sets TIF_NOTIFY_SIGNAL some milliseconds later with no signal at
 * all). KVM_RUN's EINTR is a kick (vcpu.c) and must reach its caller. */
#define KVM_IOCTL_TRIES		100
#define KVM_IOCTL_EINTR_MS	10000
#define kvm_ioctl(fd, req, arg) kvm_ioctl_retry((fd), (req), (unsigned long)(uintptr_t)(arg))
int kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg);

/* One ioctl on the VM's fd (kvm_ioctl()), logging `what` when it fails. Returns 0 or -errno. */
int kvm_vm_ioctl(struct kvm *kvm, unsigned long req, void *arg, const char *what);

#endif
