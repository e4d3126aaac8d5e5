/* The arm64 CPU's ID registers as KVM presents them (cpu_ids.h). */
#include "host/kvm/aarch64/cpu_ids.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/kvm.h"

const uint64_t arm64_cpu_id_regs[ARM64_CPU_IDS] = {
    ARM64_SYS_REG(3, 0, 0, 0, 0), ARM64_SYS_REG(3, 0, 0, 4, 0), ARM64_SYS_REG(3, 0, 0, 4, 1),
    ARM64_SYS_REG(3, 0, 0, 5, 0), ARM64_SYS_REG(3, 0, 0, 6, 0), ARM64_SYS_REG(3, 0, 0, 6, 1),
    ARM64_SYS_REG(3, 0, 0, 6, 2), ARM64_SYS_REG(3, 0, 0, 7, 0), ARM64_SYS_REG(3, 0, 0, 7, 1),
    ARM64_SYS_REG(3, 0, 0, 7, 2), ARM64_SYS_REG(3, 0, 0, 4, 4),
};

const char *const arm64_cpu_id_names[ARM64_CPU_IDS] = {
    "MIDR_EL1",		"ID_AA64PFR0_EL1",  "ID_AA64PFR1_EL1",	"ID_AA64DFR0_EL1",
    "ID_AA64ISAR0_EL1", "ID_AA64ISAR1_EL1", "ID_AA64ISAR2_EL1", "ID_AA64MMFR0_EL1",
    "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64ZFR0_EL1",
};

int arm64_cpu_ids_of_vcpu(int vcpu_fd, uint64_t vals[ARM64_CPU_IDS])
{
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++) {
		int e = arm64_get_reg(vcpu_fd, arm64_cpu_id_regs[i], &vals[i]);
		if (e == -ENOENT)
			vals[i] = 0;
		else if (e)
			return e;
	}
	return 0;
}

static int step(int ret, const char *what, char *err, size_t errlen)
{
	if (ret < 0) {
		int e = -errno;
		snprintf(err, errlen, "%s: %s", what, strerror(-e));
		return e;
	}
	return 0;
}

/* The last host read (cpu_host_warm_up(): before the thread that checks a snapshot is
 * sandboxed, since the read makes a VM). */
static struct {
	pthread_mutex_t lock;
	char path[256];
	uint64_t vals[ARM64_CPU_IDS], writable[ARM64_CPU_IDS];
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool cached(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
		   uint64_t writable[ARM64_CPU_IDS])
{
	pthread_mutex_lock(&cache.lock);
	bool hit = cache.path[0] && !strcmp(cache.path, kvm_path);
	if (hit)
		memcpy(vals, cache.vals, sizeof(cache.vals));
	if (hit && writable)
		memcpy(writable, cache.writable, sizeof(cache.writable));
	pthread_mutex_unlock(&cache.lock);
	return hit;
}

static void remember(const char *kvm_path, const uint64_t vals[ARM64_CPU_IDS],
		     const uint64_t writable[ARM64_CPU_IDS])
{
	pthread_mutex_lock(&cache.lock);
	if (strlen(kvm_path) < sizeof(cache.path)) {
		strcpy(cache.path, kvm_path);
		memcpy(cache.vals, vals, sizeof(cache.vals));
		memcpy(cache.writable, writable, sizeof(cache.writable));
	}
	pthread_mutex_unlock(&cache.lock);
}

static int read_host(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
		     uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen);

int arm64_cpu_ids_of_host(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
			  uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen)
{
	uint64_t w[ARM64_CPU_IDS];
	if (cached(kvm_path, vals, writable))
		return 0;
	int e = read_host(kvm_path, vals, w, err, errlen);
	if (!e)
		remember(kvm_path, vals, w);
	if (!e && writable)
		memcpy(writable, w, sizeof(w));
	return e;
}

/* The writable bits of each of the registers on the VM `vm` (zeros where KVM has no masks). */
static void writable_of(int vm, uint64_t writable[ARM64_CPU_IDS])
{
	uint64_t masks[ARM64_ID_RANGE_SIZE];
	bool known = !arm64_id_writable_masks(vm, masks);
	for (unsigned i = 0; i < ARM64_CPU_IDS; i++) {
		int k = arm64_id_range_index(arm64_cpu_id_regs[i]);
		writable[i] = known && k >= 0 ? masks[k] : 0;
	}
}

int arm64_scratch_open(struct arm64_scratch *s, const char *kvm_path, char *err, size_t errlen)
{
	struct kvm_vcpu_init init;
	s->dev = s->vm = s->vcpu = -1;
	s->dev = open(kvm_path, O_RDWR | O_CLOEXEC);
	int e = step(s->dev, kvm_path, err, errlen);
	if (!e)
		e = step(s->vm = kvm_ioctl(s->dev, KVM_CREATE_VM, 0), "KVM_CREATE_VM", err, errlen);
	if (!e)
		e = step(s->vcpu = kvm_ioctl(s->vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU", err,
			 errlen);
	memset(&init, 0, sizeof(init));
	if (!e)
		e = step(kvm_ioctl(s->vm, KVM_ARM_PREFERRED_TARGET, &init),
			 "KVM_ARM_PREFERRED_TARGET", err, errlen);
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (!e)
		e = step(kvm_ioctl(s->vcpu, KVM_ARM_VCPU_INIT, &init), "KVM_ARM_VCPU_INIT", err,
			 errlen);
	if (e)
		arm64_scratch_close(s);
	return e;
}

void arm64_scratch_close(struct arm64_scratch *s)
{
	int *fds[] = {&s->vcpu, &s->vm, &s->dev};
	for (unsigned i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int read_host(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
		     uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen)
{
	struct arm64_scratch s;
	int e = arm64_scratch_open(&s, kvm_path, err, errlen);
	if (!e && (e = arm64_cpu_ids_of_vcpu(s.vcpu, vals)))
		snprintf(err, errlen, "reading the ID registers: %s", strerror(-e));
	if (!e)
		writable_of(s.vm, writable);
	arm64_scratch_close(&s);
	return e;
}
