/* e820 memory map from the guest RAM regions (see e820.h for the layout it produces).
 *
 * The map is generated from the machine description (firmware/machine.h): this wrapper
 * describes `mem`'s regions as the machine's RAM and lets machine_e820() lay it out. */
#include "firmware/e820.h"

#include <errno.h>
#include <stddef.h>

#include "firmware/machine.h"

int e820_build(const struct guest_mem *mem, struct boot_e820_entry *out, int max)
{
	struct machine m;

	if (!mem || !out || max < 0)
		return -EINVAL;
	machine_init(&m);
	if (machine_add_guest_ram(&m, mem))
		return -EINVAL;
	return machine_e820(&m, out, max);
}
