/* The ACPI CPU hotplug registers (devices/acpi_cpuhp.c): the present bitmap, the check and eject
 * bitmaps a read hands over and clears (each 32-bit half on its own), the guest's CEJ0 that
 * counts only after a request, cancel and clear, and the accesses that are ignored. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/acpi_cpuhp.h"

static uint32_t rd(struct acpi_cpuhp *h, uint64_t off)
{
	uint32_t v = 0xDEADBEEF;
	acpi_cpuhp_ops.read(h, off, &v, 4);
	return v;
}

static void wr(struct acpi_cpuhp *h, uint64_t off, uint32_t v)
{
	acpi_cpuhp_ops.write(h, off, &v, 4);
}

Test(acpi_cpuhp_regs, init_checks_the_counts)
{
	struct acpi_cpuhp h;
	cr_assert_eq(acpi_cpuhp_init(&h, 0, 0), -EINVAL);
	cr_assert_eq(acpi_cpuhp_init(&h, 4, 0), -EINVAL);
	cr_assert_eq(acpi_cpuhp_init(&h, 4, 5), -EINVAL);
	cr_assert_eq(acpi_cpuhp_init(&h, 65, 1), -EINVAL);
	cr_assert_eq(acpi_cpuhp_init(&h, 64, 64), 0);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0xFFFFFFFFu);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRH), 0xFFFFFFFFu);
	cr_assert_eq(acpi_cpuhp_init(&h, 40, 2), 0);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x3u);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRH), 0u);
	cr_assert_not(acpi_cpuhp_busy(&h));
}

Test(acpi_cpuhp_regs, plug_sets_present_and_a_check_read_once)
{
	struct acpi_cpuhp h;
	acpi_cpuhp_init(&h, 40, 1);
	cr_assert_eq(acpi_cpuhp_plug(&h, 1), 0);
	cr_assert_eq(acpi_cpuhp_plug(&h, 33), 0);
	cr_assert_eq(acpi_cpuhp_plug(&h, 1), -EEXIST);
	cr_assert_eq(acpi_cpuhp_plug(&h, 0), -EINVAL, "vCPU 0 is always there");
	cr_assert_eq(acpi_cpuhp_plug(&h, 40), -EINVAL, "not a possible vCPU");
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x3u);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRH), 0x2u);
	cr_assert(acpi_cpuhp_busy(&h), "checks not read yet");
	cr_assert_eq(rd(&h, ACPI_CPUHP_CINL), 0x2u);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CINL), 0u, "a read clears it");
	cr_assert(acpi_cpuhp_busy(&h), "the high half is still pending");
	cr_assert_eq(rd(&h, ACPI_CPUHP_CINH), 0x2u);
	cr_assert_not(acpi_cpuhp_busy(&h));
	cr_assert_eq(acpi_cpuhp_present(&h), 0x200000003ull);
}

Test(acpi_cpuhp_regs, eject_after_a_request)
{
	struct acpi_cpuhp h;
	acpi_cpuhp_init(&h, 4, 3);
	wr(&h, ACPI_CPUHP_CEJ0, 2); /* nobody asked: ignored */
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x7u);
	cr_assert_not(acpi_cpuhp_released(&h, 2));
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 3), -EINVAL, "absent");
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 0), -EINVAL, "vCPU 0 stays");
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 2), 0);
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 2), -EALREADY);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CRML), 0x4u);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CRML), 0u);
	cr_assert_eq(acpi_cpuhp_plug(&h, 2), -EBUSY, "its eject is not over");
	wr(&h, ACPI_CPUHP_CEJ0, 2);
	cr_assert(acpi_cpuhp_released(&h, 2));
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x3u, "_STA says absent right after _EJ0");
	cr_assert(acpi_cpuhp_busy(&h), "until the VMM parked it");
	acpi_cpuhp_clear(&h, 2);
	cr_assert_not(acpi_cpuhp_released(&h, 2));
	cr_assert_not(acpi_cpuhp_busy(&h));
	cr_assert_eq(acpi_cpuhp_plug(&h, 2), 0, "plugged again");
	cr_assert_eq(rd(&h, ACPI_CPUHP_CINL), 0x4u);
}

Test(acpi_cpuhp_regs, cancel_keeps_the_cpu_and_ignores_a_late_eject)
{
	struct acpi_cpuhp h;
	acpi_cpuhp_init(&h, 2, 2);
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 1), 0);
	cr_assert(acpi_cpuhp_cancel(&h, 1), "a request to take back");
	cr_assert_eq(rd(&h, ACPI_CPUHP_CRML), 0u, "the request is taken back");
	wr(&h, ACPI_CPUHP_CEJ0, 1);
	cr_assert_not(acpi_cpuhp_released(&h, 1));
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x3u);
	cr_assert_not(acpi_cpuhp_busy(&h));
}

Test(acpi_cpuhp_regs, an_eject_before_the_cancel_wins)
{
	struct acpi_cpuhp h;
	acpi_cpuhp_init(&h, 2, 2);
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 1), 0);
	wr(&h, ACPI_CPUHP_CEJ0, 1);
	cr_assert_not(acpi_cpuhp_cancel(&h, 1), "nothing to take back: the guest ejected it");
	cr_assert(acpi_cpuhp_released(&h, 1));
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x1u);
}

Test(acpi_cpuhp_regs, a_request_drops_an_unread_check)
{
	struct acpi_cpuhp h;
	acpi_cpuhp_init(&h, 2, 1);
	cr_assert_eq(acpi_cpuhp_plug(&h, 1), 0);
	cr_assert_eq(acpi_cpuhp_request_unplug(&h, 1), 0);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CINL), 0u);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CRML), 0x2u);
}

Test(acpi_cpuhp_regs, other_widths_and_offsets_are_ignored)
{
	struct acpi_cpuhp h;
	acpi_cpuhp_init(&h, 4, 2);
	acpi_cpuhp_request_unplug(&h, 1);
	uint8_t b = 0xFF;
	acpi_cpuhp_ops.read(&h, ACPI_CPUHP_CRML, &b, 1);
	cr_assert_eq(b, 0, "a byte read returns 0");
	cr_assert_eq(rd(&h, 0x1C), 0u, "past the registers");
	cr_assert_eq(rd(&h, 0x02), 0u, "unaligned");
	uint16_t w = 1;
	acpi_cpuhp_ops.write(&h, ACPI_CPUHP_CEJ0, &w, 2);
	wr(&h, ACPI_CPUHP_CPRL, 0);  /* read-only */
	wr(&h, ACPI_CPUHP_CEJ0, 99); /* no such vCPU */
	cr_assert_not(acpi_cpuhp_released(&h, 1));
	cr_assert_eq(rd(&h, ACPI_CPUHP_CPRL), 0x3u);
	cr_assert_eq(rd(&h, ACPI_CPUHP_CRML), 0x2u, "the byte read did not take it");
}
