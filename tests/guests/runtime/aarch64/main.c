/* The runtime's C entry on arm64: called by start.S on the boot CPU with the MMU on. */
#include "gic.h"
#include "machine.h"
#include "platform.h"
#include "printf.h"
#include "psci.h"
#include "serial.h"
#include "test.h"

_Noreturn void runtime_main(void);

void runtime_main(void)
{
	int rc;

	serial_init();
	printf("runtime: arm64, EL%llu, MPIDR 0x%llx, DTB 0x%llx, cmdline \"%s\"\n",
	       (unsigned long long)(read_sysreg(CurrentEL) >> 2) & 3,
	       (unsigned long long)cpu_mpidr(), (unsigned long long)machine.dtb, machine.cmdline);
	if (!machine.nram || !machine.ncpus)
		test_fail(__FILE__, __LINE__, "no usable device tree at 0x%llx",
			  (unsigned long long)machine.dtb);
	if (!gic_init())
		printf("runtime: no GIC: interrupts will not work\n");
	rc = guest_main();
	if (rc != 0)
		printf("FAIL: guest_main returned %d\n", rc);
	guest_exit(rc == 0 ? GUEST_EXIT_PASS : GUEST_EXIT_FAIL);
}

void platform_exit(uint32_t code)
{
	irq_disable();
	printf("GUEST-EXIT 0x%x\n", code);
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	printf("guest: PSCI SYSTEM_OFF returned; halting\n");
	platform_halt();
}

void platform_halt(void)
{
	irq_disable();
	for (;;)
		__asm__ volatile("wfi");
}

uint64_t platform_clock_calibrate(const char **how)
{
	*how = "CNTFRQ_EL0";
	return read_sysreg(cntfrq_el0);
}

void platform_print(const char *s, size_t len)
{
	printf_write(s, len);
}

bool platform_irq_route(unsigned line, uint8_t vector)
{
	unsigned intid = GIC_FIRST_SPI + line;

	if (!gic_present() || line >= 988) {
		printf("irq: no GIC, or SPI %u out of range\n", line);
		return false;
	}
	trap_route(intid, vector);
	gic_enable(intid);
	return true;
}
