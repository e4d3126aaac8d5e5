/* The GIC the device tree names: a GICv3 (Arm IHI 0069: distributor, this CPU's redistributor,
 * the system-register CPU interface; "arm,gic-v3": reg = distributor, redistributors), or a
 * GICv2 (Arm IHI 0048: distributor and memory-mapped CPU interface, gic_v2.c;
 * "arm,cortex-a15-gic": reg = distributor, CPU interface). */
#ifndef GUEST_AARCH64_GIC_H
#define GUEST_AARCH64_GIC_H

#include <stdbool.h>
#include <stdint.h>

#define GIC_INTID_SPURIOUS 1020
#define GIC_FIRST_SPI	   32
#define GIC_PPI_VTIMER	   27 /* the virtual timer's PPI (arm,armv8-timer: PPI 11) */

/* Enables the distributor (GICv3: affinity routing, group 1) once; then gic_cpu_init(). False
 * (with a message) when the device tree has no GIC. */
bool gic_init(void);
/* This CPU's redistributor (woken) and CPU interface (priority mask open, group 1 on); a GICv2's
 * banked SGI/PPI priorities and its CPU interface. */
bool gic_cpu_init(void);
bool gic_present(void);
/* This CPU's redistributor frame (RD_base), found by its GICR_TYPER affinity; 0 (with a
 * message) when none matches, or on a GICv2 (no redistributors). */
uint64_t gic_redist(void);
/* An SGI or PPI on this CPU, or an SPI (level-triggered, routed to this CPU): enabled. */
void gic_enable(unsigned intid);
/* An SPI, edge-triggered (a GICv2m MSI's), routed to this CPU: enabled. */
void gic_enable_edge(unsigned intid);
void gic_disable(unsigned intid);
/* Sends SGI `intid` (0-15) to this CPU. */
void gic_send_sgi_self(unsigned intid);
/* Acknowledge and end of interrupt (ICC_IAR1_EL1, ICC_EOIR1_EL1; a GICv2's GICC_IAR, GICC_EOIR,
 * which gets back the whole IAR: an SGI's source CPU too). */
unsigned gic_ack(void);
void gic_eoi(unsigned intid);

/* GICv2 (gic_v2.c), behind the calls above when machine.gicc is set. */
bool gicv2_init(void);
bool gicv2_cpu_init(void);
void gicv2_enable(unsigned intid, bool edge);
void gicv2_disable(unsigned intid);
void gicv2_send_sgi_self(unsigned intid);
unsigned gicv2_ack(void);
void gicv2_eoi(unsigned intid);

/* trap.c: counts and dispatches INTID `intid` under `vector` (0: under its own INTID). */
void trap_route(unsigned intid, uint8_t vector);

#endif
