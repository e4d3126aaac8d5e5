/* Touches a known amount of guest RAM, so a benchmark can subtract it from the VMM process's peak
 * RSS and keep what the VMM itself costs (tools/bench memory).
 *
 * Writes one 64-bit word to every 4 KiB page of [start, start + touch) from ring 3 (native speed
 * on hosts that emulate ring 0; the identity map is user-accessible). Each first write faults the
 * page into the host process, whichever VMM runs the guest. The region must be RAM (x86: the
 * PVH memory map; arm64: the device tree). Prints "BENCH mem_touch bytes=N start=0xS" and passes.
 * Command line: [touch=SIZE] (default 64M) [start=ADDR] (default 16 MiB into RAM: x86 16M). */
#include "guest.h"
#include "user.h"

#define PAGE 4096ull

struct region {
	uint64_t start, len;
};

static uint64_t touch_pages(void *arg)
{
	const struct region *r = arg;

	for (uint64_t a = r->start; a < r->start + r->len; a += PAGE)
		*(volatile uint64_t *)phys_ptr(a) = a;
	return 0;
}

int guest_main(void)
{
	struct region r = {boot_ram_base() + (16ull << 20), 64ull << 20};

	cmdline_get_u64("touch", &r.len);
	cmdline_get_u64("start", &r.start);
	r.start &= ~(PAGE - 1);
	r.len &= ~(PAGE - 1);
	TEST_ASSERT_MSG(r.start + r.len > r.start &&
			    r.start + r.len <= boot_ram_base() + (3ull << 30),
			"touch=0x%llx at 0x%llx runs off the first 3 GiB of RAM",
			(unsigned long long)r.len, (unsigned long long)r.start);
	TEST_ASSERT_MSG(boot_is_ram(r.start, r.len),
			"[0x%llx, +0x%llx) is not RAM in the memory map",
			(unsigned long long)r.start, (unsigned long long)r.len);
	run_user(touch_pages, &r);
	printf("BENCH mem_touch bytes=%llu start=0x%llx\n", (unsigned long long)r.len,
	       (unsigned long long)r.start);
	return 0;
}
