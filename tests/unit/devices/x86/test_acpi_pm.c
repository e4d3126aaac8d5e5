/* The ACPI sleep registers (devices/x86/acpi_pm.h): S5 with SLP_EN stops the VM with status 0,
 * anything else does not; both registers read 0. And `--acpi on|off` on the command line. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/x86/acpi_pm.h"
#include "firmware/acpi/acpi.h"
#include "tests/unit/fixtures/vm_stop_rec.h"
#include "vmm/cli/cli.h"

Test(acpi_pm, decodes_what_linux_writes)
{
	/* ACPICA's acpi_hw_extended_sleep(): (SLP_TYPa << 2) & 0x1C | 0x20. */
	uint8_t s5 = (uint8_t)(((ACPI_S5_TYPE << ACPI_SLEEP_TYP_SHIFT) & ACPI_SLEEP_TYP_MASK) |
			       ACPI_SLEEP_EN);
	cr_assert_eq(s5, 0x34);
	cr_assert_eq(ACPI_PM_S5_TYPE, ACPI_S5_TYPE, "the device and the DSDT agree on S5");
	cr_assert_eq(acpi_pm_decode(s5), ACPI_PM_POWEROFF);
	cr_assert_eq(acpi_pm_decode(s5 & ~ACPI_SLEEP_EN), ACPI_PM_NONE, "no SLP_EN");
	cr_assert_eq(acpi_pm_decode((3 << 2) | ACPI_SLEEP_EN), ACPI_PM_UNSUPPORTED_SLEEP, "S3");
	cr_assert_eq(acpi_pm_decode(0), ACPI_PM_NONE);
}

Test(acpi_pm, s5_stops_the_vm_with_status_0, .init = cr_redirect_stderr)
{
	struct io_bus bus;
	struct acpi_pm p;
	struct stop_rec r = {0};
	struct vm_control ctl = {.stop = rec_stop, .opaque = &r};
	uint8_t v, s3 = (3 << 2) | ACPI_SLEEP_EN, s5 = 0x34, wak = ACPI_SLEEP_WAK_STS;
	uint32_t readback = 0xFFFFFFFF;

	io_bus_init(&bus, "pio");
	cr_assert_eq(acpi_pm_attach(&p, &bus, PORT_ACPI_PM, &ctl), 0);
	io_bus_write(&bus, PORT_ACPI_PM + 1, &wak, 1); /* the guest clears WAK_STS first */
	io_bus_write(&bus, PORT_ACPI_PM, &s3, 1);
	v = 0x14; /* S5's type without SLP_EN */
	io_bus_write(&bus, PORT_ACPI_PM, &v, 1);
	cr_assert_eq(r.calls, 0);
	cr_assert_eq(io_bus_read(&bus, PORT_ACPI_PM + 1, &readback, 1), 1);
	cr_assert_eq(readback & 0xFF, 0, "WAK_STS never set");
	io_bus_write(&bus, PORT_ACPI_PM, &s5, 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.why, VM_STOP_POWEROFF);
	cr_assert_eq(r.status, VMM_EXIT_OK);
	acpi_pm_detach(&p, &bus);
	cr_assert_eq(io_bus_read(&bus, PORT_ACPI_PM, &readback, 1), 0, "ports released");
	io_bus_destroy(&bus);
}

#define ARGV(...)                                                                                  \
	(char *[])                                                                                 \
	{                                                                                          \
		"vmm", __VA_ARGS__, NULL                                                           \
	}
#define ARGC(...)	((int)(sizeof((char *[]){"vmm", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cfg)

Test(acpi_pm, cli_turns_acpi_off, .init = cr_redirect_stderr)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x"), CLI_RUN);
	cr_assert_not(c.acpi_off, "on by default");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--acpi", "off"), CLI_RUN);
	cr_assert(c.acpi_off);
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--acpi", "off", "--acpi", "on"), CLI_RUN);
	cr_assert_not(c.acpi_off, "the last one wins");
	cli_free(&c);
	cr_assert_eq(PARSE(&c, "-k", "x", "--acpi", "maybe"), CLI_EXIT_USAGE);
	cli_free(&c);
}
