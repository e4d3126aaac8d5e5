/* --device vfio=PATH (vmm/descriptors/dev_vfio.c): what the parser takes and refuses, and what
 * its claim refuses beside it (RAM that comes and goes) and after start (snapshot, fork,
 * migration: device_table_unsaveable()). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_vfio.h"

static void quiet(void)
{
	cr_redirect_stderr();
}

TestSuite(dev_vfio, .init = quiet);

static char err[256];

static int parse(struct dev_vfio_cfg *c, const char *arg)
{
	err[0] = '\0';
	return dev_vfio_parse(c, arg, err, sizeof(err));
}

Test(dev_vfio, takes_a_pci_device_path)
{
	struct dev_vfio_cfg c = {0};
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0/"), 0, "%s", err);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.path[0], "/sys/bus/pci/devices/0000:01:00.0", "one spelling kept");
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:02:00.1"), 0, "%s", err);
	cr_assert_eq(c.n, 2);
}

Test(dev_vfio, refuses_other_input)
{
	struct dev_vfio_cfg c = {0};
	cr_assert_eq(parse(&c, "/sys/bus/pci/devices/0000:01:00.0"), -EINVAL);
	cr_assert(strstr(err, "unknown device kind"), "%s", err);
	cr_assert_eq(parse(&c, "vfio=/dev/sda"), -EINVAL);
	cr_assert(strstr(err, "not a PCI device path"), "%s", err);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/../../../etc/passwd"), -EINVAL);
	cr_assert_eq(parse(&c, "vfio="), -EINVAL);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0"), 0);
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:01:00.0/"), -EINVAL);
	cr_assert(strstr(err, "given twice"), "%s", err);
	for (int i = 1; i < VM_VFIO_MAX_DEVICES; i++) {
		char arg[64];
		snprintf(arg, sizeof(arg), "vfio=/sys/bus/pci/devices/0000:0%d:00.0", i + 1);
		cr_assert_eq(parse(&c, arg), 0, "%s", err);
	}
	cr_assert_eq(parse(&c, "vfio=/sys/bus/pci/devices/0000:09:00.0"), -EINVAL);
	cr_assert(strstr(err, "at most 4"), "%s", err);
}

static void apply(struct vm_config *cfg, const char *name, const char *arg)
{
	char e[256];
	cr_assert_eq(cli_apply(cfg, name, arg, e, sizeof(e)), 0, "--%s %s: %s", name, arg, e);
}

Test(dev_vfio, refused_beside_ram_that_comes_and_goes)
{
	const char *opts[][2] = {{"memory-hotplug", "total=1G"}, {"balloon", "size=64"}};
	for (int i = 0; i < 2; i++) {
		struct vm_config cfg;
		cli_config_init(&cfg);
		apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:01:00.0");
		cr_assert_eq(device_table_claims_check(&cfg), 0);
		apply(&cfg, opts[i][0], opts[i][1]);
		cr_assert_eq(device_table_claims_check(&cfg), -EINVAL, "--%s", opts[i][0]);
		cr_assert(strstr(log_last_error(), "--device vfio cannot be combined with"), "%s",
			  log_last_error());
		cr_assert(strstr(log_last_error(), opts[i][0]), "%s", log_last_error());
		cli_free(&cfg);
	}
}

Test(dev_vfio, a_vm_with_one_cannot_be_saved)
{
	struct vm_config cfg;
	cli_config_init(&cfg);
	cr_assert_null(device_table_unsaveable(&cfg));
	apply(&cfg, "balloon", "size=64");
	cr_assert_null(device_table_unsaveable(&cfg));
	cli_free(&cfg);
	cli_config_init(&cfg);
	apply(&cfg, "device", "vfio=/sys/bus/pci/devices/0000:01:00.0");
	cr_assert(strstr(device_table_unsaveable(&cfg), "passed-through device"));
	cli_free(&cfg);
}
