/* A guest whose answer after a restore needs tens of MiB of its memory: the workload of the
 * working-set benchmark (tools/benchmarks/working_set.py) and test
 * (tests/integration/snapshot/test_snapshot_working_set.py).
 *
 * Fills touch= bytes (default 64M) from 16 MiB into RAM with a pattern (non-zero pages, so the
 * memory file holds them), prints "WS-READY", then waits in ring 3 (native speed) until the VM
 * generation ID (x86: at 0xA0000; arm64: the device tree's; boot_vmgenid()) changes: every restore
 * writes a new one before any vCPU runs (docs/snapshots.md, "What changes on restore"). It then
 * reads one word of every page of the region and prints "WS-ANSWER sum=%016llx read_cycles=N" (the
 * first answer after the restore; N: clock ticks the read took (x86: TSC cycles), the part a
 * working set shortens), and waits for the next restore. The snapshot is taken while it waits.
 * Command line: [touch=SIZE] (default 64M) [write=SIZE] (default 0: the first SIZE bytes of the
 * region are written after a restore, the same values again, instead of only read). */
#include "guest.h"
#include "platform.h"
#include "user.h"

#define PAGE	     4096ull
#define START_OFFSET (16ull << 20) /* from boot_ram_base() */

struct work {
	uint64_t start, len, write;
	uint64_t id[2];
	uint64_t vmgenid;
};

static uint64_t fill(void *arg)
{
	const struct work *w = arg;
	for (uint64_t a = w->start; a < w->start + w->len; a += 8)
		*(volatile uint64_t *)phys_ptr(a) = a * 0x9E3779B97F4A7C15ull;
	return 0;
}

/* Until the generation ID differs from w->id (then w->id is the new one). */
static uint64_t wait_restore(void *arg)
{
	struct work *w = arg;
	volatile uint64_t *id = phys_ptr(w->vmgenid);
	while (id[0] == w->id[0] && id[1] == w->id[1])
		cpu_relax();
	w->id[0] = id[0];
	w->id[1] = id[1];
	return 0;
}

/* One word of every page: the first w->write bytes written again (the same value: a copy of
 * the page on the host), the rest read. */
static uint64_t read_pages(void *arg)
{
	const struct work *w = arg;
	uint64_t sum = 0;
	for (uint64_t a = w->start; a < w->start + w->len; a += PAGE) {
		if (a < w->start + w->write)
			*(volatile uint64_t *)phys_ptr(a) = a * 0x9E3779B97F4A7C15ull;
		sum = sum * 31 + *(volatile uint64_t *)phys_ptr(a);
	}
	return sum;
}

int guest_main(void)
{
	struct work w = {
	    .start = boot_ram_base() + START_OFFSET, .len = 64ull << 20, .vmgenid = boot_vmgenid()};

	cmdline_get_u64("touch", &w.len);
	cmdline_get_u64("write", &w.write);
	w.len &= ~(PAGE - 1);
	TEST_ASSERT_MSG(w.len && boot_is_ram(w.start, w.len),
			"touch=0x%llx is not RAM from 16 MiB into it", (unsigned long long)w.len);
	TEST_ASSERT_MSG(w.vmgenid, "no VM generation ID");
	w.id[0] = *(volatile uint64_t *)phys_ptr(w.vmgenid);
	w.id[1] = *(volatile uint64_t *)phys_ptr(w.vmgenid + 8);
	run_user(fill, &w);
	printf("WS-READY\n");
	for (;;) {
		run_user(wait_restore, &w);
		uint64_t t0 = clock_ticks();
		uint64_t sum = run_user(read_pages, &w);
		printf("WS-ANSWER sum=%016llx read_cycles=%llu\n", (unsigned long long)sum,
		       (unsigned long long)(clock_ticks() - t0));
	}
	return 0;
}
