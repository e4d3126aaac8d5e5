/* The GICv3's and ITS's state in a snapshot (gic_state.h). One walk over the registers serves
 * both directions: saving reads each register into the state, restoring writes it from there, in
 * the order KVM needs for a restore (reading has no side effect, so the save takes the same
 * order). */
#include "host/kvm/aarch64/gic_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/aarch64/snapshot_tags.h"
#include "host/kvm/aarch64/arm64_regs.h"
#include "host/kvm/aarch64/gic_io.h"
#include "host/kvm/kvm.h"

/* Distributor, redistributor (RD_base, then the SGI_base frame 64 KiB above) and ITS offsets. */
#define GICD_CTLR	0x0000
#define GICD_IIDR	0x0008
#define GICD_IGROUPR	0x0080
#define GICD_ISENABLER	0x0100
#define GICD_ISPENDR	0x0200
#define GICD_ISACTIVER	0x0300
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR	0x0c00
#define GICD_IROUTER	0x6000
#define GICR_CTLR	0x0000
#define GICR_PROPBASER	0x0070
#define GICR_PENDBASER	0x0078
#define GICR_SGI	0x10000
#define GITS_CTLR	0x0000
#define GITS_IIDR	0x0004
#define GITS_CBASER	0x0080
#define GITS_CWRITER	0x0088
#define GITS_CREADR	0x0090
#define GITS_BASER	0x0100

#define MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
/* The CPU interface's registers: the instruction encoding of each (op0 op1 CRn CRm op2) */
#define ICC(op1, crn, crm, op2) (ARM64_SYS_REG(3, op1, crn, crm, op2) & 0xffff)
#define ICC_PMR_EL1		ICC(0, 4, 6, 0)
#define ICC_BPR0_EL1		ICC(0, 12, 8, 3)
#define ICC_AP0R_EL1(n)		ICC(0, 12, 8, 4 + (n))
#define ICC_AP1R_EL1(n)		ICC(0, 12, 9, (n))
#define ICC_BPR1_EL1		ICC(0, 12, 12, 3)
#define ICC_CTLR_EL1		ICC(0, 12, 12, 4)
#define ICC_SRE_EL1		ICC(0, 12, 12, 5)
#define ICC_IGRPEN0_EL1		ICC(0, 12, 12, 6)
#define ICC_IGRPEN1_EL1		ICC(0, 12, 12, 7)

/* A 64-bit distributor or redistributor register: two 32-bit halves for KVM. */
static void io_split64(struct gic_io *io, int fd, uint32_t group, uint64_t attr, uint64_t *v,
		       const char *what, unsigned n)
{
	uint32_t lo = (uint32_t)*v, hi = (uint32_t)(*v >> 32);
	gic_io_attr(io, fd, group, attr, &lo, what, n);
	gic_io_attr(io, fd, group, attr + 4, &hi, what, n);
	if (!io->set)
		*v = (uint64_t)hi << 32 | lo;
}

/* The attribute's mpidr field: the affinity levels of MPIDR_EL1, packed. */
static uint64_t affinity_attr(uint64_t mpidr)
{
	uint64_t aff = (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24;
	return aff << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT;
}

static uint64_t level_attr(uint64_t mpidr, unsigned intid)
{
	return affinity_attr(mpidr) |
	       (uint64_t)VGIC_LEVEL_INFO_LINE_LEVEL << KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT |
	       intid;
}

static void walk_dist(struct gic_io *io, int fd, struct gic_dist_state *d, uint64_t mpidr0)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
	unsigned words = d->nr_irqs / 32;
	gic_io_attr(io, fd, g, GICD_IIDR, &d->iidr, "GICD_IIDR", 0);
	for (unsigned i = 1; i < words; i++)
		gic_io_attr(io, fd, g, GICD_IGROUPR + 4 * i, &d->igroupr[i], "GICD_IGROUPR", i);
	for (unsigned i = 2; i < 2 * words; i++)
		gic_io_attr(io, fd, g, GICD_ICFGR + 4 * i, &d->icfgr[i], "GICD_ICFGR", i);
	for (unsigned i = 8; i < 8 * words; i++)
		gic_io_attr(io, fd, g, GICD_IPRIORITYR + 4 * i, &d->ipriorityr[i],
			    "GICD_IPRIORITYR", i);
	for (unsigned i = 32; i < d->nr_irqs; i++)
		io_split64(io, fd, g, GICD_IROUTER + 8 * i, &d->irouter[i], "GICD_IROUTER", i);
	for (unsigned i = 1; i < words; i++)
		gic_io_attr(io, fd, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, level_attr(mpidr0, 32 * i),
			    &d->level[i], "line level of SPIs", i);
	for (unsigned i = 1; i < words; i++)
		gic_io_attr(io, fd, g, GICD_ISPENDR + 4 * i, &d->ispendr[i], "GICD_ISPENDR", i);
	for (unsigned i = 1; i < words; i++)
		gic_io_attr(io, fd, g, GICD_ISENABLER + 4 * i, &d->isenabler[i], "GICD_ISENABLER",
			    i);
	for (unsigned i = 1; i < words; i++)
		gic_io_attr(io, fd, g, GICD_ISACTIVER + 4 * i, &d->isactiver[i], "GICD_ISACTIVER",
			    i);
	gic_io_attr(io, fd, g, GICD_CTLR, &d->ctlr, "GICD_CTLR", 0);
}

static void walk_redist(struct gic_io *io, int fd, struct gic_vcpu_state *v)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS;
	const uint64_t a = affinity_attr(v->mpidr);
	/* the LPI tables before GICR_CTLR.EnableLPIs, which freezes them */
	io_split64(io, fd, g, a | GICR_PROPBASER, &v->propbaser, "GICR_PROPBASER", 0);
	io_split64(io, fd, g, a | GICR_PENDBASER, &v->pendbaser, "GICR_PENDBASER", 0);
	gic_io_attr(io, fd, g, a | GICR_CTLR, &v->ctlr, "GICR_CTLR", 0);
	gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_IGROUPR), &v->igroupr0, "GICR_IGROUPR0", 0);
	gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_ICFGR), &v->icfgr0, "GICR_ICFGR0", 0);
	gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_ICFGR + 4), &v->icfgr1, "GICR_ICFGR1", 0);
	for (unsigned i = 0; i < 8; i++)
		gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_IPRIORITYR + 4 * i), &v->ipriorityr[i],
			    "GICR_IPRIORITYR", i);
	gic_io_attr(io, fd, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, level_attr(v->mpidr, 0), &v->level,
		    "line level of PPIs", 0);
	gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_ISPENDR), &v->ispendr0, "GICR_ISPENDR0", 0);
	gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_ISENABLER), &v->isenabler0, "GICR_ISENABLER0",
		    0);
	gic_io_attr(io, fd, g, a | (GICR_SGI + GICD_ISACTIVER), &v->isactiver0, "GICR_ISACTIVER0",
		    0);
}

/* Active-priority registers by ICC_CTLR_EL1.PRIbits (bits 10:8, priority bits - 1): 5 bits of
 * priority have one of each, 6 two, 7 four. */
static unsigned apr_count(uint64_t icc_ctlr)
{
	unsigned bits = (unsigned)((icc_ctlr >> 8) & 7) + 1;
	return bits <= 5 ? 1 : bits == 6 ? 2 : 4;
}

/* No active priority beyond the registers the CPU interface has. */
static bool aprs_ok(const struct gic_vcpu_state *v)
{
	for (unsigned n = apr_count(v->icc_ctlr); n < 4; n++)
		if (v->icc_ap0r[n] || v->icc_ap1r[n])
			return false;
	return true;
}

static void walk_cpu_if(struct gic_io *io, int fd, struct gic_vcpu_state *v)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS;
	const uint64_t a = affinity_attr(v->mpidr);
	gic_io_attr(io, fd, g, a | ICC_SRE_EL1, &v->icc_sre, "ICC_SRE_EL1", 0);
	gic_io_attr(io, fd, g, a | ICC_CTLR_EL1, &v->icc_ctlr, "ICC_CTLR_EL1", 0);
	gic_io_attr(io, fd, g, a | ICC_PMR_EL1, &v->icc_pmr, "ICC_PMR_EL1", 0);
	gic_io_attr(io, fd, g, a | ICC_BPR0_EL1, &v->icc_bpr0, "ICC_BPR0_EL1", 0);
	gic_io_attr(io, fd, g, a | ICC_BPR1_EL1, &v->icc_bpr1, "ICC_BPR1_EL1", 0);
	for (unsigned n = 0; n < apr_count(v->icc_ctlr); n++) {
		gic_io_attr(io, fd, g, a | ICC_AP0R_EL1(n), &v->icc_ap0r[n], "ICC_AP0R_EL1", n);
		gic_io_attr(io, fd, g, a | ICC_AP1R_EL1(n), &v->icc_ap1r[n], "ICC_AP1R_EL1", n);
	}
	gic_io_attr(io, fd, g, a | ICC_IGRPEN0_EL1, &v->icc_igrpen0, "ICC_IGRPEN0_EL1", 0);
	gic_io_attr(io, fd, g, a | ICC_IGRPEN1_EL1, &v->icc_igrpen1, "ICC_IGRPEN1_EL1", 0);
}

/* Everything but GITS_CTLR, GITS_CBASER first (writing it resets GITS_CREADR). */
static void walk_its(struct gic_io *io, int fd, struct gic_its_state *s)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_ITS_REGS;
	gic_io_attr(io, fd, g, GITS_CBASER, &s->cbaser, "GITS_CBASER", 0);
	gic_io_attr(io, fd, g, GITS_IIDR, &s->iidr, "GITS_IIDR", 0);
	for (unsigned n = 0; n < 8; n++)
		gic_io_attr(io, fd, g, GITS_BASER + 8 * n, &s->baser[n], "GITS_BASER", n);
	gic_io_attr(io, fd, g, GITS_CREADR, &s->creadr, "GITS_CREADR", 0);
	gic_io_attr(io, fd, g, GITS_CWRITER, &s->cwriter, "GITS_CWRITER", 0);
}

static void read_mpidr(struct gic_io *io, int vcpu_fd, unsigned index, uint64_t *mpidr)
{
	if (io->e)
		return;
	io->e = arm64_get_reg(vcpu_fd, MPIDR_EL1, mpidr);
	if (io->e)
		snprintf(io->err, io->errlen, "vCPU %u: cannot read MPIDR_EL1: %s", index,
			 strerror(-io->e));
}

int gic_state_flush(const struct kvm *kvm, char *err, size_t errlen)
{
	struct gic_io io = {.set = false, .err = err, .errlen = errlen};
	if (kvm->its_fd < 0)
		return 0; /* no LPIs without an ITS */
	gic_io_ctrl(&io, kvm->gic_fd, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
		    "saving the LPIs' pending tables");
	gic_io_ctrl(&io, kvm->its_fd, KVM_DEV_ARM_ITS_SAVE_TABLES, "saving the ITS's tables");
	return io.e;
}

int gic_state_save(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_put_fn put,
		   void *w, char *err, size_t errlen)
{
	struct gic_io io = {.set = false, .err = err, .errlen = errlen};
	struct gic_dist_state *d = calloc(1, sizeof(*d)); /* 10 KiB */
	struct gic_vcpu_state v;
	struct gic_its_state s;
	uint64_t mpidr0 = 0;

	io.e = gic_state_flush(kvm, err, errlen);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	gic_io_attr(&io, kvm->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &d->nr_irqs, "NR_IRQS", 0);
	if (!io.e && (d->nr_irqs < 64 || d->nr_irqs > GIC_STATE_MAX_IRQS || d->nr_irqs % 32)) {
		snprintf(err, errlen, "GIC: KVM reports %u interrupts", d->nr_irqs);
		io.e = -ERANGE;
	}
	if (ncpus)
		read_mpidr(&io, vcpu_fds[0], 0, &mpidr0);
	walk_dist(&io, kvm->gic_fd, d, mpidr0);
	gic_io_put(&io, put, w, SNAP_VM_GIC_DIST, 0, d, sizeof(*d), "SNAP_VM_GIC_DIST");
	free(d);
	for (unsigned i = 0; i < ncpus && !io.e; i++) {
		memset(&v, 0, sizeof(v));
		read_mpidr(&io, vcpu_fds[i], i, &v.mpidr);
		walk_redist(&io, kvm->gic_fd, &v);
		walk_cpu_if(&io, kvm->gic_fd, &v);
		gic_io_put(&io, put, w, SNAP_VM_GIC_VCPU, i, &v, sizeof(v), "SNAP_VM_GIC_VCPU");
	}
	if (kvm->its_fd >= 0) {
		memset(&s, 0, sizeof(s));
		walk_its(&io, kvm->its_fd, &s);
		gic_io_attr(&io, kvm->its_fd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, GITS_CTLR, &s.ctlr,
			    "GITS_CTLR", 0);
		gic_io_put(&io, put, w, SNAP_VM_GIC_ITS, 0, &s, sizeof(s), "SNAP_VM_GIC_ITS");
	}
	return io.e;
}

/* ---- restore: the sections checked before any register is written ---- */

/* Nothing outside the SPIs of a GIC with d->nr_irqs interrupts. */
static bool dist_ok(const struct gic_dist_state *d)
{
	unsigned words = d->nr_irqs / 32;
	const uint32_t *bitmaps[] = {d->igroupr, d->isenabler, d->ispendr, d->isactiver, d->level};
	if (d->reserved)
		return false;
	for (unsigned b = 0; b < sizeof(bitmaps) / sizeof(bitmaps[0]); b++)
		if (bitmaps[b][0] || !gic_zero_from(bitmaps[b], words, GIC_STATE_MAX_IRQS / 32))
			return false;
	if (d->icfgr[0] || d->icfgr[1] ||
	    !gic_zero_from(d->icfgr, 2 * words, GIC_STATE_MAX_IRQS / 16))
		return false;
	if (!gic_zero_from(d->ipriorityr, 0, 8) ||
	    !gic_zero_from(d->ipriorityr, 8 * words, GIC_STATE_MAX_IRQS / 4))
		return false;
	for (unsigned i = 0; i < GIC_STATE_MAX_IRQS; i++)
		if ((i < 32 || i >= d->nr_irqs) && d->irouter[i])
			return false;
	return true;
}

static int restore_dist(const struct kvm *kvm, struct gic_dist_state *d, uint64_t mpidr0,
			snap_get_fn get, void *r, struct gic_io *io)
{
	const void *p = gic_io_section(get, r, SNAP_VM_GIC_DIST, 0, sizeof(*d), "SNAP_VM_GIC_DIST",
				       io->err, io->errlen);
	uint32_t nr = 0;
	if (!p)
		return -EINVAL;
	memcpy(d, p, sizeof(*d));
	struct gic_io get_io = {.err = io->err, .errlen = io->errlen};
	gic_io_attr(&get_io, kvm->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr, "NR_IRQS", 0);
	if (get_io.e)
		return get_io.e;
	if (d->nr_irqs != nr || !dist_ok(d)) {
		snprintf(io->err, io->errlen,
			 "SNAP_VM_GIC_DIST: %u interrupts%s, this VM's GIC has %u", d->nr_irqs,
			 d->nr_irqs == nr ? " and state outside them" : "", nr);
		return -EINVAL;
	}
	walk_dist(io, kvm->gic_fd, d, mpidr0);
	return io->e;
}

static int restore_vcpus(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus,
			 snap_get_fn get, void *r, struct gic_io *io)
{
	for (unsigned i = 0; i < ncpus && !io->e; i++) {
		struct gic_vcpu_state v;
		uint64_t mpidr = 0;
		const void *p = gic_io_section(get, r, SNAP_VM_GIC_VCPU, i, sizeof(v),
					       "SNAP_VM_GIC_VCPU", io->err, io->errlen);
		if (!p)
			return -EINVAL;
		memcpy(&v, p, sizeof(v));
		read_mpidr(io, vcpu_fds[i], i, &mpidr);
		if (!io->e && (v.mpidr != mpidr || !aprs_ok(&v))) {
			snprintf(io->err, io->errlen, "SNAP_VM_GIC_VCPU %u: %s", i,
				 v.mpidr != mpidr ? "another vCPU affinity (MPIDR_EL1) than this "
						    "VM's"
						  : "active priorities the CPU interface lacks");
			return -EINVAL;
		}
		walk_redist(io, kvm->gic_fd, &v);
	}
	/* the CPU interfaces once every redistributor is back */
	for (unsigned i = 0; i < ncpus && !io->e; i++) {
		struct gic_vcpu_state v;
		memcpy(&v, get(r, SNAP_VM_GIC_VCPU, i, &(size_t){0}), sizeof(v));
		walk_cpu_if(io, kvm->gic_fd, &v);
	}
	return io->e;
}

static int restore_its(const struct kvm *kvm, snap_get_fn get, void *r, struct gic_io *io)
{
	struct gic_its_state s;
	size_t len = 0;
	const void *p = get(r, SNAP_VM_GIC_ITS, 0, &len);
	if (!p && kvm->its_fd < 0)
		return 0;
	if (!p || kvm->its_fd < 0 || len != sizeof(s)) {
		snprintf(io->err, io->errlen, "SNAP_VM_GIC_ITS: %s",
			 !p		   ? "missing, and this VM has an ITS"
			 : kvm->its_fd < 0 ? "this VM has no ITS (the host has none?)"
					   : "of the wrong length");
		return -EINVAL;
	}
	memcpy(&s, p, sizeof(s));
	walk_its(io, kvm->its_fd, &s);
	gic_io_ctrl(io, kvm->its_fd, KVM_DEV_ARM_ITS_RESTORE_TABLES,
		    "loading the ITS's tables from guest RAM");
	gic_io_attr(io, kvm->its_fd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, GITS_CTLR, &s.ctlr, "GITS_CTLR",
		    0);
	return io->e;
}

int gic_state_restore(const struct kvm *kvm, const int *vcpu_fds, unsigned ncpus, snap_get_fn get,
		      void *r, char *err, size_t errlen)
{
	struct gic_io io = {.set = true, .err = err, .errlen = errlen};
	struct gic_dist_state *d = calloc(1, sizeof(*d)); /* 10 KiB */
	uint64_t mpidr0 = 0;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (ncpus)
		read_mpidr(&io, vcpu_fds[0], 0, &mpidr0);
	if (!io.e)
		io.e = restore_dist(kvm, d, mpidr0, get, r, &io);
	free(d);
	if (!io.e)
		io.e = restore_vcpus(kvm, vcpu_fds, ncpus, get, r, &io);
	if (!io.e)
		io.e = restore_its(kvm, get, r, &io);
	return io.e;
}
