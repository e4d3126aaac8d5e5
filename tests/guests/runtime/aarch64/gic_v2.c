/* A GICv2 (gic.h's calls when the tree names "arm,cortex-a15-gic"): the distributor and the
 * memory-mapped CPU interface, Arm IHI 0048B chapter 4. As Linux drives KVM's (no security
 * extensions seen): every interrupt in group 0, signalled as IRQ; SGIs, PPIs and their
 * priorities banked per CPU in the distributor; an SPI goes to the CPUs its ITARGETSR byte
 * names. */
#include "gic.h"

#include "machine.h"
#include "platform.h"
#include "printf.h"

#define GICD_CTLR	0x000
#define GICD_ISENABLER	0x100
#define GICD_ICENABLER	0x180
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR	0x800
#define GICD_ICFGR	0xc00
#define GICD_SGIR	0xf00
#define GICD_ENABLE	1u
#define SGIR_TO_SELF	(2u << 24) /* TargetListFilter: the requesting CPU only */

#define GICC_CTLR   0x00
#define GICC_PMR    0x04
#define GICC_BPR    0x08
#define GICC_IAR    0x0c
#define GICC_EOIR   0x10
#define GICC_ENABLE 1u
#define IAR_INTID   0x3ffu

#define PRIORITY 0xa0

/* Each CPU's last GICC_IAR: an SGI's end of interrupt must name its source CPU too. */
static uint32_t last_iar[MACHINE_MAX_CPUS];

static int this_cpu(void)
{
	return machine_cpu_index(cpu_mpidr());
}

bool gicv2_cpu_init(void)
{
	uint64_t d = machine.gicd, c = machine.gicc;

	for (unsigned i = 0; i < 32; i += 4) /* this CPU's SGIs and PPIs */
		mmio_write32(d + GICD_IPRIORITYR + i, PRIORITY * 0x01010101u);
	mmio_write32(c + GICC_PMR, 0xff);
	mmio_write32(c + GICC_BPR, 0);
	mmio_write32(c + GICC_CTLR, GICC_ENABLE);
	return true;
}

bool gicv2_init(void)
{
	mmio_write32(machine.gicd + GICD_CTLR, 0);
	mmio_write32(machine.gicd + GICD_CTLR, GICD_ENABLE);
	printf("gic: GICv2, distributor 0x%llx, CPU interface 0x%llx\n",
	       (unsigned long long)machine.gicd, (unsigned long long)machine.gicc);
	return gicv2_cpu_init();
}

void gicv2_enable(unsigned intid, bool edge)
{
	uint64_t d = machine.gicd;

	if (intid >= GIC_FIRST_SPI) {
		uint64_t icfgr = d + GICD_ICFGR + (intid / 16) * 4;
		uint32_t shift = (intid % 16) * 2 + 1;
		uint32_t cfg = mmio_read32(icfgr) & ~(1u << shift);

		mmio_write8(d + GICD_IPRIORITYR + intid, PRIORITY);
		/* ITARGETSR0's bytes read as this CPU's own bit */
		mmio_write8(d + GICD_ITARGETSR + intid, mmio_read8(d + GICD_ITARGETSR));
		mmio_write32(icfgr, cfg | (edge ? 1u : 0) << shift);
	}
	mmio_write32(d + GICD_ISENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

void gicv2_disable(unsigned intid)
{
	mmio_write32(machine.gicd + GICD_ICENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

void gicv2_send_sgi_self(unsigned intid)
{
	mmio_write32(machine.gicd + GICD_SGIR, SGIR_TO_SELF | (intid & 15));
}

unsigned gicv2_ack(void)
{
	uint32_t iar = mmio_read32(machine.gicc + GICC_IAR);
	int cpu = this_cpu();

	if (cpu >= 0)
		last_iar[cpu] = iar;
	return iar & IAR_INTID;
}

void gicv2_eoi(unsigned intid)
{
	int cpu = this_cpu();
	uint32_t iar = cpu >= 0 && (last_iar[cpu] & IAR_INTID) == intid ? last_iar[cpu] : intid;

	mmio_write32(machine.gicc + GICC_EOIR, iar);
}
