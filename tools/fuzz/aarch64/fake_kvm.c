/* The in-memory KVM of the arm64 snapshot fuzz target (fake_kvm.h). Tables are open-addressed
 * and stamped with a generation, so that fake_kvm_reset() forgets everything at once. */
#include "tools/fuzz/aarch64/fake_kvm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define REG_SLOTS  8192 /* per vCPU: twice host/kvm/aarch64's ARM64_MAX_REGS */
#define ATTR_SLOTS 16384
#define REG_BYTES  16

struct reg_slot {
	uint32_t gen;
	uint64_t id;
	uint8_t value[REG_BYTES];
};

struct attr_slot {
	uint32_t gen;
	int fd;
	uint32_t group;
	uint64_t attr, value;
};

struct vcpu {
	struct reg_slot regs[REG_SLOTS];
	uint64_t order[REG_SLOTS]; /* the IDs in the order first set */
	unsigned count;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
};

struct fake_kvm fake_kvm;
static struct vcpu vcpus[FAKE_KVM_MAX_VCPUS];
static struct attr_slot attrs[ATTR_SLOTS];
static uint32_t gen = 1;

int __wrap_kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg);
int __wrap_arm64_cpu_ids_of_host(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
				 uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen);

void fake_kvm_reset(void)
{
	gen++;
	for (unsigned i = 0; i < FAKE_KVM_MAX_VCPUS; i++) {
		vcpus[i].count = 0;
		memset(&vcpus[i].mp, 0, sizeof(vcpus[i].mp));
		memset(&vcpus[i].events, 0, sizeof(vcpus[i].events));
	}
	memset(&fake_kvm, 0, sizeof(fake_kvm));
	fake_kvm.nr_irqs = 128;
}

uint64_t fake_kvm_mpidr(unsigned index)
{
	return 0x80000000ull | index;
}

unsigned fake_kvm_reg_count(unsigned index)
{
	return index < FAKE_KVM_MAX_VCPUS ? vcpus[index].count : 0;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	return x ^ (x >> 33);
}

/* The slot of `id` in v (found, or the free one where it goes). */
static struct reg_slot *reg_slot(struct vcpu *v, uint64_t id)
{
	for (size_t i = mix(id) % REG_SLOTS;; i = (i + 1) % REG_SLOTS)
		if (v->regs[i].gen != gen || v->regs[i].id == id)
			return &v->regs[i];
}

static struct attr_slot *attr_slot(int fd, uint32_t group, uint64_t attr)
{
	size_t i = mix(attr ^ (uint64_t)group << 48 ^ (uint64_t)fd << 56) % ATTR_SLOTS;
	for (;; i = (i + 1) % ATTR_SLOTS) {
		struct attr_slot *s = &attrs[i];
		if (s->gen != gen || (s->fd == fd && s->group == group && s->attr == attr))
			return s;
	}
}

static int reg_list(struct vcpu *v, struct kvm_reg_list *l)
{
	if (l->n < v->count) {
		l->n = v->count;
		return fail(E2BIG);
	}
	l->n = v->count;
	memcpy(l->reg, v->order, v->count * sizeof(uint64_t));
	return 0;
}

static int one_reg(struct vcpu *v, unsigned index, bool set, struct kvm_one_reg *r)
{
	size_t n = (size_t)1 << ((r->id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
	void *p = (void *)(uintptr_t)r->addr;
	if (n > REG_BYTES || (r->id & KVM_REG_ARCH_MASK) != KVM_REG_ARM64)
		return fail(ENOENT);
	struct reg_slot *s = reg_slot(v, r->id);
	if (!set && s->gen != gen) { /* never set: a value of its own */
		uint64_t x =
		    r->id == ARM64_SYS_REG(3, 0, 0, 0, 5) ? fake_kvm_mpidr(index) : mix(r->id);
		memset(p, 0, n);
		memcpy(p, &x, n < sizeof(x) ? n : sizeof(x));
		return 0;
	}
	if (!set) {
		memcpy(p, s->value, n);
		return 0;
	}
	if (s->gen != gen && v->count == REG_SLOTS / 2)
		return fail(ENOSPC);
	if (++fake_kvm.reg_writes[index] == fake_kvm.refuse_reg)
		return fail(EINVAL);
	if (s->gen != gen) {
		*s = (struct reg_slot){.gen = gen, .id = r->id};
		v->order[v->count++] = r->id;
	}
	memset(s->value, 0, sizeof(s->value));
	memcpy(s->value, p, n);
	fake_kvm.writes++;
	return 0;
}

static size_t attr_bytes(uint32_t group)
{
	switch (group) {
	case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
	case KVM_DEV_ARM_VGIC_GRP_ITS_REGS:
		return 8;
	case KVM_DEV_ARM_VGIC_GRP_CTRL:
		return 0;
	default: /* distributor, redistributor, line levels, NR_IRQS */
		return 4;
	}
}

static int device_attr(int fd, bool set, const struct kvm_device_attr *a)
{
	size_t n = attr_bytes(a->group);
	void *p = (void *)(uintptr_t)a->addr;
	if (a->group == KVM_DEV_ARM_VGIC_GRP_NR_IRQS && fd == FAKE_KVM_GIC) {
		if (set)
			return fail(EBUSY);
		memcpy(p, &fake_kvm.nr_irqs, 4);
		return 0;
	}
	if (n == 0) {
		fake_kvm.writes += set;
		return set ? 0 : fail(ENXIO);
	}
	struct attr_slot *s = attr_slot(fd, a->group, a->attr);
	if (set) {
		*s = (struct attr_slot){.gen = gen, .fd = fd, .group = a->group, .attr = a->attr};
		memcpy(&s->value, p, n);
		fake_kvm.writes++;
	} else {
		uint64_t v = s->gen == gen ? s->value : 0;
		memcpy(p, &v, n);
	}
	return 0;
}

static int vcpu_ioctl(unsigned index, unsigned long req, void *arg)
{
	struct vcpu *v = &vcpus[index];
	switch (req) {
	case KVM_GET_REG_LIST:
		return reg_list(v, arg);
	case KVM_GET_ONE_REG:
	case KVM_SET_ONE_REG:
		return one_reg(v, index, req == KVM_SET_ONE_REG, arg);
	case KVM_GET_MP_STATE:
		memcpy(arg, &v->mp, sizeof(v->mp));
		return 0;
	case KVM_SET_MP_STATE:
		memcpy(&v->mp, arg, sizeof(v->mp));
		fake_kvm.writes++;
		return 0;
	case KVM_GET_VCPU_EVENTS:
		memcpy(arg, &v->events, sizeof(v->events));
		return 0;
	case KVM_SET_VCPU_EVENTS:
		memcpy(&v->events, arg, sizeof(v->events));
		fake_kvm.writes++;
		return 0;
	default:
		return fail(ENOTTY);
	}
}

int __wrap_kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg)
{
	void *p = (void *)(uintptr_t)arg;
	if (fd >= FAKE_KVM_VCPU0 && fd < FAKE_KVM_VCPU0 + FAKE_KVM_MAX_VCPUS)
		return vcpu_ioctl((unsigned)(fd - FAKE_KVM_VCPU0), req, p);
	if (fd == FAKE_KVM_DEV && req == KVM_CHECK_EXTENSION)
		return 1;
	if ((fd == FAKE_KVM_GIC || fd == FAKE_KVM_ITS) &&
	    (req == KVM_SET_DEVICE_ATTR || req == KVM_GET_DEVICE_ATTR))
		return device_attr(fd, req == KVM_SET_DEVICE_ATTR, p);
	return fail(ENOTTY);
}

int __wrap_arm64_cpu_ids_of_host(const char *kvm_path, uint64_t vals[ARM64_CPU_IDS],
				 uint64_t writable[ARM64_CPU_IDS], char *err, size_t errlen)
{
	(void)kvm_path, (void)err, (void)errlen;
	memcpy(vals, fake_kvm.host_ids, sizeof(fake_kvm.host_ids));
	if (writable) /* a KVM that lets the feature fields of ID_AA64ISAR0_EL1 be lowered */
		for (unsigned i = 0; i < ARM64_CPU_IDS; i++)
			writable[i] = i == 4 ? 0xfffffffffffffff0ull : 0;
	return 0;
}
