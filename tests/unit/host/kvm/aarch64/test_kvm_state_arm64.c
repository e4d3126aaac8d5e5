/* aarch64's kvm_state, gic_state and gicv2_state: what a restore refuses in a snapshot's sections
 * before it asks KVM anything (missing sections, bad counts and lengths, registers of another
 * architecture, bytes past a register's width), and that KVM's refusal of a register is named.
 * No KVM needed: the vCPU and GIC fds are invalid, so every register that passes the checks
 * fails at KVM_SET_ONE_REG / KVM_GET_DEVICE_ATTR (EBADF; ENOSYS under qemu-user, which passes no
 * KVM ioctl on). The wall-clock stamp of clock_realtime: its arithmetic and what is refused.
 * The save, and a restore that works,
 * run on a real arm64 KVM in integration/arm64_linux. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "host/kvm/aarch64/gic.h"
#include "host/kvm/aarch64/gic_state.h"
#include "host/kvm/aarch64/gicv2_state.h"
#include "host/kvm/aarch64/timer_stamp.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_state.h"

/* ---- one section of each tag, in memory ---- */

struct one {
	uint32_t tag, inst;
	const void *data;
	size_t len;
};

static const void *get(void *r, uint32_t tag, uint32_t inst, size_t *len)
{
	for (const struct one *s = r; s->data; s++)
		if (s->tag == tag && s->inst == inst) {
			*len = s->len;
			return s->data;
		}
	return NULL;
}

/* A SNAP_VCPU_REGS section: the header (count, reserved), then (id, 16 value bytes) entries. */
struct regs {
	uint32_t count, reserved;
	struct {
		uint64_t id;
		uint8_t value[16];
	} e[2];
};

#define PC_ID (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | 64)

static int restore(const struct regs *r, size_t len, char *err, size_t errlen)
{
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
	struct one s[] = {
	    {SNAP_VCPU_REGS, 0, r, len}, {SNAP_VCPU_MP_STATE, 0, &mp, sizeof(mp)}, {0}};
	return kvm_vcpu_restore(-1, -1, 0, get, s, err, errlen);
}

Test(kvm_state_arm64, missing_registers_refused)
{
	char err[256] = "";
	struct one none[] = {{0}};
	cr_assert_eq(kvm_vcpu_restore(-1, -1, 3, get, none, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "vCPU 3: SNAP_VCPU_REGS is missing"), "%s", err);
}

Test(kvm_state_arm64, bad_count_or_length_refused)
{
	char err[256] = "";
	struct regs r = {.count = 2};
	r.e[0].id = r.e[1].id = PC_ID;
	cr_expect_eq(restore(&r, sizeof(r) - 1, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "bad count or length"), "%s", err);
	r.count = 3;
	cr_expect_eq(restore(&r, sizeof(r), err, sizeof(err)), -EINVAL);
	r.count = 0;
	cr_expect_eq(restore(&r, 8, err, sizeof(err)), -EINVAL);
	r.count = 2, r.reserved = 1;
	cr_expect_eq(restore(&r, sizeof(r), err, sizeof(err)), -EINVAL);
	cr_expect_eq(restore(&r, 4, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "too short"), "%s", err);
}

Test(kvm_state_arm64, foreign_or_overlong_register_refused)
{
	char err[256] = "";
	struct regs r = {.count = 2};
	r.e[0].id = PC_ID;
	r.e[1].id = KVM_REG_X86 | KVM_REG_SIZE_U64 | 1;
	cr_expect_eq(restore(&r, sizeof(r), err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "is no arm64 register"), "%s", err);
	r.e[1].id = PC_ID;
	r.e[1].value[8] = 1; /* past a 64-bit register's bytes */
	cr_expect_eq(restore(&r, sizeof(r), err, sizeof(err)), -EINVAL);
	r.e[1].value[8] = 0;
	r.e[1].id = KVM_REG_ARM64 | KVM_REG_SIZE_U256 | KVM_REG_ARM_CORE; /* wider than saved */
	cr_expect_eq(restore(&r, sizeof(r), err, sizeof(err)), -EINVAL);
}

Test(kvm_state_arm64, kvm_refusal_named)
{
	char err[256] = "";
	struct regs r = {.count = 1};
	r.e[0].id = ARM64_SYS_REG(3, 0, 0, 0, 0); /* MIDR_EL1 */
	int e = restore(&r, sizeof(r) - sizeof(r.e[1]), err, sizeof(err));
	cr_expect(e == -EBADF || e == -ENOSYS, "%d", e);
	cr_expect(strstr(err, "KVM refused system register S3_0_C0_C0_0"), "%s", err);
}

Test(gic_state, missing_or_short_sections_refused)
{
	char err[256] = "";
	struct kvm kvm = {.dev_fd = -1, .vm_fd = -1, .gic_fd = -1, .its_fd = -1};
	struct one none[] = {{0}};
	cr_expect_eq(gic_state_restore(&kvm, NULL, 0, get, none, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VM_GIC_DIST (instance 0) is missing"), "%s", err);
	static struct gic_dist_state d;
	struct one short_dist[] = {{SNAP_VM_GIC_DIST, 0, &d, sizeof(d) - 8}, {0}};
	cr_expect_eq(gic_state_restore(&kvm, NULL, 0, get, short_dist, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "of the wrong length"), "%s", err);
	/* a whole section: then KVM is asked for its number of interrupts (no GIC here) */
	struct one dist[] = {{SNAP_VM_GIC_DIST, 0, &d, sizeof(d)}, {0}};
	int e = gic_state_restore(&kvm, NULL, 0, get, dist, err, sizeof(err));
	cr_expect(e == -EBADF || e == -ENOSYS, "%d", e);
	cr_expect(strstr(err, "NR_IRQS"), "%s", err);
}

Test(gicv2_state, missing_or_short_sections_refused)
{
	char err[256] = "";
	struct kvm kvm = {.dev_fd = -1, .vm_fd = -1, .gic_fd = -1, .its_fd = -1, .gic_version = 2};
	struct one none[] = {{0}};
	cr_expect_eq(gicv2_state_restore(&kvm, 1, get, none, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VM_GICV2_DIST (instance 0) is missing"), "%s", err);
	static struct gicv2_dist_state d;
	struct one short_dist[] = {{SNAP_VM_GICV2_DIST, 0, &d, sizeof(d) - 4}, {0}};
	cr_expect_eq(gicv2_state_restore(&kvm, 1, get, short_dist, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "of the wrong length"), "%s", err);
	/* a whole section: then KVM is asked for its number of interrupts (no GIC here) */
	struct one dist[] = {{SNAP_VM_GICV2_DIST, 0, &d, sizeof(d)}, {0}};
	int e = gicv2_state_restore(&kvm, 1, get, dist, err, sizeof(err));
	cr_expect(e == -EBADF || e == -ENOSYS, "%d", e);
	cr_expect(strstr(err, "NR_IRQS"), "%s", err);
}

/* A snapshot of the other kind of GIC is refused by kvm_vm_restore() before any GIC register,
 * naming both; a snapshot with neither kind reaches the section check of the VM's kind. */
Test(kvm_state_arm64, other_gic_refused)
{
	char err[256] = "";
	static struct gic_dist_state v3;
	static struct gicv2_dist_state v2;
	struct one v3_snap[] = {{SNAP_VM_GIC_DIST, 0, &v3, sizeof(v3)}, {0}};
	struct one v2_snap[] = {{SNAP_VM_GICV2_DIST, 0, &v2, sizeof(v2)}, {0}};
	struct one none[] = {{0}};
	struct kvm kvm = {.dev_fd = -1, .vm_fd = -1, .gic_fd = -1, .its_fd = -1};
	int fds[1] = {-1};

	kvm.gic_version = KVM_GIC_V2;
	cr_expect_eq(kvm_vm_restore(&kvm, fds, 1, get, v3_snap, false, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "the snapshot's VM has a GICv3, and this host's KVM gives this VM "
			      "a GICv2"),
		  "%s", err);
	cr_expect_eq(kvm_vm_restore(&kvm, fds, 1, get, none, false, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VM_GICV2_DIST (instance 0) is missing"), "%s", err);

	kvm.gic_version = KVM_GIC_V3;
	cr_expect_eq(kvm_vm_restore(&kvm, fds, 1, get, v2_snap, false, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "the snapshot's VM has a GICv2, and this host's KVM gives this VM "
			      "a GICv3: restore it on a host whose KVM offers only a GICv2"),
		  "%s", err);
}

Test(timer_stamp, advance_by_the_wall_time_in_ticks)
{
	char err[256] = "";
	uint64_t cnt = 0;
	struct timer_stamp s = {.cnt = 1000, .realtime_ns = 5000000000ull, .cntfrq = 62500000};
	cr_assert_eq(timer_stamp_advance(&s, 7500000000ull, &cnt, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cnt, 1000 + 2500000000ull / 16, "2.5 s at 62.5 MHz: %llu",
		     (unsigned long long)cnt);
	/* a stamp in the future (the host's clock set back): the counter as saved */
	cr_assert_eq(timer_stamp_advance(&s, 1, &cnt, err, sizeof(err)), 0);
	cr_expect_eq(cnt, 1000);
	/* years at 1 GHz: no overflow in the product */
	s.cntfrq = 1000000000;
	uint64_t ten_years = 315360000ull * 1000000000ull;
	cr_assert_eq(timer_stamp_advance(&s, s.realtime_ns + ten_years, &cnt, err, sizeof(err)), 0);
	cr_expect_eq(cnt, 1000 + ten_years);
}

Test(timer_stamp, bad_or_missing_stamp_refused)
{
	char err[256] = "";
	uint64_t cnt = 0;
	struct timer_stamp s = {.cnt = 1, .realtime_ns = 1, .cntfrq = 0};
	cr_expect_eq(timer_stamp_advance(&s, 2, &cnt, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "a counter of 0 Hz"), "%s", err);
	s.cntfrq = 20000000000ull;
	cr_expect_eq(timer_stamp_advance(&s, 2, &cnt, err, sizeof(err)), -EINVAL);
	struct kvm kvm = {.dev_fd = -1, .vm_fd = -1, .gic_fd = -1, .its_fd = -1};
	int fds[1] = {-1};
	struct one none[] = {{0}};
	cr_expect_eq(kvm_vm_restore_late(&kvm, fds, 1, get, none, true, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VM_TIMER_STAMP is missing"), "%s", err);
	struct one wrong[] = {{SNAP_VM_TIMER_STAMP, 0, &s, sizeof(s) - 1}, {0}};
	cr_expect_eq(kvm_vm_restore_late(&kvm, fds, 1, get, wrong, true, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "of the wrong length"), "%s", err);
	/* without clock_realtime the stamp is not looked at */
	cr_expect_eq(kvm_vm_restore_late(&kvm, fds, 1, get, none, false, err, sizeof(err)), 0);
}
