/* libFuzzer target: the flash of UEFI variables (devices/pflash.c) behind an MMIO bus
 * (base/io_bus.c): reads and writes of any width in and around its array, command and data
 * bytes in fuzzed order, and saved states put back.
 * Invariants: nothing outside the array changes (a guard on each side of it), the array is
 * mapped for the guest's reads exactly when the part reads the array, and a read in any other
 * mode returns the status register. */
#include <stdlib.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pflash.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE	0xFFC00000ULL
#define BLOCKS	3
#define GUARD	64
#define MAX_OPS 2048

static uint8_t mem[GUARD + BLOCKS * PFLASH_BLOCK + GUARD];
static bool mapped;

static int set_romd(void *opaque, bool on)
{
	(void)opaque;
	mapped = on;
	return 0;
}

static void check(struct pflash *f)
{
	for (unsigned i = 0; i < GUARD; i++)
		FZ_ASSERT(mem[i] == 0xa5 && mem[sizeof(mem) - 1 - i] == 0xa5, "guard byte %u", i);
	FZ_ASSERT(mapped == (f->mode == PFLASH_READ_ARRAY), "mapped %d in mode %d", mapped,
		  f->mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct io_bus bus;
	struct pflash f;
	memset(mem, 0xa5, sizeof(mem));
	memset(mem + GUARD, 0xff, BLOCKS * PFLASH_BLOCK);
	io_bus_init(&bus, "mmio");
	if (pflash_attach(&f, &bus, BASE, mem + GUARD, BLOCKS * PFLASH_BLOCK, "vars", set_romd,
			  NULL))
		abort();
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&in); ops++) {
		uint8_t op = fz_u8(&in);
		/* mostly a few hot offsets (as OVMF's driver), sometimes anywhere around the array
		 */
		uint64_t off = op & 0x80 ? fz_uint(&in, 2) % (BLOCKS * PFLASH_BLOCK + 32)
					 : (uint64_t)(fz_u8(&in) % 8) * 0x801;
		uint32_t len = op & 0x40 ? 1u << (fz_u8(&in) % 4) : 1;
		uint8_t buf[8];
		struct pflash_state s;
		switch (op % 4) {
		case 0:
			if (io_bus_read(&bus, BASE + off, buf, len) && f.mode != PFLASH_READ_ARRAY)
				for (uint32_t i = 0; i < len; i++)
					FZ_ASSERT(buf[i] == f.status, "status lane %u", i);
			break;
		case 1:
		case 2: /* a command byte from the set OVMF uses, or any byte */
			fz_bytes(&in, buf, len);
			if (op & 0x20) {
				static const uint8_t cmds[] = {0x10, 0x20, 0x40, 0x50,
							       0x70, 0xd0, 0xff, 0x00};
				buf[0] = cmds[buf[0] % sizeof(cmds)];
			}
			io_bus_write(&bus, BASE + off, buf, len);
			break;
		default:
			s = pflash_save(&f);
			if (op & 0x10)
				s.mode = fz_u8(&in) % 6; /* 4 and 5: no such mode, refused */
			pflash_load(&f, &s);
			break;
		}
		check(&f);
	}
	pflash_detach(&f, &bus);
	io_bus_destroy(&bus);
	return 0;
}
