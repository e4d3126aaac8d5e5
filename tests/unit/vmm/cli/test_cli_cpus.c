/* --cpus (vmm/cli/cli.c): N (no vCPU hotplug), Cloud Hypervisor's boot=N,max=M and N,max=M (vCPU
 * hotplug, also with M = N); a maximum below the
 * boot count, a missing count, an unknown item, a key given twice (base/options.h parses it),
 * out-of-range numbers, and vCPU hotplug with
 * --acpi off or --smt are refused. */
#include <criterion/criterion.h>

#include "vmm/cli/cli.h"

#include "tests/unit/fixtures/cli_args.h"

Test(cli_cpus, plain_count_has_no_maximum)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "3"), CLI_RUN);
	cr_assert_eq(c.ncpus, 3);
	cr_assert_eq(c.max_vcpus, 0);
	cli_free(&c);
}

Test(cli_cpus, boot_and_max)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "boot=2,max=8"), CLI_RUN);
	cr_assert_eq(c.ncpus, 2);
	cr_assert_eq(c.max_vcpus, 8);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "1,max=64"), CLI_RUN);
	cr_assert_eq(c.ncpus, 1);
	cr_assert_eq(c.max_vcpus, 64);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "boot=4,max=4"), CLI_RUN);
	cr_assert_eq(c.max_vcpus, 4, "max = boot: hotplug (vCPUs may go, and come back)");
	cli_free(&c);
}

Test(cli_cpus, refusals, .init = quiet)
{
	struct vm_config c;
	char *bad[] = {"boot=4,max=2", "max=2", "boot=0,max=2", "1,max=65",	 "boot=1,bogus=2",
		       "boot=,max=2",  "",	"1,,max=2x",	"boot=2,boot=3", "2,max=4,max=4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", bad[i]), CLI_EXIT_USAGE, "%s", bad[i]);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "boot=1,max=2", "--acpi", "off"),
		     CLI_EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "-k", "x", "--cpus", "boot=2,max=4", "--smt"), CLI_EXIT_USAGE);
}
