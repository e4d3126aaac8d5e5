/* GICv3 (gic.h), and the calls' way to a GICv2 (gic_v2.c). Register offsets: Arm IHI 0069
 * chapter 12. */
#include "gic.h"

#include "machine.h"
#include "platform.h"
#include "printf.h"

#define GICD_CTLR	  0x0000
#define GICD_TYPER	  0x0004
#define GICD_IGROUPR	  0x0080
#define GICD_ISENABLER	  0x0100
#define GICD_ICENABLER	  0x0180
#define GICD_IPRIORITYR	  0x0400
#define GICD_ICFGR	  0x0c00
#define GICD_IROUTER	  0x6000
#define GICD_CTLR_RWP	  (1u << 31)
#define GICD_CTLR_ARE_NS  (1u << 4)
#define GICD_CTLR_GRP1_NS (1u << 1)

#define GICR_FRAME	0x20000 /* RD_base + SGI_base, 64 KiB each */
#define GICR_TYPER	0x0008
#define GICR_WAKER	0x0014
#define GICR_TYPER_LAST (1u << 4)
#define WAKER_SLEEP	(1u << 1)
#define WAKER_ASLEEP	(1u << 2)
#define SGI_BASE	0x10000
#define GICR_IGROUPR0	(SGI_BASE + 0x0080)
#define GICR_ISENABLER0 (SGI_BASE + 0x0100)
#define GICR_ICENABLER0 (SGI_BASE + 0x0180)
#define GICR_IPRIORITYR (SGI_BASE + 0x0400)

#define PRIORITY   0xa0
#define POLL_LIMIT 1000000

static uint64_t redist_of[MACHINE_MAX_CPUS]; /* by CPU index; 0: not found yet */

bool gic_present(void)
{
	return machine.gicd != 0;
}

static bool v2(void)
{
	return machine.gicc != 0;
}

static bool wait_clear(uint64_t reg, uint32_t bit)
{
	for (int i = 0; i < POLL_LIMIT; i++) {
		if (!(mmio_read32(reg) & bit))
			return true;
		cpu_relax();
	}
	printf("gic: 0x%llx bit 0x%x never cleared\n", (unsigned long long)reg, bit);
	return false;
}

/* The redistributor frame whose GICR_TYPER affinity is this CPU's MPIDR. */
uint64_t gic_redist(void)
{
	uint64_t mpidr = cpu_mpidr();
	uint64_t aff = (mpidr & 0xffffff) | ((mpidr >> 8) & 0xff000000);
	int cpu = machine_cpu_index(mpidr);

	if (v2())
		return 0;
	if (cpu >= 0 && redist_of[cpu])
		return redist_of[cpu];
	for (uint64_t off = 0; off + GICR_FRAME <= machine.gicr_size; off += GICR_FRAME) {
		uint64_t typer = mmio_read64(machine.gicr + off + GICR_TYPER);
		if ((typer >> 32) == aff) {
			if (cpu >= 0)
				redist_of[cpu] = machine.gicr + off;
			return machine.gicr + off;
		}
		if (typer & GICR_TYPER_LAST)
			break;
	}
	printf("gic: no redistributor for MPIDR 0x%llx\n", (unsigned long long)mpidr);
	return 0;
}

bool gic_cpu_init(void)
{
	uint64_t rd;

	if (v2())
		return gicv2_cpu_init();
	rd = gic_redist();
	if (!rd)
		return false;
	mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~WAKER_SLEEP);
	if (!wait_clear(rd + GICR_WAKER, WAKER_ASLEEP))
		return false;
	mmio_write32(rd + GICR_IGROUPR0, 0xffffffffu);
	for (unsigned i = 0; i < 32; i += 4)
		mmio_write32(rd + GICR_IPRIORITYR + i, PRIORITY * 0x01010101u);
	write_sysreg(S3_0_C12_C12_5, read_sysreg(S3_0_C12_C12_5) | 1); /* ICC_SRE_EL1.SRE */
	__asm__ volatile("isb");
	write_sysreg(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1: every priority */
	write_sysreg(S3_0_C12_C12_3, 0);  /* ICC_BPR1_EL1 */
	write_sysreg(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb");
	return true;
}

bool gic_init(void)
{
	if (!gic_present()) {
		printf("gic: no arm,gic-v3 nor arm,cortex-a15-gic in the device tree\n");
		return false;
	}
	if (v2())
		return gicv2_init();
	mmio_write32(machine.gicd + GICD_CTLR, 0);
	if (!wait_clear(machine.gicd + GICD_CTLR, GICD_CTLR_RWP))
		return false;
	mmio_write32(machine.gicd + GICD_CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_GRP1_NS);
	if (!wait_clear(machine.gicd + GICD_CTLR, GICD_CTLR_RWP))
		return false;
	return gic_cpu_init();
}

static void spi_setup(unsigned intid, bool edge)
{
	uint64_t d = machine.gicd;
	uint64_t mpidr = cpu_mpidr();
	uint32_t cfg = mmio_read32(d + GICD_ICFGR + (intid / 16) * 4) & ~(2u << ((intid % 16) * 2));

	mmio_write32(d + GICD_IGROUPR + (intid / 32) * 4,
		     mmio_read32(d + GICD_IGROUPR + (intid / 32) * 4) | 1u << (intid % 32));
	mmio_write8(d + GICD_IPRIORITYR + intid, PRIORITY);
	mmio_write32(d + GICD_ICFGR + (intid / 16) * 4, cfg | (edge ? 2u : 0)
								  << ((intid % 16) * 2));
	mmio_write64(d + GICD_IROUTER + intid * 8, (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff)
									    << 32);
}

static void enable(unsigned intid, bool edge)
{
	if (!gic_present())
		return;
	if (v2()) {
		gicv2_enable(intid, edge);
		return;
	}
	if (intid < GIC_FIRST_SPI) {
		uint64_t rd = gic_redist();
		if (rd)
			mmio_write32(rd + GICR_ISENABLER0, 1u << intid);
		return;
	}
	spi_setup(intid, edge);
	mmio_write32(machine.gicd + GICD_ISENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

void gic_enable(unsigned intid)
{
	enable(intid, false);
}

void gic_enable_edge(unsigned intid)
{
	enable(intid, true);
}

void gic_disable(unsigned intid)
{
	if (!gic_present())
		return;
	if (v2()) {
		gicv2_disable(intid);
		return;
	}
	if (intid < GIC_FIRST_SPI) {
		uint64_t rd = gic_redist();
		if (rd)
			mmio_write32(rd + GICR_ICENABLER0, 1u << intid);
		return;
	}
	mmio_write32(machine.gicd + GICD_ICENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

void gic_send_sgi_self(unsigned intid)
{
	uint64_t mpidr = cpu_mpidr();
	uint64_t v = ((uint64_t)(intid & 15) << 24) | (1u << (mpidr & 15)) |
		     ((mpidr >> 8) & 0xff) << 16 | ((mpidr >> 16) & 0xff) << 32 |
		     ((mpidr >> 32) & 0xff) << 48;

	if (v2()) {
		gicv2_send_sgi_self(intid);
		return;
	}
	write_sysreg(S3_0_C12_C11_5, v); /* ICC_SGI1R_EL1 */
	__asm__ volatile("isb");
}

unsigned gic_ack(void)
{
	unsigned intid;

	if (v2())
		return gicv2_ack();
	intid = (unsigned)(read_sysreg(S3_0_C12_C12_0) & 0xffffff); /* ICC_IAR1_EL1 */
	__asm__ volatile("dsb sy" ::: "memory");
	return intid;
}

void gic_eoi(unsigned intid)
{
	if (v2()) {
		gicv2_eoi(intid);
		return;
	}
	write_sysreg(S3_0_C12_C12_1, intid); /* ICC_EOIR1_EL1 */
	__asm__ volatile("isb");
}
