/* KVM's part of a snapshot on aarch64 (host/kvm/kvm_state.h).
 *
 * Sections (instance = vCPU index):
 *   SNAP_VCPU_REGS      struct arm64_regs_head, then `count` struct arm64_reg_entry: every
 *                       register KVM_GET_REG_LIST names for the vCPU (the core registers, FP/SIMD,
 *                       the system registers, the virtual timer's CTL/CVAL/CNT, the firmware
 *                       pseudo-registers), each read with KVM_GET_ONE_REG
 *   SNAP_VCPU_MP_STATE  struct kvm_mp_state (a secondary PSCI turned off stays off)
 *   SNAP_VCPU_EVENTS    struct kvm_vcpu_events (optional: a pending SError)
 * The VM's sections are the GIC's (gic_state.c for a GICv3, gicv2_state.c for a GICv2: a snapshot
 * restores only into a VM with the same kind of GIC, which the host's KVM decides) and the timer
 * stamp (timer_stamp.c).
 *
 * The timer: restoring KVM_REG_ARM_TIMER_CNT makes the guest's virtual counter go on from the
 * saved value (KVM moves the VM's counter offset), so the guest sees no jump in time; its wall
 * clock is then behind by the time between save and restore, as on x86 without clock_realtime.
 * With it, kvm_vm_restore_late() moves the counter on by that time (timer_stamp.h).
 *
 * Restoring writes the registers in the saved order (core registers first, as KVM lists them),
 * then the events, then the MP state. KVM refuses an ID register that differs from this host's
 * (another kind of CPU): the message names the register. */
#include "host/kvm/kvm_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/aarch64/gic.h"
#include "host/kvm/aarch64/gic_state.h"
#include "host/kvm/aarch64/gicv2_state.h"
#include "host/kvm/aarch64/timer_stamp.h"
#include "host/kvm/kvm.h"

/* At most this many registers in a SNAP_VCPU_REGS section (KVM lists ~200-500). */
#define ARM64_MAX_REGS 4096
/* The widest register saved: 128 bits (the FP/SIMD V registers); SVE is not enabled. */
#define ARM64_REG_MAX_BYTES 16

struct arm64_regs_head {
	uint32_t count;
	uint32_t reserved; /* zero */
};

struct arm64_reg_entry {
	uint64_t id;
	uint8_t value[ARM64_REG_MAX_BYTES]; /* the register's bytes, then zeros */
};

static size_t reg_bytes(uint64_t id)
{
	return (size_t)1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

/* KVM_GET_REG_LIST of the vCPU, malloc'd. Returns the count or -errno. */
static long reg_list(int vcpu_fd, struct kvm_reg_list **out)
{
	struct kvm_reg_list probe = {.n = 0};
	*out = NULL;
	if (kvm_ioctl(vcpu_fd, KVM_GET_REG_LIST, &probe) == 0)
		return 0;
	if (errno != E2BIG)
		return -errno;
	if (probe.n > ARM64_MAX_REGS)
		return -E2BIG;
	struct kvm_reg_list *l = malloc(sizeof(*l) + probe.n * sizeof(uint64_t));
	if (!l)
		return -ENOMEM;
	l->n = probe.n;
	if (kvm_ioctl(vcpu_fd, KVM_GET_REG_LIST, l) < 0) {
		int e = -errno;
		free(l);
		return e;
	}
	*out = l;
	return (long)l->n;
}

static int read_regs(int vcpu_fd, const struct kvm_reg_list *l, struct arm64_reg_entry *e,
		     char *err, size_t errlen)
{
	char name[64];
	for (uint64_t i = 0; i < l->n; i++) {
		e[i].id = l->reg[i];
		arm64_reg_name(e[i].id, name, sizeof(name));
		if (reg_bytes(e[i].id) > ARM64_REG_MAX_BYTES) {
			snprintf(err, errlen, "%s is %zu bytes wide (SVE?): not saved", name,
				 reg_bytes(e[i].id));
			return -ENOTSUP;
		}
		struct kvm_one_reg r = {.id = e[i].id, .addr = (uint64_t)(uintptr_t)e[i].value};
		if (kvm_ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0) {
			int ret = -errno;
			snprintf(err, errlen, "KVM_GET_ONE_REG of %s: %s", name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int save_regs(int vcpu_fd, unsigned index, snap_put_fn put, void *w, char *err,
		     size_t errlen)
{
	struct kvm_reg_list *l;
	long n = reg_list(vcpu_fd, &l);
	if (n < 0) {
		snprintf(err, errlen, "KVM_GET_REG_LIST: %s", strerror((int)-n));
		return (int)n;
	}
	size_t len = sizeof(struct arm64_regs_head) + (size_t)n * sizeof(struct arm64_reg_entry);
	uint8_t *buf = calloc(1, len);
	int r = buf ? 0 : -ENOMEM;
	if (r)
		snprintf(err, errlen, "out of memory");
	if (!r) {
		struct arm64_regs_head h = {.count = (uint32_t)n};
		memcpy(buf, &h, sizeof(h));
		r = read_regs(vcpu_fd, l, (struct arm64_reg_entry *)(buf + sizeof(h)), err, errlen);
	}
	if (!r && (r = put(w, SNAP_VCPU_REGS, index, buf, len)))
		snprintf(err, errlen, "cannot store SNAP_VCPU_REGS: %s", strerror(-r));
	free(buf);
	free(l);
	return r;
}

static int save_one(int vcpu_fd, unsigned long req, const char *ioctl_name, uint32_t tag,
		    unsigned index, void *data, size_t len, snap_put_fn put, void *w, char *err,
		    size_t errlen)
{
	if (kvm_ioctl(vcpu_fd, req, data) < 0) {
		int e = -errno;
		snprintf(err, errlen, "%s: %s", ioctl_name, strerror(-e));
		return e;
	}
	int e = put(w, tag, index, data, len);
	if (e)
		snprintf(err, errlen, "cannot store the %s state: %s", ioctl_name, strerror(-e));
	return e;
}

int kvm_vcpu_save(int dev_fd, int vcpu_fd, unsigned index, snap_put_fn put, void *w, char *err,
		  size_t errlen)
{
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;

	int r = save_regs(vcpu_fd, index, put, w, err, errlen);
	memset(&ev, 0, sizeof(ev));
	if (!r && kvm_ioctl(dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0)
		r = save_one(vcpu_fd, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", SNAP_VCPU_EVENTS,
			     index, &ev, sizeof(ev), put, w, err, errlen);
	memset(&mp, 0, sizeof(mp));
	if (!r)
		r = save_one(vcpu_fd, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", SNAP_VCPU_MP_STATE,
			     index, &mp, sizeof(mp), put, w, err, errlen);
	return r;
}

/* The checked entries of a SNAP_VCPU_REGS section, or NULL with the reason. */
static const struct arm64_reg_entry *regs_section(snap_get_fn get, void *rd, unsigned index,
						  uint32_t *count, char *err, size_t errlen)
{
	size_t len = 0;
	const uint8_t *p = get(rd, SNAP_VCPU_REGS, index, &len);
	struct arm64_regs_head h;
	if (!p || len < sizeof(h)) {
		snprintf(err, errlen, "vCPU %u: SNAP_VCPU_REGS is %s", index,
			 p ? "too short" : "missing");
		return NULL;
	}
	memcpy(&h, p, sizeof(h));
	if (h.reserved || h.count == 0 || h.count > ARM64_MAX_REGS ||
	    len != sizeof(h) + (size_t)h.count * sizeof(struct arm64_reg_entry)) {
		snprintf(err, errlen, "vCPU %u: SNAP_VCPU_REGS has a bad count or length", index);
		return NULL;
	}
	*count = h.count;
	return (const struct arm64_reg_entry *)(p + sizeof(h));
}

static bool entry_ok(const struct arm64_reg_entry *e)
{
	size_t n = reg_bytes(e->id);
	if ((e->id & KVM_REG_ARCH_MASK) != KVM_REG_ARM64 || n > ARM64_REG_MAX_BYTES)
		return false;
	for (size_t i = n; i < ARM64_REG_MAX_BYTES; i++)
		if (e->value[i])
			return false;
	return true;
}

static int restore_regs(int vcpu_fd, unsigned index, snap_get_fn get, void *rd, char *err,
			size_t errlen)
{
	uint32_t count;
	const struct arm64_reg_entry *e = regs_section(get, rd, index, &count, err, errlen);
	struct arm64_reg_entry x;
	char name[64];
	if (!e)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) { /* every entry checked before any is written */
		memcpy(&x, &e[i], sizeof(x));  /* the section need not be aligned */
		if (!entry_ok(&x)) {
			arm64_reg_name(x.id, name, sizeof(name));
			snprintf(err, errlen, "vCPU %u: SNAP_VCPU_REGS: %s is no arm64 register",
				 index, name);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		memcpy(&x, &e[i], sizeof(x));
		arm64_reg_name(x.id, name, sizeof(name));
		struct kvm_one_reg r = {.id = x.id, .addr = (uint64_t)(uintptr_t)x.value};
		if (kvm_ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0) {
			int ret = -errno;
			snprintf(err, errlen,
				 "vCPU %u: KVM refused %s of the snapshot (%s): was it taken on "
				 "another kind of CPU or KVM?",
				 index, name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int kvm_vcpu_restore(int dev_fd, int vcpu_fd, unsigned index, snap_get_fn get, void *r, char *err,
		     size_t errlen)
{
	(void)dev_fd;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	size_t len = 0;

	int e = restore_regs(vcpu_fd, index, get, r, err, errlen);
	const void *p = e ? NULL : get(r, SNAP_VCPU_EVENTS, index, &len);
	if (p && len != sizeof(ev)) {
		snprintf(err, errlen, "vCPU %u: SNAP_VCPU_EVENTS has the wrong length", index);
		e = -EINVAL;
	} else if (p) {
		memcpy(&ev, p, sizeof(ev));
		if (kvm_ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
			e = -errno;
			snprintf(err, errlen, "vCPU %u: KVM_SET_VCPU_EVENTS: %s", index,
				 strerror(-e));
		}
	}
	p = e ? NULL : get(r, SNAP_VCPU_MP_STATE, index, &len);
	if (!e && (!p || len != sizeof(mp))) {
		snprintf(err, errlen, "vCPU %u: SNAP_VCPU_MP_STATE is %s", index,
			 p ? "of the wrong length" : "missing");
		e = -EINVAL;
	}
	if (!e) {
		memcpy(&mp, p, sizeof(mp));
		if (mp.mp_state != KVM_MP_STATE_RUNNABLE && mp.mp_state != KVM_MP_STATE_STOPPED &&
		    mp.mp_state != KVM_MP_STATE_SUSPENDED) {
			snprintf(err, errlen, "vCPU %u: SNAP_VCPU_MP_STATE: unknown state %u",
				 index, mp.mp_state);
			return -EINVAL;
		}
		if (kvm_ioctl(vcpu_fd, KVM_SET_MP_STATE, &mp) < 0) {
			e = -errno;
			snprintf(err, errlen, "vCPU %u: KVM_SET_MP_STATE: %s", index, strerror(-e));
		}
	}
	return e;
}

int kvm_vm_flush_to_ram(const struct kvm *kvm, char *err, size_t errlen)
{
	return gic_state_flush(kvm, err, errlen);
}

int kvm_vm_save(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_put_fn put,
		void *w, char *err, size_t errlen)
{
	int e = kvm->gic_version == KVM_GIC_V2
		    ? gicv2_state_save(kvm, ncpus, put, w, err, errlen)
		    : gic_state_save(kvm, vcpu_fds, ncpus, put, w, err, errlen);
	return e || !ncpus ? e : timer_stamp_save(vcpu_fds[0], put, w, err, errlen);
}

/* A snapshot of a VM with the other kind of GIC than this VM's is refused, saying so: its guest's
 * device tree names that GIC, and only a host whose KVM offers that GIC can restore it. */
static int same_gic(const struct kvm *kvm, snap_get_fn get, void *r, char *err, size_t errlen)
{
	size_t len = 0;
	bool vm_v2 = kvm->gic_version == KVM_GIC_V2;
	bool snap_v3 = get(r, SNAP_VM_GIC_DIST, 0, &len) != NULL;
	bool snap_v2 = get(r, SNAP_VM_GICV2_DIST, 0, &len) != NULL;
	if (snap_v3 == snap_v2 || snap_v2 == vm_v2)
		return 0; /* neither or both: the section checks say what is wrong */
	snprintf(err, errlen,
		 "the snapshot's VM has a %s, and this host's KVM gives this VM a %s: restore it "
		 "on a host whose KVM %s",
		 snap_v2 ? "GICv2" : "GICv3", vm_v2 ? "GICv2" : "GICv3",
		 snap_v2 ? "offers only a GICv2" : "has a GICv3");
	return -EINVAL;
}

int kvm_vm_restore(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
		   void *r, bool clock_realtime, char *err, size_t errlen)
{
	(void)clock_realtime; /* the counter is the vCPUs' registers: kvm_vm_restore_late() */
	int e = same_gic(kvm, get, r, err, errlen);
	if (!e)
		e = kvm->gic_version == KVM_GIC_V2
			? gicv2_state_restore(kvm, ncpus, get, r, err, errlen)
			: gic_state_restore(kvm, vcpu_fds, ncpus, get, r, err, errlen);
	return e;
}

int kvm_vm_restore_late(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
			void *r, bool clock_realtime, char *err, size_t errlen)
{
	(void)kvm;
	if (!clock_realtime || !ncpus)
		return 0;
	return timer_stamp_restore(vcpu_fds[0], get, r, err, errlen);
}
