/* Opening KVM, checking capabilities, creating the VM and its in-kernel devices. */
#include "host/kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "base/log.h"
#include "host/kvm/kvm_arch.h"
#include "host/kvm/kvm_probe.h"

/* What every architecture's VMM needs; the architecture adds its own (kvm_arch.h). */
static const struct kvm_cap_name required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
};

/* True once KVM_IOCTL_EINTR_MS have passed since *start. */
static bool eintr_budget_spent(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms =
	    (now.tv_sec - start->tv_sec) * 1000LL + (now.tv_nsec - start->tv_nsec) / 1000000;
	return ms >= KVM_IOCTL_EINTR_MS;
}

int kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg)
{
	struct timespec first_eintr = {0}; /* read only once a call was interrupted */
	for (int i = 1;; i++) {
		int r = ioctl(fd, req, arg);
		if (r >= 0 || errno != EINTR)
			return r;
		if (i == 1)
			clock_gettime(CLOCK_MONOTONIC, &first_eintr);
		else if (i >= KVM_IOCTL_TRIES && eintr_budget_spent(&first_eintr))
			return r;
	}
}

/* True when the host's KVM is the software-based kvm_pvm module. */
static bool kvm_host_is_emulated(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/* Says why KVM at `path` is unusable and what fixes it: the host probe's line, which
 * `vmm --check-kvm` and tools/kvm-probe.sh print too. `what` and `err` are our own failed step,
 * said instead should the probe, a moment later, find nothing wrong. */
static void report_unusable(bool quiet, const char *path, const char *what, int err)
{
	if (quiet) /* the VM made ahead: the open on the request says it */
		return;
	struct kvm_probe p;
	char line[sizeof(p.reason) + sizeof(p.fix) + 32];
	if (kvm_probe(path, &p))
		log_error("%s", kvm_probe_line(&p, line, sizeof(line)));
	else
		log_error("%s: %s", what, strerror(err));
}

/* A failed step of opening KVM: its log line, unless the VM is made ahead (quiet). */
#define OPEN_FAIL(quiet, ...)                                                                      \
	do {                                                                                       \
		if (!(quiet))                                                                      \
			log_error(__VA_ARGS__);                                                    \
	} while (0)

static int check_cap_list(int dev_fd, const char *path, bool quiet, const struct kvm_cap_name *caps,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (kvm_ioctl(dev_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			OPEN_FAIL(quiet, "%s: missing capability %s", path, caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int check_caps(int dev_fd, const char *path, bool quiet)
{
	int version = kvm_ioctl(dev_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		report_unusable(quiet, path, "KVM_GET_API_VERSION", ENOTSUP);
		return -ENOTSUP;
	}
	int err = check_cap_list(dev_fd, path, quiet, required_caps,
				 sizeof(required_caps) / sizeof(required_caps[0]));
	if (!err)
		err = check_cap_list(dev_fd, path, quiet, kvm_arch_required_caps,
				     kvm_arch_nrequired_caps);
	return err;
}

int kvm_vm_ioctl(struct kvm *kvm, unsigned long req, void *arg, const char *what)
{
	if (kvm_ioctl(kvm->vm_fd, req, arg) < 0) {
		int err = errno;
		log_error("%s failed: %s", what, strerror(err));
		return -err;
	}
	return 0;
}

static int create_vm(struct kvm *kvm, const char *path, bool quiet)
{
	kvm->vm_fd = kvm_ioctl(kvm->dev_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		int err = errno;
		report_unusable(quiet, path, "KVM_CREATE_VM failed", err);
		return -err;
	}
	kvm->notify = kvm_notify_ioctls(&kvm->vm_fd);
	return kvm_arch_init_vm(kvm, quiet);
}

static int open_new_vm(struct kvm *kvm, const char *path, bool quiet)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = kvm->gic_fd = kvm->its_fd = -1;
	kvm->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->dev_fd < 0) {
		int err = errno;
		report_unusable(quiet, path, "cannot open KVM", err);
		return -err;
	}
	int err = check_caps(kvm->dev_fd, path, quiet);
	if (!err) {
		kvm->vcpu_mmap_size = kvm_ioctl(kvm->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		if (kvm->vcpu_mmap_size <= 0) {
			OPEN_FAIL(quiet, "KVM_GET_VCPU_MMAP_SIZE failed");
			err = -EINVAL;
		}
	}
	if (!err)
		err = create_vm(kvm, path, quiet);
	if (err) {
		kvm_close(kvm);
		return err;
	}
	kvm->emulated = kvm_host_is_emulated();
	return 0;
}

/* The VM kvm_prepare_vm() created ahead, until a kvm_open_vm() of the same path takes it. */
static struct {
	pthread_mutex_t lock;
	bool ready;
	char path[PATH_MAX];
	struct kvm kvm;
} spare = {.lock = PTHREAD_MUTEX_INITIALIZER};

void kvm_prepare_vm(const char *path)
{
	struct kvm kvm;
	if (!path || strlen(path) >= sizeof(spare.path) || open_new_vm(&kvm, path, true))
		return;
	pthread_mutex_lock(&spare.lock);
	if (spare.ready)
		kvm_close(&spare.kvm);
	spare.kvm = kvm;
	snprintf(spare.path, sizeof(spare.path), "%s", path);
	spare.ready = true;
	pthread_mutex_unlock(&spare.lock);
}

static bool take_spare(struct kvm *kvm, const char *path)
{
	pthread_mutex_lock(&spare.lock);
	bool taken = spare.ready && strcmp(spare.path, path) == 0;
	if (taken) {
		*kvm = spare.kvm;
		spare.ready = false;
	}
	pthread_mutex_unlock(&spare.lock);
	if (taken) /* the copy's own descriptor, not the spare's */
		kvm->notify = kvm_notify_ioctls(&kvm->vm_fd);
	return taken;
}

int kvm_open_vm(struct kvm *kvm, const char *path)
{
	if (path && take_spare(kvm, path))
		return 0;
	return open_new_vm(kvm, path, false);
}

void kvm_close(struct kvm *kvm)
{
	kvm_arch_close(kvm);
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->dev_fd >= 0)
		close(kvm->dev_fd);
	kvm->vm_fd = kvm->dev_fd = -1;
}

int kvm_map_memory(struct kvm *kvm, const struct guest_mem *mem)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct kvm_userspace_memory_region slot = {
		    .slot = (uint32_t)i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		int err = kvm_vm_ioctl(kvm, KVM_SET_USER_MEMORY_REGION, &slot,
				       "KVM_SET_USER_MEMORY_REGION");
		if (err)
			return err;
	}
	return 0;
}

int kvm_map_rom(struct kvm *kvm, uint32_t slot, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = KVM_MEM_READONLY,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};
	return kvm_vm_ioctl(kvm, KVM_SET_USER_MEMORY_REGION, &r,
			    "KVM_SET_USER_MEMORY_REGION (ROM)");
}

int kvm_irq_line(struct kvm *kvm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = {.irq = kvm_arch_irq_line_number(gsi), .level = (uint32_t)level};
	return kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}
