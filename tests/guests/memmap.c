/* Checks the PVH memory map (hvm_start_info version 1, memmap_paddr / memmap_entries) against the
 * RAM size the VMM was given, passed on the command line as expect_mem=N (K/M/G suffixes ok):
 *  - the map exists, entries are non-empty, sorted by address, non-overlapping, no overflow;
 *  - no RAM in the MMIO hole [0xC0000000, 4 GiB);
 *  - usable RAM totals between expect_mem - 1 MiB and expect_mem: the only RAM a VMM may withhold
 *    is below 1 MiB (real-mode area, EBDA, BIOS ROM); everything from 1 MiB up must be usable;
 *  - this image (loaded at 1 MiB) lies in RAM.
 * With `lenient` on the command line, an unsorted map and empty entries are accepted (sorted and
 * dropped before the other checks): QEMU microvm's qboot firmware hands over the map in fw_cfg
 * order and with one trailing all-zero entry. The PVH ABI does not promise order; our VMM does. */
#include "guest.h"

#define MIB	      (1ULL << 20)
#define HOLE_START    0xC0000000ULL
#define HOLE_END      0x100000000ULL
#define LOW_TOLERANCE MIB /* what may be reserved below 1 MiB */
#define MAX_ENTRIES   128

extern char __image_start[], __image_end[];

static const char *type_name(uint32_t type)
{
	static const char *const names[] = {"?",   "RAM",      "reserved", "ACPI",
					    "NVS", "unusable", "disabled", "PMEM"};
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

static void print_map(const struct hvm_memmap_table_entry *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		printf("memmap[%u]: 0x%016llx size 0x%llx %s (%u)\n", i,
		       (unsigned long long)m[i].addr, (unsigned long long)m[i].size,
		       type_name(m[i].type), m[i].type);
}

static bool is_sorted(const struct hvm_memmap_table_entry *m, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		if (m[i].addr < m[i - 1].addr)
			return false;
	}
	return true;
}

/* Copies the non-empty entries of m into out, sorted by address (insertion sort: n is small). */
static uint32_t sorted_copy(const struct hvm_memmap_table_entry *m, uint32_t n,
			    struct hvm_memmap_table_entry *out)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = k++;
		if (!m[i].size) {
			k--;
			continue;
		}
		for (; j > 0 && out[j - 1].addr > m[i].addr; j--)
			out[j] = out[j - 1];
		out[j] = m[i];
	}
	return k;
}

static void check_order(const struct hvm_memmap_table_entry *m, uint32_t n)
{
	uint64_t end;

	for (uint32_t i = 0; i < n; i++) {
		TEST_ASSERT_MSG(m[i].size != 0, "entry %u is empty", i);
		TEST_ASSERT_MSG(!__builtin_add_overflow(m[i].addr, m[i].size, &end),
				"entry %u wraps around", i);
		if (i + 1 < n)
			TEST_ASSERT_MSG(end <= m[i + 1].addr,
					"entry %u (ends 0x%llx) overlaps or is not before entry %u "
					"(starts 0x%llx)",
					i, (unsigned long long)end, i + 1,
					(unsigned long long)m[i + 1].addr);
	}
}

static bool in_ram(const struct hvm_memmap_table_entry *m, uint32_t n, uint64_t a, uint64_t len)
{
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].type == HVM_MEMMAP_TYPE_RAM && m[i].addr <= a &&
		    a + len <= m[i].addr + m[i].size)
			return true;
	}
	return false;
}

/* Sums RAM; RAM in the MMIO hole fails the test. */
static uint64_t ram_total(const struct hvm_memmap_table_entry *m, uint32_t n, uint64_t *below_1m)
{
	uint64_t total = 0;

	*below_1m = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].type != HVM_MEMMAP_TYPE_RAM)
			continue;
		TEST_ASSERT_MSG(m[i].addr + m[i].size <= HOLE_START || m[i].addr >= HOLE_END,
				"RAM entry %u overlaps the MMIO hole 0xC0000000-4GiB", i);
		total += m[i].size;
		if (m[i].addr < MIB)
			*below_1m +=
			    (m[i].addr + m[i].size > MIB ? MIB : m[i].addr + m[i].size) - m[i].addr;
	}
	return total;
}

int guest_main(void)
{
	const struct hvm_start_info *si = pvh_start_info();
	static struct hvm_memmap_table_entry sorted[MAX_ENTRIES];
	const struct hvm_memmap_table_entry *m;
	uint64_t expect, total, low;
	uint32_t n, given;

	printf("start_info version %u, memmap 0x%llx, %u entries\n", si->version,
	       (unsigned long long)si->memmap_paddr, si->memmap_entries);
	m = pvh_memmap(&n);
	TEST_ASSERT_MSG(m && n > 0, "no memory map in hvm_start_info");
	TEST_ASSERT_MSG(n <= MAX_ENTRIES, "%u entries: more than this test handles", n);
	print_map(m, n);
	given = n;
	n = sorted_copy(m, given, sorted);
	if (!cmdline_has("lenient")) {
		TEST_ASSERT_MSG(is_sorted(m, given), "the map is not sorted by address");
		TEST_ASSERT_MSG(n == given, "the map has %u empty entries", given - n);
	} else if (n != given || !is_sorted(m, given)) {
		printf("lenient: map sorted, %u empty entries dropped\n", given - n);
	}
	m = sorted;
	check_order(m, n);
	TEST_ASSERT_MSG(in_ram(m, n, (uintptr_t)__image_start, __image_end - __image_start),
			"the guest image 0x%llx-0x%llx is not in RAM",
			(unsigned long long)(uintptr_t)__image_start,
			(unsigned long long)(uintptr_t)__image_end);

	total = ram_total(m, n, &low);
	printf("RAM total 0x%llx (%llu MiB + %llu KiB), below 1 MiB: %llu KiB\n",
	       (unsigned long long)total, (unsigned long long)(total / MIB),
	       (unsigned long long)(total % MIB / 1024), (unsigned long long)(low / 1024));
	TEST_ASSERT_MSG(cmdline_get_u64("expect_mem", &expect),
			"command line lacks expect_mem=<bytes>");
	TEST_ASSERT_MSG(total <= expect && total >= expect - LOW_TOLERANCE,
			"RAM total 0x%llx not within [expect_mem - 1 MiB, expect_mem = 0x%llx]",
			(unsigned long long)total, (unsigned long long)expect);
	return 0;
}
