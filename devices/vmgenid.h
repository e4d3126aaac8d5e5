/* The VM generation ID (Microsoft's "Virtual Machine Generation ID" paper; Linux:
 * drivers/virt/vmgenid.c): 16 random bytes in guest memory that change whenever the VM may be
 * running a second time from the same state: a snapshot restored, a clone, a fork. The guest
 * finds them through the DSDT's VM generation counter device (firmware/acpi/dsdt.c: its ADDR
 * package names VMGENID_ADDR) and is told of a change by a Notify from the Generic Event
 * Device's _EVT (ACPI_GED_VMGENID). Linux then mixes the new ID into its RNG and reseeds it
 * (add_vmfork_randomness(): "crng reseeded due to virtual machine fork" in its log) and sends a
 * NEW_VMGENID=1 uevent, so user space can renew its own keys and IDs.
 *
 * A fresh VM gets a random ID (vmgenid_boot()); every restore of a snapshot, and each clone or
 * fork (they restore the same way), gets a new one: vmgenid_new_generation(). A live migration
 * keeps it (the same VM goes on elsewhere). The ID is device state as well (snapshots keep it),
 * though the guest reads it from its memory, which the snapshot has too.
 *
 * With --firmware the ID's address is not the VMM's to choose: the firmware places it
 * (VMGENID_FW_* in base/layout.h) and says where afterwards. Until vmgenid_place() is told, the
 * device has an ID (the one the firmware copies from fw_cfg) but writes nothing to guest memory.
 *
 * Threads: the caller's (boot, restore); not concurrent with itself. */
#ifndef DEVICES_VMGENID_H
#define DEVICES_VMGENID_H

#include <stdint.h>

#include "base/guest_mem.h"
#include "devices/acpi_ged.h"

#define VMGENID_SIZE 16

struct vmgenid {
	uint8_t id[VMGENID_SIZE]; /* what the guest has (or will have) at gpa */
	uint64_t gpa;		  /* 8-byte aligned; 0: not placed yet (a firmware places it) */
	uint64_t generations;	  /* IDs made by this VMM process, for tests and logs */
};

/* A device whose ID lives at `gpa` (8-byte aligned, 16 bytes of RAM; 0: placed later by
 * vmgenid_place()); no ID yet. 0 or -EINVAL. */
int vmgenid_init(struct vmgenid *g, uint64_t gpa);

/* Where the firmware put the ID, as it says (guest input): 8-byte aligned and 16 bytes of
 * guest RAM, else -EINVAL and the device stays unplaced. Writes nothing: the firmware copied
 * the ID there itself. */
int vmgenid_place(struct vmgenid *g, const struct guest_mem *mem, uint64_t gpa);

/* A fresh VM's first ID: random, written to guest memory (when placed). 0, or -errno
 * (getrandom() failed: -EAGAIN before the host's pool is seeded; -EFAULT: gpa is not RAM). */
int vmgenid_boot(struct vmgenid *g, struct guest_mem *mem);

/* The VM is a new generation (restored, cloned, forked): a new random ID, different from the
 * last, written to guest memory, then the guest told through `ged` (NULL: not told, e.g. a
 * guest without the GED); an unplaced ID (a firmware that never ran its table loader: no guest
 * can have found it) is only renewed. 0, or vmgenid_boot()'s errors or acpi_ged_event()'s. */
int vmgenid_new_generation(struct vmgenid *g, struct guest_mem *mem, struct acpi_ged *ged);

/* A snapshot's ID back (the guest memory already holds it): nothing is written. */
void vmgenid_set(struct vmgenid *g, const uint8_t id[VMGENID_SIZE]);

#endif
