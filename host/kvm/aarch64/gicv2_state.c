/* The GICv2's state in a snapshot (gicv2_state.h). As gic_state.c does for the GICv3, one walk
 * over the registers serves both directions, in the order a restore needs. */
#include "host/kvm/aarch64/gicv2_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "host/kvm/aarch64/gic_io.h"
#include "host/kvm/kvm.h"

/* Distributor offsets (GICv2 architecture specification, 4.1.2); each set register's clear twin
 * is CLEAR_OFF above it (SPENDSGIR's, CPENDSGIR, is 0x10 below). */
#define GICD_CTLR	0x000
#define GICD_IIDR	0x008
#define GICD_IGROUPR	0x080
#define GICD_ISENABLER	0x100
#define GICD_ISPENDR	0x200
#define GICD_ISACTIVER	0x300
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR	0x800
#define GICD_ICFGR	0xc00
#define GICD_CPENDSGIR	0xf10
#define GICD_SPENDSGIR	0xf20
#define CLEAR_OFF	0x080
/* CPU interface offsets (4.1.3) */
#define GICC_CTLR 0x00
#define GICC_PMR  0x04
#define GICC_BPR  0x08
#define GICC_ABPR 0x1c
#define GICC_APR  0xd0

#define PPI_BITS 0xffff0000u /* ISPENDR0's PPIs: its SGIs' pending state is SPENDSGIR's */

static void dist_reg(struct gic_io *io, int fd, unsigned cpu, uint32_t off, uint32_t *v,
		     const char *what, unsigned n)
{
	uint64_t attr = (uint64_t)cpu << KVM_DEV_ARM_VGIC_CPUID_SHIFT | off;
	gic_io_attr(io, fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, attr, v, what, n);
}

/* A set/clear pair, for the bits of `mask`: a restore clears what the state has not, then sets
 * what it has (a new VM's GIC has its SGIs enabled); a save reads the set register. */
static void dist_bits(struct gic_io *io, int fd, unsigned cpu, uint32_t set_off, uint32_t clear_off,
		      uint32_t *v, uint32_t mask, const char *what, unsigned n)
{
	if (!io->set) {
		dist_reg(io, fd, cpu, set_off, v, what, n);
		return;
	}
	uint32_t clear = ~*v & mask, set = *v & mask;
	dist_reg(io, fd, cpu, clear_off, &clear, what, n);
	dist_reg(io, fd, cpu, set_off, &set, what, n);
}

static void walk_spis(struct gic_io *io, int fd, struct gicv2_dist_state *d)
{
	unsigned words = d->nr_irqs / 32;
	for (unsigned i = 1; i < words; i++)
		dist_reg(io, fd, 0, GICD_IGROUPR + 4 * i, &d->igroupr[i], "GICD_IGROUPR", i);
	for (unsigned i = 2; i < 2 * words; i++)
		dist_reg(io, fd, 0, GICD_ICFGR + 4 * i, &d->icfgr[i], "GICD_ICFGR", i);
	for (unsigned i = 8; i < 8 * words; i++) {
		dist_reg(io, fd, 0, GICD_IPRIORITYR + 4 * i, &d->ipriorityr[i], "GICD_IPRIORITYR",
			 i);
		dist_reg(io, fd, 0, GICD_ITARGETSR + 4 * i, &d->itargetsr[i], "GICD_ITARGETSR", i);
	}
	for (unsigned i = 1; i < words; i++) {
		uint32_t off = 4 * i;
		dist_bits(io, fd, 0, GICD_ISPENDR + off, GICD_ISPENDR + CLEAR_OFF + off,
			  &d->ispendr[i], ~0u, "GICD_ISPENDR", i);
		dist_bits(io, fd, 0, GICD_ISENABLER + off, GICD_ISENABLER + CLEAR_OFF + off,
			  &d->isenabler[i], ~0u, "GICD_ISENABLER", i);
		dist_bits(io, fd, 0, GICD_ISACTIVER + off, GICD_ISACTIVER + CLEAR_OFF + off,
			  &d->isactiver[i], ~0u, "GICD_ISACTIVER", i);
	}
}

/* vCPU `cpu`'s banked distributor registers: its SGIs and PPIs. */
static void walk_banked(struct gic_io *io, int fd, unsigned cpu, struct gicv2_vcpu_state *v)
{
	dist_reg(io, fd, cpu, GICD_IGROUPR, &v->igroupr0, "GICD_IGROUPR0", cpu);
	dist_reg(io, fd, cpu, GICD_ICFGR + 4, &v->icfgr1, "GICD_ICFGR1", cpu);
	for (unsigned i = 0; i < 8; i++)
		dist_reg(io, fd, cpu, GICD_IPRIORITYR + 4 * i, &v->ipriorityr[i], "GICD_IPRIORITYR",
			 i);
	dist_bits(io, fd, cpu, GICD_ISPENDR, GICD_ISPENDR + CLEAR_OFF, &v->ispendr0, PPI_BITS,
		  "GICD_ISPENDR0", cpu);
	for (unsigned i = 0; i < 4; i++)
		dist_bits(io, fd, cpu, GICD_SPENDSGIR + 4 * i, GICD_CPENDSGIR + 4 * i,
			  &v->spendsgir[i], ~0u, "GICD_SPENDSGIR", i);
	dist_bits(io, fd, cpu, GICD_ISENABLER, GICD_ISENABLER + CLEAR_OFF, &v->isenabler0, ~0u,
		  "GICD_ISENABLER0", cpu);
	dist_bits(io, fd, cpu, GICD_ISACTIVER, GICD_ISACTIVER + CLEAR_OFF, &v->isactiver0, ~0u,
		  "GICD_ISACTIVER0", cpu);
}

static void walk_cpu_if(struct gic_io *io, int fd, unsigned cpu, struct gicv2_vcpu_state *v)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_CPU_REGS;
	const uint64_t a = (uint64_t)cpu << KVM_DEV_ARM_VGIC_CPUID_SHIFT;
	gic_io_attr(io, fd, g, a | GICC_CTLR, &v->gicc_ctlr, "GICC_CTLR", cpu);
	gic_io_attr(io, fd, g, a | GICC_PMR, &v->gicc_pmr, "GICC_PMR", cpu);
	gic_io_attr(io, fd, g, a | GICC_BPR, &v->gicc_bpr, "GICC_BPR", cpu);
	gic_io_attr(io, fd, g, a | GICC_ABPR, &v->gicc_abpr, "GICC_ABPR", cpu);
	for (unsigned n = 0; n < 4; n++)
		gic_io_attr(io, fd, g, a | (GICC_APR + 4 * n), &v->gicc_apr[n], "GICC_APR", n);
}

static void read_nr_irqs(struct gic_io *io, const struct kvm *kvm, uint32_t *nr)
{
	struct gic_io get = {.err = io->err, .errlen = io->errlen};
	gic_io_attr(&get, kvm->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nr, "NR_IRQS", 0);
	if (!get.e && (*nr < 64 || *nr > GICV2_STATE_MAX_IRQS || *nr % 32)) {
		snprintf(io->err, io->errlen, "GIC: KVM reports %u interrupts", *nr);
		get.e = -ERANGE;
	}
	io->e = io->e ? io->e : get.e;
}

int gicv2_state_save(const struct kvm *kvm, unsigned ncpus, snap_put_fn put, void *w, char *err,
		     size_t errlen)
{
	struct gic_io io = {.set = false, .err = err, .errlen = errlen};
	struct gicv2_dist_state *d = calloc(1, sizeof(*d)); /* 8 KiB */
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	read_nr_irqs(&io, kvm, &d->nr_irqs);
	dist_reg(&io, kvm->gic_fd, 0, GICD_IIDR, &d->iidr, "GICD_IIDR", 0);
	walk_spis(&io, kvm->gic_fd, d);
	dist_reg(&io, kvm->gic_fd, 0, GICD_CTLR, &d->ctlr, "GICD_CTLR", 0);
	gic_io_put(&io, put, w, SNAP_VM_GICV2_DIST, 0, d, sizeof(*d), "SNAP_VM_GICV2_DIST");
	free(d);
	for (unsigned i = 0; i < ncpus && !io.e; i++) {
		struct gicv2_vcpu_state v;
		memset(&v, 0, sizeof(v));
		walk_banked(&io, kvm->gic_fd, i, &v);
		walk_cpu_if(&io, kvm->gic_fd, i, &v);
		gic_io_put(&io, put, w, SNAP_VM_GICV2_VCPU, i, &v, sizeof(v), "SNAP_VM_GICV2_VCPU");
	}
	return io.e;
}

/* ---- restore: the sections checked before any register is written ---- */

/* A byte per interrupt (or SGI source) naming CPUs among the first ncpus. */
static bool targets_ok(const uint32_t *bytes, unsigned from, unsigned n, unsigned ncpus)
{
	uint32_t cpus = (ncpus >= 8 ? 0xffu : (1u << ncpus) - 1) * 0x01010101u;
	for (unsigned i = from; i < n; i++)
		if (bytes[i] & ~cpus)
			return false;
	return true;
}

/* Nothing outside the SPIs of a GIC with d->nr_irqs interrupts, no target beyond the vCPUs. */
static bool dist_ok(const struct gicv2_dist_state *d, unsigned ncpus)
{
	const unsigned max = GICV2_STATE_MAX_IRQS, words = d->nr_irqs / 32;
	const uint32_t *bitmaps[] = {d->igroupr, d->isenabler, d->ispendr, d->isactiver};
	if (d->reserved)
		return false;
	for (unsigned b = 0; b < sizeof(bitmaps) / sizeof(bitmaps[0]); b++)
		if (bitmaps[b][0] || !gic_zero_from(bitmaps[b], words, max / 32))
			return false;
	if (d->icfgr[0] || d->icfgr[1] || !gic_zero_from(d->icfgr, 2 * words, max / 16))
		return false;
	const uint32_t *bytes[] = {d->ipriorityr, d->itargetsr};
	for (unsigned b = 0; b < 2; b++)
		if (!gic_zero_from(bytes[b], 0, 8) || !gic_zero_from(bytes[b], 8 * words, max / 4))
			return false;
	return targets_ok(d->itargetsr, 8, 8 * words, ncpus);
}

static int restore_dist(const struct kvm *kvm, unsigned ncpus, struct gicv2_dist_state *d,
			snap_get_fn get, void *r, struct gic_io *io)
{
	const void *p = gic_io_section(get, r, SNAP_VM_GICV2_DIST, 0, sizeof(*d),
				       "SNAP_VM_GICV2_DIST", io->err, io->errlen);
	uint32_t nr = 0;
	if (!p)
		return -EINVAL;
	memcpy(d, p, sizeof(*d));
	read_nr_irqs(io, kvm, &nr);
	if (io->e)
		return io->e;
	if (d->nr_irqs != nr || !dist_ok(d, ncpus)) {
		snprintf(io->err, io->errlen,
			 "SNAP_VM_GICV2_DIST: %u interrupts%s, this VM's GIC has %u", d->nr_irqs,
			 d->nr_irqs == nr ? " and state outside them or their vCPUs" : "", nr);
		return -EINVAL;
	}
	dist_reg(io, kvm->gic_fd, 0, GICD_IIDR, &d->iidr, "GICD_IIDR", 0);
	walk_spis(io, kvm->gic_fd, d);
	return io->e;
}

/* An SGI is pending (ISPENDR0's bit) exactly when some CPU's SGI is (its SPENDSGIR byte), as
 * KVM reports them; only CPUs of the VM send SGIs. */
static bool sgis_ok(const struct gicv2_vcpu_state *v, unsigned ncpus)
{
	for (unsigned i = 0; i < 16; i++) {
		uint32_t sources = (v->spendsgir[i / 4] >> (8 * (i % 4))) & 0xff;
		if (!(v->ispendr0 >> i & 1) != !sources)
			return false;
	}
	return targets_ok(v->spendsgir, 0, 4, ncpus);
}

static int restore_vcpus(const struct kvm *kvm, unsigned ncpus, snap_get_fn get, void *r,
			 struct gic_io *io)
{
	for (unsigned i = 0; i < ncpus; i++) { /* every section checked first */
		struct gicv2_vcpu_state v;     /* copied: a section's bytes need not be aligned */
		const void *p = gic_io_section(get, r, SNAP_VM_GICV2_VCPU, i, sizeof(v),
					       "SNAP_VM_GICV2_VCPU", io->err, io->errlen);
		if (!p)
			return -EINVAL;
		memcpy(&v, p, sizeof(v));
		if (v.reserved || !sgis_ok(&v, ncpus)) {
			snprintf(io->err, io->errlen, "SNAP_VM_GICV2_VCPU %u: %s", i,
				 v.reserved ? "reserved bits set"
					    : "pending SGIs that disagree with their sources, or "
					      "sources beyond the VM's vCPUs");
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < ncpus && !io->e; i++) {
		struct gicv2_vcpu_state v;
		memcpy(&v, get(r, SNAP_VM_GICV2_VCPU, i, &(size_t){0}), sizeof(v));
		walk_banked(io, kvm->gic_fd, i, &v);
		walk_cpu_if(io, kvm->gic_fd, i, &v);
	}
	return io->e;
}

int gicv2_state_restore(const struct kvm *kvm, unsigned ncpus, snap_get_fn get, void *r, char *err,
			size_t errlen)
{
	struct gic_io io = {.set = true, .err = err, .errlen = errlen};
	struct gicv2_dist_state *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int e = restore_dist(kvm, ncpus, d, get, r, &io);
	if (!e)
		e = restore_vcpus(kvm, ncpus, get, r, &io);
	if (!e) /* the distributor on once everything it forwards is back */
		dist_reg(&io, kvm->gic_fd, 0, GICD_CTLR, &d->ctlr, "GICD_CTLR", 0);
	free(d);
	return e ? e : io.e;
}
