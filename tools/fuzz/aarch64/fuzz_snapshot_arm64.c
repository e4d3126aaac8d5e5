/* libFuzzer target (arm64 builds only: FUZZ_ARCH=aarch64 tools/fuzz/fuzz): the arm64 KVM state
 * of a snapshot as the VMM restores it (host/kvm/aarch64/kvm_state.c: SNAP_VCPU_REGS,
 * SNAP_VCPU_MP_STATE, SNAP_VCPU_EVENTS; gic_state.c: SNAP_VM_GIC_DIST, SNAP_VM_GIC_VCPU,
 * SNAP_VM_GIC_ITS; gicv2_state.c: SNAP_VM_GICV2_DIST, SNAP_VM_GICV2_VCPU; timer_stamp.c:
 * SNAP_VM_TIMER_STAMP, with clock_realtime) and the arm64 CPU model check
 * (vmm/snapshot/aarch64/cpu_check.c, SNAP_CPU_MODEL), over the in-memory KVM of fake_kvm.h (linked
 * in with --wrap).
 *
 * Input: three control bytes, then sections, each a little-endian u32 tag, u32 instance and u32
 * length followed by that many bytes (the container itself is fuzz_snapshot's); the first of a
 * (tag, instance) counts. Control byte 0: bit 0 two vCPUs (else one), bit 1 an ITS, bits 2-6 the
 * GIC's interrupts (64 + 32 n: some beyond the 1024 a snapshot holds); byte 1: KVM refuses the
 * n-th register write of each vCPU (0: none); byte 2: bit 0 the CPU check enforces, bit 1 the
 * host's ID registers are the model's own (else zero), bit 2 the restore has clock_realtime,
 * bit 3 the VM's GIC is a GICv2 (then without an ITS).
 *
 * Invariants:
 *   - every refusal has a message;
 *   - a bad SNAP_VCPU_REGS (its count, length, reserved field, or any entry: not arm64, wider
 *     than 128 bits, bytes past its width) writes no register of that vCPU, and a bad
 *     SNAP_VM_GIC_DIST or SNAP_VM_GICV2_DIST nothing of the GIC;
 *   - a restore that succeeds saves again (kvm_vcpu_save, kvm_vm_save) to the same sections:
 *     the GIC's, the MP state, the events, and the registers when no ID repeats (a field saved
 *     but never restored shows here);
 *   - an enforced CPU model check accepts only a model of the right size holding the host's
 *     values (at 16 + 16 i + 8). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_state.h"
#include "tools/fuzz/aarch64/fake_kvm.h"
#include "tools/fuzz/fuzz_mem.h"
#include "vmm/snapshot/cpu_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SECTIONS 64
#define INVARIANT(c) FZ_ASSERT(c, "%s (%s:%d)", #c, __FILE__, __LINE__)

struct section {
	uint32_t tag, inst;
	const uint8_t *p;
	size_t len;
	uint8_t *owned; /* a saved section's copy */
};

struct store {
	struct section s[MAX_SECTIONS];
	unsigned n;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const struct section *find(const struct store *st, uint32_t tag, uint32_t inst)
{
	for (unsigned i = 0; i < st->n; i++)
		if (st->s[i].tag == tag && st->s[i].inst == inst)
			return &st->s[i];
	return NULL;
}

static const void *get(void *r, uint32_t tag, uint32_t inst, size_t *len)
{
	const struct section *s = find(r, tag, inst);
	if (s && len)
		*len = s->len;
	return s ? (s->len ? (const void *)s->p : (const void *)"") : NULL;
}

static int put(void *w, uint32_t tag, uint32_t inst, const void *data, size_t len)
{
	struct store *st = w;
	if (find(st, tag, inst))
		return -EEXIST;
	if (st->n == MAX_SECTIONS)
		return -ENOSPC;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	st->s[st->n++] = (struct section){tag, inst, copy, len, copy};
	return 0;
}

static void parse(struct store *st, const uint8_t *p, size_t n)
{
	while (n >= 12 && st->n < MAX_SECTIONS) {
		uint32_t tag = le32(p), inst = le32(p + 4), len = le32(p + 8);
		p += 12, n -= 12;
		if (len > n)
			len = (uint32_t)n;
		if (!find(st, tag, inst))
			st->s[st->n++] = (struct section){tag, inst, p, len, NULL};
		p += len, n -= len;
	}
}

static void same(const struct store *in, const struct store *out, uint32_t tag, uint32_t inst)
{
	const struct section *a = find(in, tag, inst), *b = find(out, tag, inst);
	INVARIANT(a && b && a->len == b->len && !memcmp(a->p, b->p, a->len));
}

/* The registers of SNAP_VCPU_REGS (its head's count), for the repeated-ID check. */
static uint32_t regs_count(const struct store *st, unsigned i)
{
	const struct section *s = find(st, SNAP_VCPU_REGS, i);
	return s && s->len >= 4 ? le32(s->p) : 0;
}

static void round_trip(const struct store *in, const struct kvm *kvm, const int *fds, unsigned n)
{
	struct store out = {.n = 0};
	char err[256] = "";
	for (unsigned i = 0; i < n; i++)
		INVARIANT(!kvm_vcpu_save(FAKE_KVM_DEV, fds[i], i, put, &out, err, sizeof(err)));
	INVARIANT(!kvm_vm_save(kvm, fds, n, put, &out, err, sizeof(err)));
	for (unsigned i = 0; i < n; i++) {
		same(in, &out, SNAP_VCPU_MP_STATE, i);
		if (find(in, SNAP_VCPU_EVENTS, i))
			same(in, &out, SNAP_VCPU_EVENTS, i);
		if (fake_kvm_reg_count(i) == regs_count(in, i))
			same(in, &out, SNAP_VCPU_REGS, i);
		same(in, &out, kvm->gic_version == 2 ? SNAP_VM_GICV2_VCPU : SNAP_VM_GIC_VCPU, i);
	}
	same(in, &out, kvm->gic_version == 2 ? SNAP_VM_GICV2_DIST : SNAP_VM_GIC_DIST, 0);
	if (kvm->its_fd >= 0)
		same(in, &out, SNAP_VM_GIC_ITS, 0);
	for (unsigned i = 0; i < out.n; i++)
		free(out.s[i].owned);
}

static void check_model(const struct store *st, uint8_t ctl)
{
	const struct section *s = find(st, SNAP_CPU_MODEL, 0);
	const size_t model_len = 16 + 16 * ARM64_CPU_IDS;
	char err[512] = "";
	bool enforce = ctl & 1;
	if (s && (ctl & 2) && s->len == model_len)
		for (unsigned i = 0; i < ARM64_CPU_IDS; i++)
			memcpy(&fake_kvm.host_ids[i], s->p + 16 + 16 * i + 8, 8);
	int r = cpu_check_model(s ? s->p : NULL, s ? s->len : 0, "fuzz", "/nonexistent", enforce,
				err, sizeof(err));
	INVARIANT(!r || err[0]);
	if (!r && enforce) {
		INVARIANT(s->len == model_len);
		for (unsigned i = 0; i < ARM64_CPU_IDS; i++)
			INVARIANT(!memcmp(&fake_kvm.host_ids[i], s->p + 16 + 16 * i + 8, 8));
	}
}

static int restore_vcpus(const struct store *st, const int *fds, unsigned n)
{
	char err[256] = "";
	for (unsigned i = 0; i < n; i++) {
		int r =
		    kvm_vcpu_restore(FAKE_KVM_DEV, fds[i], i, get, (void *)st, err, sizeof(err));
		INVARIANT(!r || err[0]);
		if (r && strstr(err, "SNAP_VCPU_REGS"))
			INVARIANT(fake_kvm.reg_writes[i] == 0);
		if (r)
			return r;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store in = {.n = 0};
	int fds[2] = {FAKE_KVM_VCPU0, FAKE_KVM_VCPU0 + 1};
	char err[256] = "";
	if (size < 3)
		return 0;
	fake_kvm_reset();
	unsigned ncpus = 1 + (data[0] & 1);
	bool v2 = data[2] & 8;
	struct kvm kvm = {.dev_fd = FAKE_KVM_DEV,
			  .vm_fd = -1,
			  .gic_fd = FAKE_KVM_GIC,
			  .its_fd = data[0] & 2 && !v2 ? FAKE_KVM_ITS : -1,
			  .gic_version = v2 ? 2 : 3};
	fake_kvm.nr_irqs = 64 + 32u * ((data[0] >> 2) & 31);
	fake_kvm.refuse_reg = data[1];
	parse(&in, data + 3, size - 3);

	check_model(&in, data[2]);
	if (restore_vcpus(&in, fds, ncpus))
		return 0;
	unsigned long writes = fake_kvm.writes;
	bool realtime = data[2] & 4;
	int r = kvm_vm_restore(&kvm, fds, ncpus, get, &in, realtime, err, sizeof(err));
	INVARIANT(!r || err[0]);
	if (r && (strstr(err, "SNAP_VM_GIC_DIST") || strstr(err, "SNAP_VM_GICV2_DIST")))
		INVARIANT(fake_kvm.writes == writes);
	if (!r)
		r = kvm_vm_restore_late(&kvm, fds, ncpus, get, &in, realtime, err, sizeof(err));
	INVARIANT(!r || err[0]);
	if (!r && realtime) /* the counter moved: the registers no longer round-trip */
		return 0;
	if (!r)
		round_trip(&in, &kvm, fds, ncpus);
	return 0;
}
