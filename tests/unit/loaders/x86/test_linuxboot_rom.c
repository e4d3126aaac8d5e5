/* The option ROM of loaders/x86/linuxboot_rom.h: a valid legacy ROM (signature, one 512-byte
 * block, zero checksum), a PnP header with a boot entry and a zero checksum, as SeaBIOS's
 * optionroms.c checks them; and the bytes are what linuxboot_rom.S assembles to (when gcc and
 * objcopy are there: tools/gen-linuxboot-rom.sh). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loaders/x86/linuxboot_rom.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static unsigned u16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

Test(linuxboot_rom, is_a_valid_option_rom)
{
	uint8_t rom[LINUXBOOT_ROM_SIZE];

	linuxboot_rom(rom);
	cr_assert_eq(rom[0], 0x55);
	cr_assert_eq(rom[1], 0xaa);
	cr_assert_eq(rom[2] * 512, LINUXBOOT_ROM_SIZE);
	cr_assert_eq(rom[3], 0xcb, "the init entry returns at once (lret)");
	cr_assert_eq(sum(rom, sizeof(rom)), 0);
}

Test(linuxboot_rom, has_a_pnp_header_with_a_boot_entry)
{
	uint8_t rom[LINUXBOOT_ROM_SIZE];

	linuxboot_rom(rom);
	unsigned pnp = u16(rom + 0x1a);
	cr_assert_lt(pnp + 32, sizeof(rom));
	cr_assert_arr_eq(rom + pnp, "$PnP", 4);
	cr_assert_eq(rom[pnp + 5], 2, "32 bytes");
	cr_assert_eq(sum(rom + pnp, 32), 0);
	unsigned bev = u16(rom + pnp + 26), name = u16(rom + pnp + 16);
	cr_assert(bev > pnp && bev < sizeof(rom) - 1);
	cr_assert_eq(rom[bev], 0xfa, "the boot entry starts with cli");
	cr_assert_str_eq((const char *)rom + name, "Linux via fw_cfg");
}

Test(linuxboot_rom, matches_its_source)
{
	const char *src = VMM_SOURCE_DIR "/loaders/x86/linuxboot_rom.S";
	char cmd[1024];
	uint8_t rom[LINUXBOOT_ROM_SIZE], built[LINUXBOOT_ROM_SIZE + 1];

	if (system("command -v gcc >/dev/null && command -v objcopy >/dev/null") != 0)
		cr_skip_test("no gcc/objcopy to assemble %s", src);
	snprintf(cmd, sizeof(cmd),
		 "set -e; d=$(mktemp -d); gcc -c -x assembler-with-cpp %s -o $d/r.o; "
		 "objcopy -O binary -j .text $d/r.o $d/r.bin; cat $d/r.bin; rm -rf $d",
		 src);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(built, 1, sizeof(built), p);
	cr_assert_eq(pclose(p), 0);
	cr_assert_eq(n, LINUXBOOT_ROM_SIZE);
	linuxboot_rom(rom);
	/* the checksum bytes (PnP +9 and the last) are the VMM's, 0 in the source */
	unsigned pnp = u16(rom + 0x1a);
	rom[pnp + 9] = 0;
	rom[LINUXBOOT_ROM_SIZE - 1] = 0;
	cr_assert_arr_eq(
	    rom, built, LINUXBOOT_ROM_SIZE,
	    "loaders/x86/linuxboot_rom.c is out of date: run tools/gen-linuxboot-rom.sh");
}
