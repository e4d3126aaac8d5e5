/* ACPI PCI hotplug registers (devices/pci/acpi_pcihp.h): a plug sets PCIU until it is read, an
 * unplug request sets PCID until it is read, the guest's B0EJ releases only a slot with a
 * pending request, a taken-back request makes a late B0EJ count for nothing, and slots outside
 * the hotplug set are refused. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>

#include "base/io_bus.h"
#include "devices/pci/acpi_pcihp.h"

#define BASE  0xC0002000ULL
#define SLOTS 0xFFFFFFF0u /* devices 4..31, as a VM with three boot devices has them */

static struct io_bus bus;
static struct acpi_pcihp hp;

static void setup(void)
{
	io_bus_init(&bus, "mmio");
	cr_assert_eq(acpi_pcihp_attach(&hp, &bus, BASE, SLOTS), 0);
}

static void teardown(void)
{
	acpi_pcihp_detach(&hp, &bus);
	io_bus_destroy(&bus);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xFFFFFFFF;
	cr_assert_eq(io_bus_read(&bus, BASE + off, &v, 4), 1);
	return v;
}

static void eject(uint32_t bits)
{
	cr_assert_eq(io_bus_write(&bus, BASE + ACPI_PCIHP_B0EJ, &bits, 4), 1);
}

TestSuite(acpi_pcihp, .init = setup, .fini = teardown);

Test(acpi_pcihp, a_plug_is_one_device_check)
{
	cr_assert_eq(acpi_pcihp_plug(&hp, 5), 0);
	cr_assert_eq(acpi_pcihp_plug(&hp, 7), 0);
	cr_assert_eq(rd(ACPI_PCIHP_PCIU), (1u << 5) | (1u << 7));
	cr_assert_eq(rd(ACPI_PCIHP_PCIU), 0, "the read took the notifications");
	cr_assert_eq(rd(ACPI_PCIHP_PCID), 0);
}

Test(acpi_pcihp, an_unplug_is_released_by_the_guests_eject)
{
	cr_assert_eq(acpi_pcihp_plug(&hp, 6), 0);
	cr_assert_eq(acpi_pcihp_request_unplug(&hp, 6), 0);
	cr_assert_eq(rd(ACPI_PCIHP_PCIU), 0, "a device check not read yet is dropped");
	cr_assert_eq(rd(ACPI_PCIHP_PCID), 1u << 6);
	cr_assert_eq(rd(ACPI_PCIHP_PCID), 0);
	cr_assert_not(acpi_pcihp_released(&hp, 6));
	cr_assert_eq(acpi_pcihp_plug(&hp, 6), -EBUSY, "no plug while the unplug is pending");
	eject(1u << 6);
	cr_assert(acpi_pcihp_released(&hp, 6));
	acpi_pcihp_clear(&hp, 6);
	cr_assert_not(acpi_pcihp_released(&hp, 6));
	cr_assert_eq(acpi_pcihp_plug(&hp, 6), 0, "the slot is free again");
}

Test(acpi_pcihp, an_eject_nobody_asked_for_is_ignored)
{
	cr_assert_eq(acpi_pcihp_plug(&hp, 8), 0);
	eject(1u << 8);
	cr_assert_not(acpi_pcihp_released(&hp, 8));
	cr_assert_eq(acpi_pcihp_request_unplug(&hp, 8), 0);
	eject((1u << 8) | (1u << 9));
	cr_assert(acpi_pcihp_released(&hp, 8));
	cr_assert_not(acpi_pcihp_released(&hp, 9));
}

Test(acpi_pcihp, a_cancelled_request_ignores_a_late_eject)
{
	cr_assert_eq(acpi_pcihp_request_unplug(&hp, 10), 0);
	cr_assert_eq(acpi_pcihp_request_unplug(&hp, 10), -EALREADY);
	acpi_pcihp_cancel(&hp, 10);
	cr_assert_eq(rd(ACPI_PCIHP_PCID), 0, "the request not read yet is taken back too");
	eject(1u << 10);
	cr_assert_not(acpi_pcihp_released(&hp, 10), "the device stays");
	cr_assert_eq(acpi_pcihp_request_unplug(&hp, 10), 0, "and may be asked for again");
}

Test(acpi_pcihp, slots_outside_the_set_are_refused)
{
	cr_assert_eq(acpi_pcihp_plug(&hp, 0), -EINVAL, "the host bridge");
	cr_assert_eq(acpi_pcihp_plug(&hp, 3), -EINVAL, "a boot device's slot");
	cr_assert_eq(acpi_pcihp_plug(&hp, 32), -EINVAL);
	cr_assert_eq(acpi_pcihp_plug(&hp, -1), -EINVAL);
	cr_assert_eq(acpi_pcihp_request_unplug(&hp, 2), -EINVAL);
	cr_assert_not(acpi_pcihp_released(&hp, 40));
}

Test(acpi_pcihp, other_widths_and_offsets_do_nothing)
{
	cr_assert_eq(acpi_pcihp_plug(&hp, 4), 0);
	uint16_t half = 0xFFFF;
	cr_assert_eq(io_bus_read(&bus, BASE + ACPI_PCIHP_PCIU, &half, 2), 1);
	cr_assert_eq(half, 0, "a 16-bit read returns 0 and leaves the bits");
	cr_assert_eq(rd(0xC), 0);
	uint32_t v = 0xFFFFFFFF;
	cr_assert_eq(io_bus_write(&bus, BASE + ACPI_PCIHP_PCIU, &v, 4), 1);
	cr_assert_eq(rd(ACPI_PCIHP_PCIU), 1u << 4, "PCIU is read-only");
}

Test(acpi_pcihp_window, is_claimed_once, .init = cr_redirect_stderr)
{
	struct io_bus b;
	struct acpi_pcihp a, c;
	io_bus_init(&b, "mmio");
	cr_assert_eq(acpi_pcihp_attach(&a, &b, BASE, SLOTS), 0);
	cr_assert_eq(acpi_pcihp_attach(&c, &b, BASE, SLOTS), -EEXIST);
	acpi_pcihp_detach(&a, &b);
	io_bus_destroy(&b);
}
