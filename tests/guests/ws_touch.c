/* A guest whose answer after a restore needs tens of MiB of its memory: the workload of the
 * working-set benchmark (tools/benchmarks/working_set.py) and test
 * (tests/integration/snapshot/test_snapshot_working_set.py).
 *
 * Fills touch= bytes (default 64M) from 16 MiB with a pattern (non-zero pages, so the memory
 * file holds them), prints "WS-READY", then waits in ring 3 (native speed) until the VM
 * generation ID at 0xA0000 changes: every restore writes a new one before any vCPU runs
 * (docs/snapshots.md, "What changes on restore"). It then reads one word of every page of the
 * region and prints "WS-ANSWER sum=%016llx read_cycles=N" (the first answer after the restore;
 * N: TSC cycles the read took, the part a working set shortens), and waits
 * for the next restore. The snapshot is taken while it waits.
 * Command line: [touch=SIZE] (default 64M) [write=SIZE] (default 0: the first SIZE bytes of the
 * region are written after a restore, the same values again, instead of only read). */
#include "guest.h"

#define PAGE	    4096ull
#define START	    (16ull << 20)
#define VMGENID_GPA 0xA0000ull

struct work {
	uint64_t len, write;
	uint64_t id[2];
};

static uint64_t fill(void *arg)
{
	const struct work *w = arg;
	for (uint64_t a = START; a < START + w->len; a += 8)
		*(volatile uint64_t *)phys_ptr(a) = a * 0x9E3779B97F4A7C15ull;
	return 0;
}

/* Until the generation ID differs from w->id (then w->id is the new one). */
static uint64_t wait_restore(void *arg)
{
	struct work *w = arg;
	volatile uint64_t *id = phys_ptr(VMGENID_GPA);
	while (id[0] == w->id[0] && id[1] == w->id[1])
		__asm__ volatile("pause");
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
	for (uint64_t a = START; a < START + w->len; a += PAGE) {
		if (a < START + w->write)
			*(volatile uint64_t *)phys_ptr(a) = a * 0x9E3779B97F4A7C15ull;
		sum = sum * 31 + *(volatile uint64_t *)phys_ptr(a);
	}
	return sum;
}

int guest_main(void)
{
	struct work w = {.len = 64ull << 20};

	cmdline_get_u64("touch", &w.len);
	cmdline_get_u64("write", &w.write);
	w.len &= ~(PAGE - 1);
	TEST_ASSERT_MSG(w.len && pvh_is_ram(START, w.len), "touch=0x%llx is not RAM from 16 MiB",
			(unsigned long long)w.len);
	w.id[0] = *(volatile uint64_t *)phys_ptr(VMGENID_GPA);
	w.id[1] = *(volatile uint64_t *)phys_ptr(VMGENID_GPA + 8);
	run_user(fill, &w);
	printf("WS-READY\n");
	for (;;) {
		run_user(wait_restore, &w);
		uint64_t t0 = rdtsc();
		uint64_t sum = run_user(read_pages, &w);
		printf("WS-ANSWER sum=%016llx read_cycles=%llu\n", (unsigned long long)sum,
		       (unsigned long long)(rdtsc() - t0));
	}
	return 0;
}
