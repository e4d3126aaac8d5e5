/* MSIs through a GICv2m frame ("arm,gic-v2m-frame", Arm's GICv2m: a GICv2 has no ITS): a
 * device's message is the frame's MSI_SETSPI_NS and an SPI's INTID, which the frame raises
 * (edge). The frame's MSI_TYPER says which SPIs are its; the runtime hands them out one per
 * vector, in order, and counts each under its vector. Boot CPU only. */
#ifndef GUEST_AARCH64_V2M_H
#define GUEST_AARCH64_V2M_H

#include <stdbool.h>
#include <stdint.h>

#define V2M_SETSPI_OFF 0x040 /* MSI_SETSPI_NS */

/* The message (address, data) that raises `vector` through the frame at `frame`, its SPI
 * routed to this CPU and enabled. False with a message when the frame has no SPI left. */
bool v2m_msi(uint64_t frame, uint8_t vector, uint64_t *addr, uint32_t *data);

#endif
