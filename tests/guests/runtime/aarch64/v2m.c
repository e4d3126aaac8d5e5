/* GICv2m MSIs (v2m.h). */
#include "v2m.h"

#include "gic.h"
#include "platform.h"
#include "printf.h"

#define V2M_MSI_TYPER 0x008 /* base SPI's INTID in bits 25:16, count in 9:0 */

bool v2m_msi(uint64_t frame, uint8_t vector, uint64_t *addr, uint32_t *data)
{
	static uint16_t intid_of[IRQ_VECTORS]; /* 0: none yet */
	static unsigned used;
	uint32_t typer = mmio_read32(frame + V2M_MSI_TYPER);
	unsigned base = (typer >> 16) & 0x3ff, count = typer & 0x3ff;

	if (!intid_of[vector]) {
		if (base < GIC_FIRST_SPI || used >= count) {
			printf("v2m 0x%llx: no SPI for vector %u (MSI_TYPER 0x%x, %u taken)\n",
			       (unsigned long long)frame, vector, typer, used);
			return false;
		}
		intid_of[vector] = (uint16_t)(base + used++);
		trap_route(intid_of[vector], vector);
		gic_enable_edge(intid_of[vector]);
	}
	*addr = frame + V2M_SETSPI_OFF;
	*data = intid_of[vector];
	return true;
}
