/* A snapshot's saved UEFI variable store put back into the VM's --firmware-vars flash
 * (devices/pflash.h, loaders/x86/firmware_vars.h). The snapshot's SNAP_DEV_FLASH section holds a
 * struct pflash_state (the part's mode and status) followed by every byte of the store; it is
 * snapshot input, so hostile: each check below names what was wrong, and nothing is copied
 * into the flash before every check has passed. No VM needed: tests give a bare pflash. */
#ifndef VMM_SNAPSHOT_FLASH_RESTORE_H
#define VMM_SNAPSHOT_FLASH_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "devices/pflash.h"

/* Checks the section `saved` (`len` bytes; NULL: the snapshot has none) against the VM's flash
 * `f` (NULL: the VM has no --firmware-vars; `vars_path` names the file in messages), then copies
 * the saved bytes into the flash's array and puts its mode back (pflash_load()). Returns 0 (also
 * when neither has a store), -EINVAL with the reason in err[0..errlen) when one has a store and
 * the other not, the length is not the state's plus the flash's size, the bytes are not a
 * firmware volume of that size (firmware_vars_check()), or the state is one no flash can be in
 * (a mode past PFLASH_ERASE, nonzero padding); -EIO when the flash's mapping could not follow
 * the mode. */
int flash_restore(struct pflash *f, const char *vars_path, const uint8_t *saved, size_t len,
		  char *err, size_t errlen);

#endif
