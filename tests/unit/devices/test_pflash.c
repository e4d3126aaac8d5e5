/* The flash (devices/pflash.h) as OVMF's flash driver drives it: its probe finds a flash, a
 * byte program and a block erase change the array, every mode but read-array reads the status
 * and unmaps the array, and a guest's nonsense changes nothing outside the array. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/pflash.h"

#define BASE 0xFFC00000ULL
#define SIZE (4 * PFLASH_BLOCK)

static struct io_bus bus;
static struct pflash flash;
static uint8_t array[SIZE];
static int maps, unmaps;
static bool mapped;

static int set_romd(void *opaque, bool on)
{
	cr_assert_eq(opaque, &flash);
	on ? maps++ : unmaps++;
	mapped = on;
	return 0;
}

static void setup(void)
{
	memset(array, 0x5a, sizeof(array));
	maps = unmaps = 0;
	mapped = false;
	io_bus_init(&bus, "mmio");
	cr_assert_eq(pflash_attach(&flash, &bus, BASE, array, SIZE, "vars", set_romd, &flash), 0);
}

static void teardown(void)
{
	pflash_detach(&flash, &bus);
	io_bus_destroy(&bus);
}

static void put(uint64_t off, uint8_t v)
{
	cr_assert_eq(io_bus_write(&bus, BASE + off, &v, 1), 1);
}

static uint8_t get(uint64_t off)
{
	uint8_t v = 0;
	cr_assert_eq(io_bus_read(&bus, BASE + off, &v, 1), 1);
	return v;
}

TestSuite(pflash, .init = setup, .fini = teardown);

Test(pflash, is_mapped_for_reads_once_attached)
{
	cr_assert(mapped);
	cr_assert_eq(maps, 1);
	cr_assert_eq(get(7), 0x5a);
}

/* OvmfPkg's QemuFlashDetected(): Clear Status, then Read Status must read 0x00. */
Test(pflash, answers_ovmfs_probe_as_a_flash)
{
	uint8_t original = get(0);
	put(0, PFLASH_CMD_CLEAR_STATUS);
	cr_assert_eq(get(0), original, "Clear Status goes back to the array (not RAM, not ROM)");
	put(0, PFLASH_CMD_READ_STATUS);
	cr_assert_eq(get(0), 0x00, "the status after Clear Status");
	cr_assert_not(mapped, "a status read must reach the device");
	put(0, PFLASH_CMD_READ_ARRAY);
	cr_assert_eq(get(0), original);
	cr_assert(mapped);
	cr_assert_eq(array[0], 0x5a, "the probe changes no byte");
}

/* QemuFlashWrite(): 0x10 and the byte, for each byte, then Read Array at the last one. */
Test(pflash, programs_bytes_and_reads_the_status_meanwhile)
{
	const uint8_t want[] = {0x00, 0xaa, 0xff, 0x12};
	for (unsigned i = 0; i < sizeof(want); i++) {
		put(100 + i, PFLASH_CMD_PROGRAM);
		cr_assert_not(mapped);
		put(100 + i, want[i]);
		cr_assert_eq(get(100 + i), PFLASH_STATUS_READY, "status while programming");
	}
	put(100 + sizeof(want) - 1, PFLASH_CMD_READ_ARRAY);
	cr_assert(mapped);
	cr_assert_arr_eq(array + 100, want, sizeof(want));
	cr_assert_eq(array[99], 0x5a);
	cr_assert_eq(array[104], 0x5a);
	cr_assert_eq(flash.programs, sizeof(want));
	put(0, 0x40); /* the other program command */
	put(3, 0x77);
	cr_assert_eq(array[3], 0x77);
}

Test(pflash, erases_the_4k_block_it_is_confirmed_at)
{
	put(PFLASH_BLOCK + 17, PFLASH_CMD_ERASE);
	put(PFLASH_BLOCK + 17, PFLASH_CMD_CONFIRM);
	cr_assert_eq(get(PFLASH_BLOCK), PFLASH_STATUS_READY);
	put(0, PFLASH_CMD_READ_ARRAY);
	for (unsigned i = 0; i < SIZE; i++)
		cr_assert_eq(array[i], i / PFLASH_BLOCK == 1 ? 0xff : 0x5a, "byte %u", i);
	cr_assert_eq(flash.erases, 1);
}

Test(pflash, an_erase_without_its_confirmation_erases_nothing)
{
	put(0, PFLASH_CMD_ERASE);
	put(0, 0x33);
	uint8_t s = get(0);
	cr_assert_eq(s & (PFLASH_STATUS_ERASE_ERROR | PFLASH_STATUS_PROGRAM_ERROR),
		     PFLASH_STATUS_ERASE_ERROR | PFLASH_STATUS_PROGRAM_ERROR);
	put(0, PFLASH_CMD_CLEAR_STATUS);
	put(0, PFLASH_CMD_READ_STATUS);
	cr_assert_eq(get(0), 0);
	put(0, PFLASH_CMD_READ_ARRAY);
	cr_assert_eq(array[0], 0x5a);
	cr_assert_eq(flash.erases, 0);
}

Test(pflash, an_unknown_command_reads_the_array_and_changes_nothing)
{
	put(5, 0x90); /* read identifier: not implemented */
	cr_assert(mapped);
	cr_assert_eq(get(5), 0x5a);
	put(5, 0xe8); /* buffered program: not implemented, its next byte is a command again */
	put(5, 0x01);
	for (unsigned i = 0; i < SIZE; i++)
		cr_assert_eq(array[i], 0x5a);
	cr_assert_eq(flash.ignored, 3);
}

Test(pflash, wide_accesses_stay_inside_the_array)
{
	uint32_t v = 0x11223344;
	put(SIZE - 4, PFLASH_CMD_PROGRAM);
	cr_assert_eq(io_bus_write(&bus, BASE + SIZE - 4, &v, 4), 1);
	put(0, PFLASH_CMD_READ_ARRAY);
	cr_assert_eq(memcmp(array + SIZE - 4, &v, 4), 0);
	/* past the end: the bus does not hand it to the device; the device refuses it anyway */
	put(0, PFLASH_CMD_PROGRAM);
	pflash_write(&flash, SIZE - 2, &v, 4);
	pflash_write(&flash, UINT64_MAX - 1, &v, 4);
	uint8_t back[4];
	pflash_read(&flash, SIZE, back, 4);
	cr_assert_eq(back[0], 0xff);
	cr_assert_eq(back[3], 0xff);
	cr_assert_eq(memcmp(array + SIZE - 4, &v, 4), 0);
}

Test(pflash, a_saved_state_comes_back_with_its_mapping)
{
	put(0, PFLASH_CMD_READ_STATUS);
	struct pflash_state s = pflash_save(&flash);
	cr_assert_eq(s.mode, PFLASH_READ_STATUS);
	cr_assert_eq(s.status, PFLASH_STATUS_READY);
	put(0, PFLASH_CMD_READ_ARRAY);
	cr_assert(mapped);
	cr_assert_eq(pflash_load(&flash, &s), 0);
	cr_assert_not(mapped);
	cr_assert_eq(get(0), PFLASH_STATUS_READY);
	struct pflash_state bad = {.mode = 9};
	cr_assert_eq(pflash_load(&flash, &bad), -EINVAL);
	cr_assert_eq(get(0), PFLASH_STATUS_READY, "a refused state changes nothing");
}

Test(pflash, refuses_a_size_that_is_not_whole_blocks)
{
	struct io_bus other;
	struct pflash f;
	io_bus_init(&other, "mmio");
	cr_assert_eq(pflash_attach(&f, &other, 0, array, PFLASH_BLOCK + 1, "x", NULL, NULL),
		     -EINVAL);
	cr_assert_eq(pflash_attach(&f, &other, 0, array, 0, "x", NULL, NULL), -EINVAL);
	io_bus_destroy(&other);
}
