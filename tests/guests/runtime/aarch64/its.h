/* The GICv3 ITS (Arm IHI 0069 chapters 5.3 and 12.19): MSIs of PCI devices become LPIs. A
 * flat device table and collection table of one 64 KiB page each, a 4 KiB command queue, one
 * collection (0) on the boot CPU's redistributor, whose LPI configuration and pending tables
 * the runtime owns. Event `vector` of a device is LPI GIC_FIRST_LPI + vector, which trap.c
 * counts under `vector`. Boot CPU only. */
#ifndef GUEST_AARCH64_ITS_H
#define GUEST_AARCH64_ITS_H

#include <stdbool.h>
#include <stdint.h>

#define GIC_FIRST_LPI	   8192
#define ITS_EVENTS	   256 /* EventIDs 0-255: the vectors */
#define ITS_TRANSLATER_OFF 0x10040

/* Maps DeviceID `devid`'s event `vector` to its LPI on this CPU (the ITS at `its` set up and the
 * LPIs enabled on the first call). False with a message when the ITS or the redistributor
 * refuse. */
bool its_map_event(uint64_t its, uint32_t devid, uint8_t vector);

#endif
