/* The GICv3 (Arm IHI 0069): distributor, this CPU's redistributor, the system-register CPU
 * interface. Found in the device tree ("arm,gic-v3": reg = distributor, redistributors). */
#ifndef GUEST_AARCH64_GIC_H
#define GUEST_AARCH64_GIC_H

#include <stdbool.h>
#include <stdint.h>

#define GIC_INTID_SPURIOUS 1020
#define GIC_FIRST_SPI	   32
#define GIC_PPI_VTIMER	   27 /* the virtual timer's PPI (arm,armv8-timer: PPI 11) */

/* Enables the distributor (affinity routing, group 1) once; then gic_cpu_init(). False (with
 * a message) when the device tree has no GICv3. */
bool gic_init(void);
/* This CPU's redistributor (woken) and CPU interface (priority mask open, group 1 on). */
bool gic_cpu_init(void);
bool gic_present(void);
/* This CPU's redistributor frame (RD_base), found by its GICR_TYPER affinity; 0 (with a
 * message) when none matches. */
uint64_t gic_redist(void);
/* An SGI or PPI on this CPU, or an SPI (level-triggered, routed to this CPU): enabled. */
void gic_enable(unsigned intid);
void gic_disable(unsigned intid);
/* Sends SGI `intid` (0-15) to this CPU. */
void gic_send_sgi_self(unsigned intid);
/* Acknowledge and end of interrupt (ICC_IAR1_EL1, ICC_EOIR1_EL1). */
unsigned gic_ack(void);
void gic_eoi(unsigned intid);

#endif
