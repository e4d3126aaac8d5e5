#include "cpu.h"

static uint64_t tsc_us;

uint64_t tsc_per_us(void)
{
	uint32_t r[4];

	if (tsc_us)
		return tsc_us;
	tsc_us = 2000; /* fallback: 2 GHz */
	cpuid(0, 0, r);
	uint32_t max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, 0, r); /* SDM: TSC = crystal (ecx) * ebx / eax */
		if (r[0] && r[1] && r[2]) {
			tsc_us = (uint64_t)r[2] * r[1] / r[0] / 1000000;
			return tsc_us;
		}
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, r); /* eax: base frequency in MHz */
		if (r[0] & 0xffff)
			tsc_us = r[0] & 0xffff;
	}
	return tsc_us;
}

void tsc_set_per_us(uint64_t ticks)
{
	if (ticks)
		tsc_us = ticks;
}

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_per_us();

	while (rdtsc() < end)
		cpu_relax();
}
