/* The machine description's aarch64 parts (firmware/machine.h): the GICv3 or GICv2, the vCPUs'
 * MPIDR affinities, the INTx polarity, the memory kept from the guest's allocator. */
#include "base/layout.h"
#include "firmware/machine.h"

/* base/aarch64/arch/layout.h's GIC, sized for the vCPUs added so far: GIC_REDIST_BASE(n) is
 * where the n frame pairs start so that they end at the distributor; the ITS sits below them. */
int machine_set_arch_intc(struct machine *m)
{
	uint64_t n = m->ncpus > 0 ? (uint64_t)m->ncpus : 0;
	struct machine_range dist = {GIC_DIST_BASE, GIC_DIST_SIZE};
	struct machine_range redist = {GIC_REDIST_BASE(n), n * GIC_REDIST_SIZE};
	struct machine_range its = {GIC_ITS_BASE(n), GIC_ITS_SIZE};

	return machine_set_gicv3(m, dist, redist, its, GIC_SPI_MAX);
}

int machine_set_arch_gicv2(struct machine *m)
{
	struct machine_range dist = {GIC_DIST_BASE, GIC_V2_DIST_SIZE};
	struct machine_range cpuif = {GIC_V2_CPU_BASE, GIC_V2_CPU_SIZE};
	struct machine_range v2m = {GIC_V2M_BASE, KIB(4)};
	int err = machine_set_gicv2(m, dist, cpuif, GIC_SPI_MAX);

	return err ? err : machine_set_gicv2m(m, v2m, GIC_V2M_SPI_FIRST, GIC_V2M_SPIS);
}

/* KVM's reset value of MPIDR_EL1 for vCPU `index` (Linux arch/arm64/kvm/sys_regs.c,
 * reset_mpidr()): 16 CPUs per Aff0 group, because a GICv3 SGI names its targets as a 16-bit
 * mask of Aff0 values (ICC_SGI1R_EL1.TargetList). Bits 23:0, what a cpu node's reg holds. */
uint32_t machine_arch_cpu_id(int index)
{
	uint32_t i = (uint32_t)index;

	return (i & 0xf) | ((i >> 4) & 0xff) << 8 | ((i >> 12) & 0xff) << 16;
}

enum machine_polarity machine_arch_intx_polarity(void)
{
	return MACHINE_IRQ_HIGH;
}

bool machine_arch_virtio_mmio_cmdline(void)
{
	return false;
}

/* [RAM_START, KERNEL_LOAD_ADDR): the 2 MiB below the kernel where the VMM writes (the ACPI tables
 * in the first MiB, the VM generation ID in the last page), RAM the kernel must not allocate. */
struct machine_range machine_arch_reserved(void)
{
	return (struct machine_range){.base = RAM_START, .size = KERNEL_LOAD_ADDR - RAM_START};
}
