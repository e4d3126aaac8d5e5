/* The virtio-pmem windows (vmm/descriptors/dev_pmem_window.h), without KVM: boot windows one
 * after the other above the RAM, a hot-added one at the lowest free address (a removed window's
 * gap is reused), a restore's recorded address taken or refused when it overlaps, a file whose
 * size is not the body's refused with the window left free, and at most DEV_PMEM_MAX. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/layout.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/descriptors/dev_pmem_window.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

#define RAM MIB(256)

static struct vm vm;
static struct vm_config cfg;
static char dir[] = "/tmp/pmemwin.XXXXXX";
static char err[512];

static void setup(void)
{
	cr_redirect_stderr();
	cr_assert_not_null(mkdtemp(dir));
	vm_config_init(&cfg);
	cfg.mem_size = RAM;
	vm = (struct vm){.cfg = &cfg, .kvm = {.dev_fd = -1, .vm_fd = -1}};
	cr_assert_eq(pmem_windows_begin(&vm), 0);
}

static void teardown(void)
{
	pmem_windows_end(&vm);
	cli_free(&cfg);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(pmem_window, .init = setup, .fini = teardown);

/* A file of `mib` MiB in the test's directory, as the options of device `id`. */
static struct virtio_pmem_opts file_of(const char *id, unsigned mib)
{
	struct virtio_pmem_opts o = {0};
	snprintf(o.path, sizeof(o.path), "%s/%s.img", dir, id);
	snprintf(o.id, sizeof(o.id), "%s", id);
	int fd = open(o.path, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)MIB(mib)), 0);
	close(fd);
	return o;
}

/* Opens window k for a new file; its address, or 0 with the reason in err. */
static uint64_t open_win(int k, const char *id, unsigned mib, uint64_t want, uint64_t size)
{
	struct virtio_pmem_opts o = file_of(id, mib);
	struct virtio_dev *dev = NULL;
	uint64_t gpa = 0;
	err[0] = '\0';
	if (pmem_window_open(&vm, k, id, &o, want, size, &dev, &gpa, err, sizeof(err)))
		return 0;
	cr_assert_not_null(dev);
	cr_assert_eq(pmem_window_dev(k), dev);
	return gpa;
}

/* Window k closed as a remove does: its device first (the transport's), then the window. */
static void close_win(int k)
{
	struct virtio_dev *dev = pmem_window_dev(k);
	virtio_dev_destroy(dev);
	vm_virtio_dev_free(dev);
	pmem_window_close(&vm, k);
}

Test(pmem_window, boot_windows_in_order_then_first_fit)
{
	uint64_t start = layout_pmem_start(RAM, 0, 0);
	cr_assert_eq(open_win(0, "a", 4, 0, 0), start, "%s", err);
	cr_assert_eq(open_win(1, "b", 2, 0, 0), start + MIB(4), "%s", err);
	cr_assert_eq(open_win(2, "c", 6, 0, 0), start + MIB(6), "%s", err);
	cr_assert_eq(pmem_window_find("b"), 1);

	close_win(0); /* a's 4 MiB are free again: a 2 MiB file fits there, a 6 MiB one does not */
	cr_assert_eq(pmem_window_find("a"), -1);
	cr_assert_eq(pmem_window_free(), 0);
	cr_assert_eq(open_win(0, "d", 6, 0, 0), start + MIB(12), "%s", err);
	cr_assert_eq(open_win(3, "e", 2, 0, 0), start, "%s", err);
	for (int k = 0; k < 4; k++)
		close_win(k);
}

Test(pmem_window, a_recorded_address_is_taken_or_refused)
{
	uint64_t start = layout_pmem_start(RAM, 0, 0);
	cr_assert_eq(open_win(0, "boot", 4, 0, 0), start, "%s", err);
	cr_assert_eq(open_win(1, "hot", 2, start + MIB(20), 0), start + MIB(20), "%s", err);
	cr_assert_eq(open_win(2, "clash", 2, start + MIB(2), 0), 0, "the boot window has it");
	cr_assert(strstr(err, "does not fit"), "%s", err);
	cr_assert_eq(open_win(2, "low", 2, MIB(64), 0), 0, "the RAM has it");
	cr_assert_eq(open_win(2, "odd", 2, start + MIB(1), 0), 0, "not 2 MiB-aligned");
	cr_assert_eq(pmem_window_free(), 2, "the refused ones left their window free");
	close_win(0);
	close_win(1);
}

Test(pmem_window, a_size_that_is_not_the_file_s)
{
	cr_assert_eq(open_win(0, "a", 4, 0, MIB(2)), 0);
	cr_assert(strstr(err, "not 2097152"), "%s", err);
	cr_assert_eq(pmem_window_find("a"), -1, "nothing kept");
	cr_assert_neq(open_win(0, "a", 4, 0, MIB(4)), 0, "%s", err);
	close_win(0);
}

Test(pmem_window, at_most_dev_pmem_max)
{
	char id[8];
	for (int k = 0; k < DEV_PMEM_MAX; k++) {
		snprintf(id, sizeof(id), "p%d", k);
		cr_assert_neq(open_win(k, id, 2, 0, 0), 0, "%s", err);
	}
	cr_assert_eq(pmem_window_free(), -1);
	for (int k = 0; k < DEV_PMEM_MAX; k++)
		close_win(k);
	cr_assert_eq(pmem_window_free(), 0);
}
