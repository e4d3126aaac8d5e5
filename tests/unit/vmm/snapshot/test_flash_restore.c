/* A snapshot's saved variable store into the VM's --firmware-vars flash (vmm/snapshot/
 * flash_restore.h): every bad section is refused with a message that says what was wrong and
 * leaves the flash as it was; a good one lands in the array with its mode. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pflash.h"
#include "vmm/snapshot/flash_restore.h"

#define BASE  0xFFC00000ULL
#define SIZE  (4 * PFLASH_BLOCK)
#define HEAD  sizeof(struct pflash_state)
#define VARS  "/vm/my.vars"
#define FV_HL 0x48u /* a firmware volume header's length, as OVMF's store has it */

static struct io_bus bus;
static struct pflash flash;
static uint8_t array[SIZE];
/* a section: the state, then a store of SIZE bytes (one spare byte for the "one too long" case) */
static uint8_t section[HEAD + SIZE + 1];
static char err[512];

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The saved store: a volume header of SIZE bytes' length with its checksum, 0xa5 after it. */
static void make_store(uint8_t *b)
{
	memset(b, 0xa5, SIZE);
	memset(b, 0, FV_HL);
	put_le(b + 0x20, SIZE, 8);
	memcpy(b + 0x28, "_FVH", 4);
	put_le(b + 0x30, FV_HL, 2);
	uint16_t sum = 0;
	for (unsigned i = 0; i < FV_HL; i += 2)
		sum = (uint16_t)(sum + (b[i] | b[i + 1] << 8));
	put_le(b + 0x32, (uint16_t)(0x10000 - sum), 2);
}

static void setup(void)
{
	memset(array, 0x5a, sizeof(array));
	memset(err, 0, sizeof(err));
	io_bus_init(&bus, "mmio");
	cr_assert_eq(pflash_attach(&flash, &bus, BASE, array, SIZE, "vars", NULL, NULL), 0);
	struct pflash_state st = {.mode = PFLASH_READ_STATUS, .status = PFLASH_STATUS_READY};
	memset(section, 0, sizeof(section));
	memcpy(section, &st, sizeof(st));
	make_store(section + HEAD);
}

static void teardown(void)
{
	pflash_detach(&flash, &bus);
	io_bus_destroy(&bus);
}

TestSuite(flash_restore, .init = setup, .fini = teardown);

/* A refusal: -EINVAL, the message holds `want`, and the flash is untouched. */
static void expect_refused(struct pflash *f, const uint8_t *saved, size_t len, const char *want)
{
	int r = flash_restore(f, VARS, saved, len, err, sizeof(err));
	cr_assert_eq(r, -EINVAL, "flash_restore: %d, want -EINVAL (%s)", r, err);
	cr_assert(strstr(err, want), "message \"%s\", want it to say \"%s\"", err, want);
	cr_assert(strncmp(err, "firmware variables: ", 20) == 0, "message \"%s\" names no subject",
		  err);
	for (size_t i = 0; i < SIZE; i++)
		cr_assert_eq(array[i], 0x5a, "the refused store changed the flash at %zu", i);
	cr_assert_eq(flash.mode, PFLASH_READ_ARRAY, "the refused state changed the mode");
}

Test(flash_restore, neither_has_a_store)
{
	cr_assert_eq(flash_restore(NULL, NULL, NULL, 0, err, sizeof(err)), 0);
	cr_assert_str_empty(err);
}

Test(flash_restore, no_store_in_snapshot_but_vm_has_flash)
{
	expect_refused(&flash, NULL, 0, "the snapshot has none for --firmware-vars");
}

Test(flash_restore, store_but_no_flash)
{
	int r = flash_restore(NULL, NULL, section, HEAD + SIZE, err, sizeof(err));
	cr_assert_eq(r, -EINVAL);
	cr_assert_str_eq(err, "firmware variables: the snapshot has a variable store, and the VM "
			      "no --firmware-vars");
}

Test(flash_restore, shorter_than_the_state)
{
	expect_refused(&flash, section, HEAD - 1,
		       "the snapshot's flash section is 7 bytes, shorter than the flash state it "
		       "starts with (8)");
}

Test(flash_restore, empty_section)
{
	expect_refused(&flash, section, 0, "flash section is 0 bytes, shorter than");
}

Test(flash_restore, one_byte_short)
{
	expect_refused(&flash, section, HEAD + SIZE - 1,
		       "the snapshot's store is 16383 bytes, --firmware-vars " VARS " is 16384");
}

Test(flash_restore, one_byte_long)
{
	expect_refused(&flash, section, HEAD + SIZE + 1,
		       "the snapshot's store is 16385 bytes, --firmware-vars " VARS " is 16384");
}

Test(flash_restore, state_only)
{
	expect_refused(&flash, section, HEAD, "the snapshot's store is 0 bytes");
}

Test(flash_restore, store_with_a_bad_header)
{
	memcpy(section + HEAD + 0x28, "_FVX", 4);
	expect_refused(&flash, section, HEAD + SIZE, "firmware variables: the snapshot's store: ");
}

Test(flash_restore, store_with_a_bad_checksum)
{
	section[HEAD + 0x32] ^= 1;
	expect_refused(&flash, section, HEAD + SIZE, "the snapshot's store: ");
}

Test(flash_restore, bad_mode)
{
	section[0] = PFLASH_ERASE + 1;
	expect_refused(&flash, section, HEAD + SIZE,
		       "the saved flash mode 4 is none a flash part has (0-3)");
}

Test(flash_restore, nonzero_pad_bytes)
{
	const size_t pad = offsetof(struct pflash_state, pad);
	for (unsigned i = 0; i < sizeof(((struct pflash_state *)0)->pad); i++) {
		char want[80];
		snprintf(want, sizeof(want),
			 "the saved flash state's padding byte %u is 0x80, not 0", i);
		memset(section + pad, 0, HEAD - pad);
		section[pad + i] = 0x80;
		expect_refused(&flash, section, HEAD + SIZE, want);
	}
}

Test(flash_restore, good_store_is_copied_with_its_mode)
{
	int r = flash_restore(&flash, VARS, section, HEAD + SIZE, err, sizeof(err));
	cr_assert_eq(r, 0, "flash_restore: %d (%s)", r, err);
	cr_assert_eq(memcmp(array, section + HEAD, SIZE), 0,
		     "the store's bytes are not the flash's");
	cr_assert_eq(flash.mode, PFLASH_READ_STATUS);
	cr_assert_eq(flash.status, PFLASH_STATUS_READY);
	uint8_t v = 0;
	cr_assert_eq(io_bus_read(&bus, BASE + 0x100, &v, 1), 1);
	cr_assert_eq(v, PFLASH_STATUS_READY, "a read in the restored mode is not the status");
}
