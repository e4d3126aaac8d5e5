/* Putting a saved variable store back. See vmm/snapshot/flash_restore.h. */
#include "vmm/snapshot/flash_restore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "loaders/x86/firmware_vars.h"

#define WHAT "firmware variables: "

/* Whether the section's length is the state's plus the flash's: 0, or -EINVAL with the reason. */
static int check_length(const struct pflash *f, const char *vars_path, size_t len, char *err,
			size_t errlen)
{
	const size_t head = sizeof(struct pflash_state);
	if (len < head) {
		snprintf(err, errlen,
			 WHAT "the snapshot's flash section is %zu bytes, shorter than the flash "
			      "state it starts with (%zu)",
			 len, head);
		return -EINVAL;
	}
	if (len - head != f->size) {
		snprintf(err, errlen,
			 WHAT "the snapshot's store is %zu bytes, --firmware-vars %s is %llu",
			 len - head, vars_path, (unsigned long long)f->size);
		return -EINVAL;
	}
	return 0;
}

/* Whether `st` is a state a flash part can be in: 0, or -EINVAL with the reason. */
static int check_state(const struct pflash_state *st, char *err, size_t errlen)
{
	if (st->mode > PFLASH_ERASE) {
		snprintf(err, errlen,
			 WHAT "the saved flash mode %u is none a flash part has (0-%u)", st->mode,
			 (unsigned)PFLASH_ERASE);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(st->pad); i++) {
		if (st->pad[i]) {
			snprintf(err, errlen,
				 WHAT "the saved flash state's padding byte %zu is 0x%02x, not 0",
				 i, st->pad[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The checks, in the order a reader would make them; fills *st. 0 or -EINVAL with the reason. */
static int check_section(const struct pflash *f, const char *vars_path, const uint8_t *saved,
			 size_t len, struct pflash_state *st, char *err, size_t errlen)
{
	char why[256];
	int r = check_length(f, vars_path, len, err, errlen);
	if (r)
		return r;
	memcpy(st, saved, sizeof(*st));
	if (firmware_vars_check(saved + sizeof(*st), f->size, why, sizeof(why))) {
		snprintf(err, errlen, WHAT "the snapshot's store: %s", why);
		return -EINVAL;
	}
	return check_state(st, err, errlen);
}

int flash_restore(struct pflash *f, const char *vars_path, const uint8_t *saved, size_t len,
		  char *err, size_t errlen)
{
	struct pflash_state st;

	if (!saved && !f)
		return 0;
	if (!saved || !f) {
		snprintf(err, errlen, WHAT "%s",
			 f ? "the snapshot has none for --firmware-vars"
			   : "the snapshot has a variable store, and the VM no --firmware-vars");
		return -EINVAL;
	}
	int r = check_section(f, vars_path, saved, len, &st, err, errlen);
	if (r)
		return r;
	memcpy(f->mem, saved + sizeof(st), f->size); /* into the file: it is mapped shared */
	if (pflash_load(f, &st)) {
		snprintf(err, errlen, WHAT "cannot put the flash back in its mode");
		return -EIO;
	}
	return 0;
}
