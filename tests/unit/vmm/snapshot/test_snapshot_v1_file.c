/* A version-1 snapshot as the VMM wrote it (tests/fixtures/snapshots/v1-snap-counter: its
 * configuration is the command line's options as strings) opens with today's snapshot_open():
 * the options are replayed, the devices land in their blocks, and a snapshot of the restored VM
 * would save them as version 2's records. Its disk, outside the folder, is refused unless the
 * operator gives it. No KVM (integration/snapshot_restore runs the guest from it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/snapshot/vm_snapshot.h"

#define FIXTURE VMM_SOURCE_DIR "/tests/fixtures/snapshots/v1-snap-counter"

static char dir[] = "/tmp/test_snapshot_v1_file.XXXXXX", state[128], disk[128];
static struct vm_config cfg;
static struct snapshot_load l;
static char err[1024];

/* The fixture's state file, copied into this test's folder (a restore reads its own folder). */
static void copy_state(void)
{
	static char buf[1 << 16];
	FILE *in = fopen(FIXTURE "/state", "rb");
	cr_assert_not_null(in, "%s/state", FIXTURE);
	size_t n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	cr_assert(n > 0 && n < sizeof(buf));
	FILE *out = fopen(state, "wb");
	cr_assert_not_null(out);
	cr_assert_eq(fwrite(buf, 1, n, out), n);
	fclose(out);
}

static void setup(void)
{
	cr_assert(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	copy_state();
	int fd = open(disk, O_CREAT | O_WRONLY, 0600);
	cr_assert(fd >= 0);
	close(fd);
	vm_config_init(&cfg);
	/* The fixture was written on an AMD host: its CPU model is checked against this host's
	 * by integration/snapshot_restore, not here (on an Intel host the check refuses it). */
	cfg.cpu_check_off = true;
}

static void teardown(void)
{
	snapshot_close(&l);
	cli_free(&cfg);
	unlink(state);
	unlink(disk);
	rmdir(dir);
}

TestSuite(snapshot_v1_file, .init = setup, .fini = teardown);

/* The record of `device` number i in `records`, NULL if none. */
static json_t *record(json_t *records, const char *device, size_t i)
{
	return json_array_get(json_object_get(records, device), i);
}

Test(snapshot_v1_file, its_options_come_back_as_blocks_and_then_records)
{
	const struct snapshot_path_override p[] = {{.option = "disk", .index = 0, .path = disk}};
	const struct snapshot_overrides o = {.paths = p, .npaths = 1};
	cr_assert_eq(snapshot_open(&l, state, NULL, &cfg, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.mem_size, 64ull << 20);
	cr_assert_str_eq(cfg.kernel, "/work/exp/v1fix/gone/snap_counter.elf",
			 "the kernel's path is kept, though nothing opens it");
	cr_assert_eq(dev_disk_count(&cfg), 1);
	cr_assert_str_eq(dev_disk_opts(&cfg, 0)->path, disk, "the operator's disk");
	cr_assert_eq(dev_net_count(&cfg), 1);
	json_t *records = device_records(&cfg);
	cr_assert_str_eq(json_string_value(json_object_get(record(records, "disk", 0), "path")),
			 disk);
	cr_assert_not_null(record(records, "rng", 0), "--rng");
	cr_assert_not_null(record(records, "net", 0), "--net user");
	cr_assert_null(record(records, "disk", 1));
	json_decref(records);
}

Test(snapshot_v1_file, its_disk_outside_the_folder_needs_the_operators_word)
{
	cr_assert_eq(snapshot_open(&l, state, NULL, &cfg, NULL, err, sizeof(err)), -EACCES);
	cr_assert(strstr(err, "/work/exp/v1fix/gone/disk.img"), "%s", err);
	cr_assert(strstr(err, "outside its folder"), "%s", err);
}
