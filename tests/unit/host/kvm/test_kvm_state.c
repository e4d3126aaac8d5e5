/* kvm_state: save a VM's and its vCPU's KVM state as sections, restore it into a second VM and
 * compare; refuse broken sections; a guest stopped mid-loop continues in the second VM; the
 * dirty log. Uses the real /dev/kvm (skipped without it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "base/x86/snapshot_tags.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_probe.h"
#include "host/kvm/kvm_state.h"
#include "host/kvm/kvm_state_test.h"
#include "host/kvm/x86/cpuid.h"
#include "host/kvm/x86/cpuid_test.h"
#include "host/kvm/x86/kvm_state_test.h"

#define MSR_SYSENTER_CS	 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_STAR	 0xc0000081
#define MSR_LSTAR	 0xc0000082
#define MSR_TSC		 0x10
#define APIC_TPR	 0x80
#define APIC_SVR	 0xf0
#define GUEST_CODE	 0x1000
#define GUEST_PORT	 0x10

/* ---- an in-memory section store ---- */

struct section {
	uint32_t tag, inst;
	size_t len;
	uint8_t *data;
};

struct store {
	struct section s[64];
	int n;
};

static int put(void *w, uint32_t tag, uint32_t inst, const void *data, size_t len)
{
	struct store *st = w;
	if (st->n == 64)
		return -ENOSPC;
	struct section *s = &st->s[st->n++];
	*s = (struct section){tag, inst, len, malloc(len + 1)};
	memcpy(s->data, data, len);
	return 0;
}

static struct section *find(struct store *st, uint32_t tag, uint32_t inst)
{
	for (int i = 0; i < st->n; i++)
		if (st->s[i].tag == tag && st->s[i].inst == inst)
			return &st->s[i];
	return NULL;
}

static const void *get(void *r, uint32_t tag, uint32_t inst, size_t *len)
{
	struct section *s = find(r, tag, inst);
	if (!s)
		return NULL;
	*len = s->len;
	return s->data;
}

/* Replaces a section's bytes. */
static void replace(struct store *st, uint32_t tag, uint32_t inst, const void *data, size_t len)
{
	struct section *s = find(st, tag, inst);
	cr_assert_not_null(s);
	free(s->data);
	s->data = malloc(len + 1);
	memcpy(s->data, data, len);
	s->len = len;
}

static void store_free(struct store *st)
{
	for (int i = 0; i < st->n; i++)
		free(st->s[i].data);
	st->n = 0;
}

/* ---- a VM with one vCPU, built with the project's own KVM code ---- */

struct tvm {
	struct kvm kvm;
	struct guest_mem mem;
	void *host;
	int vcpu;
	struct kvm_run *run;
};

static void need_kvm(void)
{
	struct kvm_probe p;
	if (kvm_probe("/dev/kvm", &p) != 0)
		cr_skip_test("no usable KVM (%s): KVM state tests skipped", p.reason);
}

static void tvm_open(struct tvm *t)
{
	static struct cpuid_table cpuid;
	memset(t, 0, sizeof(*t));
	cr_assert_eq(kvm_open_vm(&t->kvm, "/dev/kvm"), 0); /* RAM, then the chips, as vm.c */
	cr_assert_eq(guest_mem_alloc(&t->mem, 2 << 20), 0);
	cr_assert_eq(kvm_map_memory(&t->kvm, &t->mem), 0);
	cr_assert_eq(kvm_create_chips(&t->kvm), 0);
	t->vcpu = ioctl(t->kvm.vm_fd, KVM_CREATE_VCPU, 0UL);
	cr_assert_geq(t->vcpu, 0);
	cr_assert_eq(cpuid_get_supported(t->kvm.dev_fd, &cpuid), 0);
	cpuid_patch_for_vcpu(&cpuid, 0, 1, 1);
	cr_assert_eq(ioctl(t->vcpu, KVM_SET_CPUID2, &cpuid), 0);
	t->run = mmap(NULL, (size_t)t->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->vcpu, 0);
	cr_assert_neq(t->run, MAP_FAILED);
}

static void tvm_close(struct tvm *t)
{
	munmap(t->run, (size_t)t->kvm.vcpu_mmap_size);
	close(t->vcpu);
	kvm_close(&t->kvm);
	guest_mem_free(&t->mem);
}

static void set_msr(int vcpu, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e = {.index = index, .data = value}};
	cr_assert_eq(ioctl(vcpu, KVM_SET_MSRS, &m), 1, "set MSR 0x%x", index);
}

static uint64_t get_msr(int vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e = {.index = index}};
	cr_assert_eq(ioctl(vcpu, KVM_GET_MSRS, &m), 1, "get MSR 0x%x", index);
	return m.e.data;
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;
	memcpy(&v, &l->regs[off], 4);
	return v;
}

static void set_lapic_reg(struct kvm_lapic_state *l, unsigned off, uint32_t v)
{
	memcpy(&l->regs[off], &v, 4);
}

/* Distinctive values in every kind of state. */
static void set_distinctive_state(struct tvm *a)
{
	struct kvm_regs regs = {.rax = 0x1111222233334444ULL,
				.rbx = 0xb0b0,
				.r15 = 0xabcdef0123ULL,
				.rsp = 0x7ff0,
				.rip = 0x1234,
				.rflags = 0x2 | 0x40};
	cr_assert_eq(ioctl(a->vcpu, KVM_SET_REGS, &regs), 0);
	struct kvm_sregs sregs;
	cr_assert_eq(ioctl(a->vcpu, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.base = 0x10000;
	sregs.cs.selector = 0x1000;
	sregs.cr2 = 0xcafe000;
	cr_assert_eq(ioctl(a->vcpu, KVM_SET_SREGS, &sregs), 0);
	set_msr(a->vcpu, MSR_SYSENTER_CS, 0x10);
	set_msr(a->vcpu, MSR_SYSENTER_ESP, 0x55aa00);
	set_msr(a->vcpu, MSR_STAR, 0x0023001000000000ULL);
	set_msr(a->vcpu, MSR_LSTAR, 0xffffffff81000000ULL);
	set_msr(a->vcpu, MSR_TSC, 1ULL << 40);
	struct kvm_lapic_state lapic;
	cr_assert_eq(ioctl(a->vcpu, KVM_GET_LAPIC, &lapic), 0);
	set_lapic_reg(&lapic, APIC_TPR, 0x20);
	set_lapic_reg(&lapic, APIC_SVR, 0x1ef);
	cr_assert_eq(ioctl(a->vcpu, KVM_SET_LAPIC, &lapic), 0);
}

/* The value of MSR `index` in the saved SNAP_VCPU_MSRS section. */
static uint64_t saved_msr(struct store *st, uint32_t index)
{
	struct section *s = find(st, SNAP_VCPU_MSRS, 0);
	uint32_t n;
	cr_assert_not_null(s);
	memcpy(&n, s->data, 4);
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_msr_entry e;
		memcpy(&e, s->data + 8 + i * sizeof(e), sizeof(e));
		if (e.index == index)
			return e.data;
	}
	cr_assert_fail("MSR 0x%x not saved", index);
	return 0;
}

static void save_all(struct tvm *a, struct store *st)
{
	char err[256] = "";
	int e = kvm_vcpu_save(a->kvm.dev_fd, a->vcpu, 0, put, st, err, sizeof(err));
	cr_assert_eq(e, 0, "vcpu save: %d %s", e, err);
	e = kvm_vm_save(&a->kvm, NULL, 0, put, st, err, sizeof(err));
	cr_assert_eq(e, 0, "vm save: %d %s", e, err);
}

static void restore_all(struct tvm *b, struct store *st)
{
	char err[256] = "";
	int e = kvm_vm_restore(&b->kvm, NULL, 0, get, st, false, err, sizeof(err));
	cr_assert_eq(e, 0, "vm restore: %d %s", e, err);
	e = kvm_vcpu_restore(b->kvm.dev_fd, b->vcpu, 0, get, st, err, sizeof(err));
	cr_assert_eq(e, 0, "vcpu restore: %d %s", e, err);
}

Test(kvm_state, vcpu_round_trip)
{
	need_kvm();
	struct tvm a, b;
	struct store st = {0};
	tvm_open(&a);
	set_distinctive_state(&a);
	struct timespec s0, s1;
	clock_gettime(CLOCK_MONOTONIC, &s0);
	save_all(&a, &st);
	clock_gettime(CLOCK_MONOTONIC, &s1);
	cr_log_info("save of the VM and one vCPU: %ld us",
		    (long)((s1.tv_sec - s0.tv_sec) * 1000000 + (s1.tv_nsec - s0.tv_nsec) / 1000));

	static const uint32_t tags[] = {SNAP_VCPU_REGS,	 SNAP_VCPU_SREGS,  SNAP_VCPU_MSRS,
					SNAP_VCPU_LAPIC, SNAP_VCPU_EVENTS, SNAP_VCPU_MP_STATE,
					SNAP_VCPU_XSAVE, SNAP_VCPU_XCRS,   SNAP_VCPU_DEBUGREGS,
					SNAP_VCPU_CPUID};
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		cr_expect_not_null(find(&st, tags[i], 0), "section %u saved", tags[i]);
	cr_assert_eq(find(&st, SNAP_VCPU_XSAVE, 0)->len, kvm_xsave_size(a.kvm.dev_fd));
	uint32_t nmsrs;
	memcpy(&nmsrs, find(&st, SNAP_VCPU_MSRS, 0)->data, 4);
	cr_log_info("saved %u MSRs, XSAVE %zu bytes", nmsrs, find(&st, SNAP_VCPU_XSAVE, 0)->len);

	tvm_open(&b);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	restore_all(&b, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_log_info("restore of the VM and one vCPU: %ld us",
		    (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	struct kvm_regs ra, rb;
	cr_assert_eq(ioctl(a.vcpu, KVM_GET_REGS, &ra), 0);
	cr_assert_eq(ioctl(b.vcpu, KVM_GET_REGS, &rb), 0);
	cr_expect_eq(memcmp(&ra, &rb, sizeof(ra)), 0, "regs equal");
	cr_expect_eq(rb.rax, 0x1111222233334444ULL);
	cr_expect_eq(rb.rip, 0x1234);
	struct kvm_sregs sa, sb;
	cr_assert_eq(ioctl(a.vcpu, KVM_GET_SREGS, &sa), 0);
	cr_assert_eq(ioctl(b.vcpu, KVM_GET_SREGS, &sb), 0);
	cr_expect_eq(sb.cs.base, 0x10000);
	cr_expect_eq(sb.cs.selector, 0x1000);
	cr_expect_eq(sb.cr2, 0xcafe000);
	cr_expect_eq(memcmp(&sa, &sb, sizeof(sa)), 0, "sregs equal");
	cr_expect_eq(get_msr(b.vcpu, MSR_SYSENTER_CS), 0x10);
	cr_expect_eq(get_msr(b.vcpu, MSR_SYSENTER_ESP), 0x55aa00);
	cr_expect_eq(get_msr(b.vcpu, MSR_STAR), 0x0023001000000000ULL);
	cr_expect_eq(get_msr(b.vcpu, MSR_LSTAR), 0xffffffff81000000ULL);
	/* The TSC goes on from the saved value. kvm_pvm ignores writes to it (its guests read
	 * the host's TSC): there the saved value is the host's and only "not behind" is checked. */
	uint64_t saved_tsc = saved_msr(&st, MSR_TSC);
	uint64_t tsc = get_msr(b.vcpu, MSR_TSC);
	cr_expect_geq(tsc, saved_tsc, "TSC not behind the saved one");
	if (saved_tsc < (1ULL << 41))
		cr_expect_lt(tsc, 1ULL << 41, "TSC continues from 2^40: %llx",
			     (unsigned long long)tsc);
	else
		cr_log_info("this KVM ignores TSC writes (guest TSC = host TSC)");
	struct kvm_lapic_state lb;
	cr_assert_eq(ioctl(b.vcpu, KVM_GET_LAPIC, &lb), 0);
	cr_expect_eq(lapic_reg(&lb, APIC_TPR), 0x20);
	cr_expect_eq(lapic_reg(&lb, APIC_SVR), 0x1ef);
	store_free(&st);
	tvm_close(&a);
	tvm_close(&b);
}

/* Restores `st` into a fresh VM's vCPU; returns the result and the message. */
static int try_restore(struct store *st, char *err, size_t errlen)
{
	struct tvm b;
	tvm_open(&b);
	err[0] = 0;
	int e = kvm_vcpu_restore(b.kvm.dev_fd, b.vcpu, 0, get, st, err, errlen);
	tvm_close(&b);
	return e;
}

static void saved_state(struct store *st)
{
	struct tvm a;
	tvm_open(&a);
	set_distinctive_state(&a);
	save_all(&a, st);
	tvm_close(&a);
}

Test(kvm_state, refuses_missing_section)
{
	need_kvm();
	struct store st = {0};
	char err[256];
	saved_state(&st);
	find(&st, SNAP_VCPU_REGS, 0)->tag = 0;
	cr_assert_eq(try_restore(&st, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VCPU_REGS") && strstr(err, "missing"), "%s", err);
	store_free(&st);
}

Test(kvm_state, optional_sections_may_be_absent)
{
	need_kvm();
	struct store st = {0};
	char err[256];
	saved_state(&st);
	find(&st, SNAP_VCPU_XCRS, 0)->tag = 0;
	find(&st, SNAP_VCPU_DEBUGREGS, 0)->tag = 0;
	find(&st, SNAP_VCPU_CPUID, 0)->tag = 0;
	cr_expect_eq(try_restore(&st, err, sizeof(err)), 0, "%s", err);
	find(&st, SNAP_VCPU_MP_STATE, 0)->tag = 0;
	cr_expect_eq(try_restore(&st, err, sizeof(err)), -EINVAL, "MP state is not optional");
	cr_expect(strstr(err, "SNAP_VCPU_MP_STATE"), "%s", err);
	store_free(&st);
}

Test(kvm_state, refuses_short_section)
{
	need_kvm();
	struct store st = {0};
	char err[256];
	saved_state(&st);
	find(&st, SNAP_VCPU_SREGS, 0)->len -= 1;
	cr_assert_eq(try_restore(&st, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VCPU_SREGS") && strstr(err, "bytes"), "%s", err);
	store_free(&st);
}

Test(kvm_state, refuses_xsave_of_another_size)
{
	need_kvm();
	struct store st = {0};
	char err[256];
	saved_state(&st);
	struct section *x = find(&st, SNAP_VCPU_XSAVE, 0);
	cr_assert_not_null(x);
	uint8_t *big = calloc(1, x->len + 64);
	replace(&st, SNAP_VCPU_XSAVE, 0, big, x->len + 64);
	free(big);
	cr_assert_eq(try_restore(&st, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VCPU_XSAVE"), "%s", err);
	store_free(&st);
}

Test(kvm_state, refuses_bad_msr_counts_and_indices)
{
	need_kvm();
	struct store st = {0};
	char err[256];
	saved_state(&st);
	/* A count beyond the bound, with a length that matches it. */
	uint32_t n = KVM_STATE_MAX_MSRS + 1;
	size_t len = 8 + (size_t)n * sizeof(struct kvm_msr_entry);
	uint8_t *buf = calloc(1, len);
	memcpy(buf, &n, 4);
	replace(&st, SNAP_VCPU_MSRS, 0, buf, len);
	cr_assert_eq(try_restore(&st, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VCPU_MSRS") && strstr(err, "at most"), "%s", err);
	/* A count the length does not hold. */
	n = 100;
	memcpy(buf, &n, 4);
	replace(&st, SNAP_VCPU_MSRS, 0, buf, 8 + sizeof(struct kvm_msr_entry));
	cr_assert_eq(try_restore(&st, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VCPU_MSRS") && strstr(err, "entries"), "%s", err);
	/* An MSR KVM does not save. */
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one = {.hdr.nmsrs = 1, .e = {.index = 0xdead0001, .data = 1}};
	replace(&st, SNAP_VCPU_MSRS, 0, &one, sizeof(one));
	cr_assert_eq(try_restore(&st, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "0xdead0001"), "%s", err);
	free(buf);
	store_free(&st);
}

Test(kvm_state, vm_round_trip_and_refusals)
{
	need_kvm();
	struct tvm a, b;
	struct store st = {0};
	char err[256];
	tvm_open(&a);
	struct kvm_pit_state2 pit;
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_GET_PIT2, &pit), 0);
	pit.channels[0].count = 0x1234;
	pit.channels[0].mode = 2;
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_SET_PIT2, &pit), 0);
	struct kvm_irqchip pic = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_GET_IRQCHIP, &pic), 0);
	pic.chip.pic.imr = 0xfa;
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_SET_IRQCHIP, &pic), 0);
	struct kvm_irqchip ioapic = {.chip_id = KVM_IRQCHIP_IOAPIC};
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_GET_IRQCHIP, &ioapic), 0);
	ioapic.chip.ioapic.redirtbl[5].bits = 0x35 | (1ULL << 16) | (3ULL << 56);
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_SET_IRQCHIP, &ioapic), 0);
	const uint64_t t0 = 1000000000000ULL; /* 1000 s of guest time */
	struct kvm_clock_data clk = {.clock = t0};
	cr_assert_eq(ioctl(a.kvm.vm_fd, KVM_SET_CLOCK, &clk), 0);
	cr_assert_eq(kvm_vm_save(&a.kvm, NULL, 0, put, &st, err, sizeof(err)), 0, "%s", err);

	tvm_open(&b);
	cr_assert_eq(kvm_vm_restore(&b.kvm, NULL, 0, get, &st, false, err, sizeof(err)), 0, "%s",
		     err);
	struct kvm_pit_state2 pb;
	cr_assert_eq(ioctl(b.kvm.vm_fd, KVM_GET_PIT2, &pb), 0);
	cr_expect_eq(pb.channels[0].count, 0x1234);
	cr_expect_eq(pb.channels[0].mode, 2);
	struct kvm_irqchip c = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
	cr_assert_eq(ioctl(b.kvm.vm_fd, KVM_GET_IRQCHIP, &c), 0);
	cr_expect_eq(c.chip.pic.imr, 0xfa);
	c = (struct kvm_irqchip){.chip_id = KVM_IRQCHIP_IOAPIC};
	cr_assert_eq(ioctl(b.kvm.vm_fd, KVM_GET_IRQCHIP, &c), 0);
	cr_expect_eq(c.chip.ioapic.redirtbl[5].bits, ioapic.chip.ioapic.redirtbl[5].bits);
	struct kvm_clock_data cb = {0};
	cr_assert_eq(ioctl(b.kvm.vm_fd, KVM_GET_CLOCK, &cb), 0);
	cr_expect(cb.clock >= t0 && cb.clock < 2 * t0, "clock continues from the saved value: %llu",
		  (unsigned long long)cb.clock);

	/* A chip in the wrong instance, then a missing clock. */
	struct section *s = find(&st, SNAP_VM_IRQCHIP, 1);
	struct kvm_irqchip wrong;
	memcpy(&wrong, s->data, sizeof(wrong));
	wrong.chip_id = KVM_IRQCHIP_IOAPIC;
	replace(&st, SNAP_VM_IRQCHIP, 1, &wrong, sizeof(wrong));
	cr_expect_eq(kvm_vm_restore(&b.kvm, NULL, 0, get, &st, false, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VM_IRQCHIP"), "%s", err);
	wrong.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	replace(&st, SNAP_VM_IRQCHIP, 1, &wrong, sizeof(wrong));
	find(&st, SNAP_VM_CLOCK, 0)->tag = 0;
	cr_expect_eq(kvm_vm_restore(&b.kvm, NULL, 0, get, &st, false, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "SNAP_VM_CLOCK") && strstr(err, "missing"), "%s", err);
	store_free(&st);
	tvm_close(&a);
	tvm_close(&b);
}

static uint64_t wall_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* clock_realtime: a saved clock stamped 3 s ago comes back 3 s later (KVM adds the wall time
 * since the stamp); a clock without a stamp is refused, naming why. */
Test(kvm_state, vm_clock_realtime)
{
	need_kvm();
	struct tvm a, b;
	struct store st = {0};
	char err[512] = "";
	tvm_open(&a);
	cr_assert_eq(kvm_vm_save(&a.kvm, NULL, 0, put, &st, err, sizeof(err)), 0, "%s", err);
	tvm_open(&b);
	int caps = ioctl(b.kvm.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK);
	bool host_ok = caps > 0 && (caps & KVM_CLOCK_REALTIME);

	const uint64_t t0 = 1000000000000ULL, gap = 3000000000ULL;
	struct kvm_clock_data clk = {.clock = t0};
	replace(&st, SNAP_VM_CLOCK, 0, &clk, sizeof(clk));
	int e = kvm_vm_restore(&b.kvm, NULL, 0, get, &st, true, err, sizeof(err));
	cr_expect_eq(e, host_ok ? -EINVAL : -EOPNOTSUPP, "%d %s", e, err);
	cr_expect(strstr(err, "clock_realtime"), "%s", err);
	if (host_ok)
		cr_expect(strstr(err, "no wall-clock stamp"), "%s", err);

	clk = (struct kvm_clock_data){
	    .clock = t0, .flags = KVM_CLOCK_REALTIME, .realtime = wall_ns() - gap};
	replace(&st, SNAP_VM_CLOCK, 0, &clk, sizeof(clk));
	e = kvm_vm_restore(&b.kvm, NULL, 0, get, &st, true, err, sizeof(err));
	if (!host_ok) {
		cr_expect_eq(e, -EOPNOTSUPP, "%d %s", e, err);
	} else {
		cr_assert_eq(e, 0, "%s", err);
		struct kvm_clock_data cb = {0};
		cr_assert_eq(ioctl(b.kvm.vm_fd, KVM_GET_CLOCK, &cb), 0);
		cr_expect(cb.clock >= t0 + gap && cb.clock < t0 + gap + 2000000000ULL,
			  "advanced by about 3 s: %llu", (unsigned long long)(cb.clock - t0));
	}
	/* without clock_realtime the stamp is ignored: the clock is as saved */
	cr_assert_eq(kvm_vm_restore(&b.kvm, NULL, 0, get, &st, false, err, sizeof(err)), 0, "%s",
		     err);
	struct kvm_clock_data cc = {0};
	cr_assert_eq(ioctl(b.kvm.vm_fd, KVM_GET_CLOCK, &cc), 0);
	cr_expect(cc.clock >= t0 && cc.clock < t0 + 1000000000ULL, "as saved: %llu",
		  (unsigned long long)(cc.clock - t0));
	store_free(&st);
	tvm_close(&a);
	tvm_close(&b);
}

/* ---- a running guest ----
 *
 * Real mode at GUEST_CODE:  inc eax; mov [0x5000], eax; out 0x10, al; jmp GUEST_CODE */
static const uint8_t loop_code[] = {0x66, 0x40, 0x66,	    0xa3, 0x00,
				    0x50, 0xe6, GUEST_PORT, 0xeb, 0xf6};

static void start_guest(struct tvm *t)
{
	cr_assert_eq(guest_mem_write(&t->mem, GUEST_CODE, loop_code, sizeof(loop_code)), 0);
	struct kvm_sregs sregs;
	cr_assert_eq(ioctl(t->vcpu, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	cr_assert_eq(ioctl(t->vcpu, KVM_SET_SREGS, &sregs), 0);
	struct kvm_regs regs = {.rip = GUEST_CODE, .rflags = 2, .rbx = 0xdeadbeef, .rsp = 0x7000};
	cr_assert_eq(ioctl(t->vcpu, KVM_SET_REGS, &regs), 0);
}

/* Runs to the next OUT and returns the byte written. */
static uint8_t run_to_out(struct tvm *t)
{
	int r = ioctl(t->vcpu, KVM_RUN, 0);
	cr_assert_eq(r, 0, "KVM_RUN: %s", strerror(errno));
	cr_assert_eq(t->run->exit_reason, KVM_EXIT_IO, "exit %u", t->run->exit_reason);
	cr_assert_eq(t->run->io.port, GUEST_PORT);
	return *((uint8_t *)t->run + t->run->io.data_offset);
}

/* Lets KVM finish the instruction of the last exit without running more (KVM API doc). */
static void complete_exit(struct tvm *t)
{
	t->run->immediate_exit = 1;
	cr_assert_eq(ioctl(t->vcpu, KVM_RUN, 0), -1);
	cr_assert_eq(errno, EINTR);
	t->run->immediate_exit = 0;
}

Test(kvm_state, guest_continues_in_second_vm)
{
	need_kvm();
	struct tvm a, b;
	struct store st = {0};
	tvm_open(&a);
	start_guest(&a);
	for (uint8_t i = 1; i <= 3; i++)
		cr_assert_eq(run_to_out(&a), i);
	complete_exit(&a);
	struct kvm_regs saved;
	cr_assert_eq(ioctl(a.vcpu, KVM_GET_REGS, &saved), 0);
	cr_assert_eq(saved.rax, 3);
	cr_assert_eq(saved.rip, GUEST_CODE + 8, "RIP past the OUT: %llx",
		     (unsigned long long)saved.rip);
	save_all(&a, &st);

	tvm_open(&b);
	memcpy(b.mem.regions[0].host, a.mem.regions[0].host, a.mem.regions[0].size);
	restore_all(&b, &st);
	struct kvm_regs rb;
	cr_assert_eq(ioctl(b.vcpu, KVM_GET_REGS, &rb), 0);
	cr_assert_eq(memcmp(&rb, &saved, sizeof(rb)), 0, "registers restored");
	cr_assert_eq(run_to_out(&b), 4, "the second VM continues the loop");
	cr_assert_eq(run_to_out(&a), 4, "the first VM too");
	struct kvm_regs ra;
	cr_assert_eq(ioctl(a.vcpu, KVM_GET_REGS, &ra), 0);
	cr_assert_eq(ioctl(b.vcpu, KVM_GET_REGS, &rb), 0);
	cr_expect_eq(rb.rax, 4);
	cr_expect_eq(rb.rbx, 0xdeadbeef);
	cr_expect_eq(rb.rip, ra.rip);
	cr_expect_eq(rb.rflags, ra.rflags);
	uint32_t word;
	cr_assert_eq(guest_mem_read(&b.mem, 0x5000, &word, 4), 0);
	cr_expect_eq(word, 4, "the guest's store in the second VM");
	store_free(&st);
	tvm_close(&a);
	tvm_close(&b);
}

static bool bit(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

static size_t count_bits(const uint64_t *bm, size_t words)
{
	size_t n = 0;
	for (size_t i = 0; i < words; i++)
		n += (size_t)__builtin_popcountll(bm[i]);
	return n;
}

/* Two regions, the first 259 pages long (not a multiple of 64), so region 1's pages start in
 * the middle of a bitmap word: the guest writes page 5 and region 1's page 1 (page 260). */
Test(kvm_state, dirty_log_two_regions)
{
	need_kvm();
	struct tvm t;
	tvm_open(&t);
	/* Replace the VM's memory by two regions of our own. */
	for (uint32_t i = 0; i < (uint32_t)t.mem.nregions; i++) {
		struct kvm_userspace_memory_region del = {.slot = i};
		cr_assert_eq(ioctl(t.kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &del), 0);
	}
	guest_mem_free(&t.mem);
	const uint64_t r0 = 259 * 4096, r1 = 256 * 4096, r1_gpa = 0x200000;
	uint8_t *h0 = mmap(NULL, r0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *h1 = mmap(NULL, r1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_eq(guest_mem_add_region(&t.mem, 0, h0, r0), 0);
	cr_assert_eq(guest_mem_add_region(&t.mem, r1_gpa, h1, r1), 0);
	cr_assert_eq(kvm_map_memory(&t.kvm, &t.mem), 0);
	cr_assert_eq(kvm_dirty_bitmap_words(&t.mem), (259 + 256 + 63) / 64);

	/* inc eax; mov [0x5000], eax; es: mov [0x1000], eax (es.base = region 1); out; jmp */
	static const uint8_t code[] = {0x66, 0x40, 0x66, 0xa3, 0x00,	   0x50, 0x26, 0x66,
				       0xa3, 0x00, 0x10, 0xe6, GUEST_PORT, 0xeb, 0xf1};
	start_guest(&t);
	cr_assert_eq(guest_mem_write(&t.mem, GUEST_CODE, code, sizeof(code)), 0);
	struct kvm_sregs sregs;
	cr_assert_eq(ioctl(t.vcpu, KVM_GET_SREGS, &sregs), 0);
	sregs.es.base = r1_gpa;
	cr_assert_eq(ioctl(t.vcpu, KVM_SET_SREGS, &sregs), 0);

	cr_assert_eq(kvm_dirty_log_start(&t.kvm, &t.mem), 0);
	uint64_t bm[16];
	cr_assert_eq(kvm_dirty_log_get(&t.kvm, &t.mem, bm), 0);
	cr_expect_eq(count_bits(bm, kvm_dirty_bitmap_words(&t.mem)), 0, "nothing written yet");
	cr_assert_eq(run_to_out(&t), 1);
	cr_assert_eq(kvm_dirty_log_get(&t.kvm, &t.mem, bm), 0);
	cr_expect(bit(bm, 5), "page 0x5000");
	cr_expect(bit(bm, 259 + 1), "region 1, page 1");
	cr_expect_eq(count_bits(bm, kvm_dirty_bitmap_words(&t.mem)), 2, "only those two");
	cr_assert_eq(kvm_dirty_log_get(&t.kvm, &t.mem, bm), 0);
	cr_expect_eq(count_bits(bm, kvm_dirty_bitmap_words(&t.mem)), 0, "the log was cleared");
	cr_assert_eq(run_to_out(&t), 2);
	cr_assert_eq(kvm_dirty_log_get(&t.kvm, &t.mem, bm), 0);
	cr_expect(bit(bm, 5) && bit(bm, 260), "written again");
	cr_assert_eq(kvm_dirty_log_stop(&t.kvm, &t.mem), 0);

	uint32_t v;
	memcpy(&v, h1 + 0x1000, 4);
	cr_expect_eq(v, 2);
	t.mem.nregions = 0; /* ours, not guest_mem_alloc's */
	tvm_close(&t);
	munmap(h0, r0);
	munmap(h1, r1);
}

/* A host without XSAVE refuses KVM_SET_XCRS: a guest shown no XSAVE (XCR0 = x87, its reset
 * value) is restored there without it (snapshot_cpu_hosts); anything else is set and refused. */
Test(kvm_state, xcrs_set_unless_at_reset_on_a_host_without_xsave)
{
	struct kvm_xcrs x = {.nr_xcrs = 1, .xcrs = {{.xcr = 0, .value = 1}}};
	cr_expect(kvm_xcrs_to_set(&x, true), "a host with XSAVE sets them all");
	cr_expect_not(kvm_xcrs_to_set(&x, false));
	x.xcrs[0].value = 7; /* x87, SSE, AVX */
	cr_expect(kvm_xcrs_to_set(&x, false));
	x.nr_xcrs = 0;
	cr_expect_not(kvm_xcrs_to_set(&x, false), "none: nothing to set");
}
