/* x86's side of platform.h and boot.h. */
#include "platform.h"

#include "../printf.h"
#include "../segments.h"
#include "../test.h"

void platform_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
	printf("guest: nothing at debug-exit port 0x%x; halting\n", DEBUG_EXIT_PORT);
	platform_halt();
}

void platform_halt(void)
{
	for (;;) {
		cli();
		__asm__ volatile("hlt");
	}
}

uint64_t platform_clock_calibrate(const char **how)
{
	uint64_t hz = lapic_tsc_hz();

	tsc_set_per_us(hz / 1000000);
	*how = "the TSC against the LAPIC timer";
	return hz;
}

static bool in_ring3(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 3;
}

void platform_print(const char *s, size_t len)
{
	if (len > USER_PRINT_MAX)
		len = USER_PRINT_MAX;
	if (in_ring3())
		__asm__ volatile("int %3"
				 :
				 : "a"(USER_OP_PRINT), "D"(s), "S"(len), "i"(USER_GATE_VECTOR)
				 : "memory");
	else
		printf_write(s, len);
}

bool platform_irq_route(unsigned line, uint8_t vector)
{
	if (line >= ioapic_pins()) {
		printf("irq %u is not an IOAPIC pin (%u pins)\n", line, ioapic_pins());
		return false;
	}
	lapic_init();
	ioapic_route(line, vector, (uint8_t)lapic_id(), IOAPIC_LEVEL);
	return true;
}

const char *boot_cmdline(void)
{
	return pvh_cmdline();
}

bool boot_is_ram(uint64_t start, uint64_t len)
{
	return pvh_is_ram(start, len);
}

uint64_t boot_ram_base(void)
{
	return 0;
}

uint64_t boot_vmgenid(void)
{
	return 0xA0000;
}

uint64_t boot_ram_top(void)
{
	static uint64_t top;
	uint32_t n;
	const struct hvm_memmap_table_entry *m = pvh_memmap(&n);

	for (uint32_t i = 0; !top && i < n; i++) {
		if (m[i].type == HVM_MEMMAP_TYPE_RAM && m[i].addr <= 0x100000 &&
		    m[i].addr + m[i].size > 0x100000)
			top = m[i].addr + m[i].size;
	}
	return top;
}

int boot_dt(struct dt *t)
{
	unsigned module;

	return dt_from_pvh(t, &module);
}
