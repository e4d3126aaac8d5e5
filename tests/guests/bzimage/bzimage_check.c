/* bzimage_check: what a 64-bit bzImage loader hands the kernel (Documentation/arch/x86/boot.rst).
 *
 * Command line (all optional except bzcheck):
 *   bzcheck=hello-bzimage   must be there: proves cmd_line_ptr points at the --append string
 *   zero_page=ADDR          RSI must equal ADDR
 *   expect_mem=SIZE         e820 RAM total in [SIZE - 1 MiB, SIZE]
 *   initrd_size=N initrd_cksum=C   an initrd of N bytes whose POSIX cksum(1) CRC is C; without
 *                                  initrd_size, the zero page must name no initrd
 * Checks: the CPU state (entry_checks.c); the zero page's setup header = the image's (bar the
 * fields a loader writes), type_of_loader 0xff, loadflags, sentinel, setup_data 0 (our VMM passes
 * none); the command line; the e820 table (count, order, overlap, the 3-4 GiB hole, total); the
 * initrd (size, contents, placement clear of the kernel's init_size, below initrd_addr_max, in
 * RAM). */
#include <asm/e820.h>

#include "bzimage.h"
#include "guest.h"

#define HDRS_MAGIC	0x53726448 /* "HdrS" */
#define LOADER_UNKNOWN	0xFF
#define BZCHECK_VALUE	"hello-bzimage"
#define MIB		(1ULL << 20)
#define HOLE_START	0xC0000000ULL
#define HOLE_END	0x100000000ULL
#define ZERO_PAGE_SIZE	4096
#define CKSUM_POLY	0x04C11DB7u /* POSIX cksum: CRC-32, MSB first */
#define LOADFLAGS_KNOWN (LOADED_HIGH | QUIET_FLAG | KEEP_SEGMENTS | CAN_USE_HEAP)

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static uint64_t kernel_end(void)
{
	return BZ_LOAD_ADDR + (uintptr_t)__bz_init_size;
}

/* ---- setup header ---- */

/* The header with the fields a boot loader writes (boot.rst "write"/"modify" entries) taken from
 * the zero page; every other byte must be the image's. Returns the first differing offset. */
static int header_diff(const struct setup_header *zp)
{
	struct setup_header want = bz_image_header;
	const uint8_t *a = (const uint8_t *)&want, *b = (const uint8_t *)zp;

	want.vid_mode = zp->vid_mode;
	want.type_of_loader = zp->type_of_loader;
	want.loadflags = zp->loadflags;
	want.heap_end_ptr = zp->heap_end_ptr;
	want.ext_loader_ver = zp->ext_loader_ver;
	want.ext_loader_type = zp->ext_loader_type;
	want.cmd_line_ptr = zp->cmd_line_ptr;
	want.ramdisk_image = zp->ramdisk_image;
	want.ramdisk_size = zp->ramdisk_size;
	want.setup_data = zp->setup_data;
	for (size_t i = 0; i < sizeof(want); i++) {
		if (a[i] != b[i])
			return (int)i;
	}
	return -1;
}

static void check_header(const struct boot_params *bp)
{
	const struct setup_header *h = &bp->hdr;
	int diff;

	printf("header: magic 0x%x version 0x%x setup_sects %u syssize 0x%x init_size 0x%x "
	       "xloadflags 0x%x cmdline_size %u\n",
	       h->header, h->version, h->setup_sects, h->syssize, h->init_size, h->xloadflags,
	       h->cmdline_size);
	printf("header: type_of_loader 0x%x loadflags 0x%x heap_end_ptr 0x%x setup_data 0x%llx\n",
	       h->type_of_loader, h->loadflags, h->heap_end_ptr, (unsigned long long)h->setup_data);
	TEST_ASSERT_EQ(h->header, HDRS_MAGIC);
	TEST_ASSERT_EQ(h->version, BZ_VERSION);
	TEST_ASSERT_EQ(h->setup_sects, BZ_SETUP_SECTS);
	TEST_ASSERT_EQ(h->syssize, (uintptr_t)__bz_syssize);
	TEST_ASSERT_EQ(h->init_size, (uintptr_t)__bz_init_size);
	TEST_ASSERT_EQ(h->boot_flag, 0xAA55);
	TEST_ASSERT_EQ(h->xloadflags, XLF_KERNEL_64);
	TEST_ASSERT_EQ(h->cmdline_size, BZ_CMDLINE_SIZE);
	TEST_ASSERT_EQ(h->pref_address, BZ_LOAD_ADDR);
	TEST_ASSERT_EQ(h->code32_start, BZ_LOAD_ADDR);
	diff = header_diff(h);
	TEST_ASSERT_MSG(diff < 0, "zero page header differs from the image at offset 0x%x",
			0x1F1 + diff);
	TEST_ASSERT_EQ(h->type_of_loader, LOADER_UNKNOWN);
	TEST_ASSERT_MSG(h->loadflags & LOADED_HIGH, "loadflags 0x%x: LOADED_HIGH clear",
			h->loadflags);
	TEST_ASSERT_MSG(!(h->loadflags & ~LOADFLAGS_KNOWN),
			"loadflags 0x%x: bits a loader does not set", h->loadflags);
	/* boot.rst "sentinel": nonzero means a loader copied junk into the zero page. */
	TEST_ASSERT_EQ(bp->sentinel, 0);
	/* Our VMM passes no setup_data list; whatever the image file holds must not leak through
	 * (boot.rst: setup_data is the loader's to write). */
	TEST_ASSERT_EQ(h->setup_data, 0);
}

/* ---- command line ---- */

static void check_cmdline(const struct boot_params *bp)
{
	const char *s = phys_ptr(bp->hdr.cmd_line_ptr);
	char value[64];
	uint64_t len = 0;

	TEST_ASSERT_MSG(bp->hdr.cmd_line_ptr != 0, "no command line (cmd_line_ptr 0)");
	TEST_ASSERT_EQ(bp->ext_cmd_line_ptr, 0);
	while (len <= BZ_CMDLINE_SIZE && s[len])
		len++;
	TEST_ASSERT_MSG(len <= BZ_CMDLINE_SIZE, "command line longer than cmdline_size %u",
			BZ_CMDLINE_SIZE);
	printf("cmdline: at 0x%x, %llu bytes: \"%s\"\n", bp->hdr.cmd_line_ptr,
	       (unsigned long long)len, s);
	TEST_ASSERT_MSG(cmdline_get_str("bzcheck", value, sizeof(value)),
			"no bzcheck= on the command line");
	TEST_ASSERT_MSG(!strcmp(value, BZCHECK_VALUE), "bzcheck=%s, want %s", value, BZCHECK_VALUE);
	TEST_ASSERT_MSG(
	    !overlaps(bp->hdr.cmd_line_ptr, len + 1, BZ_LOAD_ADDR, kernel_end() - BZ_LOAD_ADDR) &&
		!overlaps(bp->hdr.cmd_line_ptr, len + 1, (uintptr_t)bp, ZERO_PAGE_SIZE),
	    "command line overlaps the kernel or the zero page");
}

/* ---- e820 ---- */

static bool in_ram(const struct boot_params *bp, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < bp->e820_entries; i++) {
		const struct boot_e820_entry *e = &bp->e820_table[i];

		if (e->type == E820_RAM && e->addr <= addr && addr - e->addr <= e->size &&
		    len <= e->size - (addr - e->addr))
			return true;
	}
	return false;
}

static uint64_t check_e820_entries(const struct boot_params *bp)
{
	uint64_t prev_end = 0, ram = 0, end;

	for (unsigned i = 0; i < bp->e820_entries; i++) {
		const struct boot_e820_entry *e = &bp->e820_table[i];

		printf("e820[%u]: 0x%016llx-0x%016llx type %u\n", i, (unsigned long long)e->addr,
		       (unsigned long long)(e->addr + e->size), e->type);
		TEST_ASSERT_MSG(e->size && !__builtin_add_overflow(e->addr, e->size, &end),
				"e820[%u]: empty or overflowing", i);
		TEST_ASSERT_MSG(e->addr >= prev_end, "e820[%u]: unsorted or overlapping", i);
		if (e->type == E820_RAM) {
			TEST_ASSERT_MSG(
			    !overlaps(e->addr, e->size, HOLE_START, HOLE_END - HOLE_START),
			    "e820[%u]: RAM in the 3-4 GiB MMIO hole", i);
			ram += e->size;
		}
		prev_end = end;
	}
	return ram;
}

static void check_e820(const struct boot_params *bp)
{
	uint64_t ram, want;

	TEST_ASSERT_MSG(bp->e820_entries >= 1 && bp->e820_entries <= E820_MAX_ENTRIES_ZEROPAGE,
			"e820_entries %u", bp->e820_entries);
	ram = check_e820_entries(bp);
	printf("e820: %u entries, RAM total 0x%llx (%llu MiB)\n", bp->e820_entries,
	       (unsigned long long)ram, (unsigned long long)(ram / MIB));
	if (cmdline_get_u64("expect_mem", &want))
		TEST_ASSERT_MSG(ram <= want && ram + MIB >= want,
				"RAM total 0x%llx not within 1 MiB below expect_mem 0x%llx",
				(unsigned long long)ram, (unsigned long long)want);
	TEST_ASSERT_MSG(in_ram(bp, BZ_LOAD_ADDR, kernel_end() - BZ_LOAD_ADDR),
			"kernel [0x%x, 0x%llx) is not in one RAM entry", BZ_LOAD_ADDR,
			(unsigned long long)kernel_end());
}

/* ---- initrd ---- */

struct cksum_job {
	const uint8_t *data;
	uint64_t len;
	uint32_t table[256];
};

static void cksum_table(uint32_t table[256])
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i << 24;

		for (int k = 0; k < 8; k++)
			c = (c & 0x80000000u) ? (c << 1) ^ CKSUM_POLY : c << 1;
		table[i] = c;
	}
}

static uint32_t cksum_byte(const uint32_t table[256], uint32_t crc, uint8_t b)
{
	return (crc << 8) ^ table[(crc >> 24) ^ b];
}

/* POSIX cksum: CRC over the data, then over the length (low byte first, no trailing zeros),
 * complemented. Runs in ring 3: natively there, where ring 0 is emulated (docs/running.md). */
static uint64_t cksum_user(void *arg)
{
	const struct cksum_job *j = arg;
	uint32_t crc = 0;

	for (uint64_t i = 0; i < j->len; i++)
		crc = cksum_byte(j->table, crc, j->data[i]);
	for (uint64_t n = j->len; n; n >>= 8)
		crc = cksum_byte(j->table, crc, (uint8_t)n);
	return ~crc;
}

static void check_initrd_placement(const struct boot_params *bp, uint64_t addr, uint64_t size)
{
	TEST_ASSERT_EQ(bp->ext_ramdisk_image, 0);
	TEST_ASSERT_EQ(bp->ext_ramdisk_size, 0);
	/* loaders/boot.c places it page-aligned (Linux reserves the initrd in whole pages). */
	TEST_ASSERT_MSG(!(addr & 0xFFF), "initrd at 0x%llx: not page aligned",
			(unsigned long long)addr);
	TEST_ASSERT_MSG(addr >= kernel_end(),
			"initrd at 0x%llx inside the kernel's init_size (ends 0x%llx)",
			(unsigned long long)addr, (unsigned long long)kernel_end());
	TEST_ASSERT_MSG(addr + size - 1 <= bp->hdr.initrd_addr_max,
			"initrd ends 0x%llx, above initrd_addr_max 0x%x",
			(unsigned long long)(addr + size), bp->hdr.initrd_addr_max);
	TEST_ASSERT_MSG(in_ram(bp, addr, size), "initrd is not in one e820 RAM entry");
	TEST_ASSERT_MSG(!overlaps(addr, size, (uintptr_t)bp, ZERO_PAGE_SIZE),
			"initrd overlaps the zero page");
}

static void check_initrd(const struct boot_params *bp)
{
	static struct cksum_job job;
	uint64_t addr = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	uint64_t size = bp->hdr.ramdisk_size | (uint64_t)bp->ext_ramdisk_size << 32;
	uint64_t want_size, want_sum, sum;

	printf("initrd: ramdisk_image 0x%llx ramdisk_size %llu\n", (unsigned long long)addr,
	       (unsigned long long)size);
	if (!cmdline_get_u64("initrd_size", &want_size)) {
		TEST_ASSERT_MSG(addr == 0 && size == 0, "an initrd nobody asked for");
		return;
	}
	TEST_ASSERT_EQ(size, want_size);
	TEST_ASSERT_MSG(size && cmdline_get_u64("initrd_cksum", &want_sum),
			"initrd_size needs initrd_cksum (and a non-empty initrd)");
	check_initrd_placement(bp, addr, size);
	job.data = phys_ptr(addr);
	job.len = size;
	cksum_table(job.table);
	sum = run_user(cksum_user, &job);
	printf("initrd: cksum %llu (want %llu)\n", (unsigned long long)sum,
	       (unsigned long long)want_sum);
	TEST_ASSERT_EQ(sum, want_sum);
}

int guest_main(void)
{
	const struct boot_params *bp = bz_boot_params();

	TEST_ASSERT_MSG(bp, "startup_64 got RSI 0x%llx: no zero page",
			(unsigned long long)entry_state[ES_RSI]);
	printf("bzimage_check: zero page at 0x%llx, image [0x%llx, 0x%llx)\n",
	       (unsigned long long)(uintptr_t)bp, (unsigned long long)(uintptr_t)__image_start,
	       (unsigned long long)(uintptr_t)__image_end);
	check_header(bp);
	check_cmdline(bp);
	check_entry_state(bp);
	check_e820(bp);
	check_initrd(bp);
	printf("bzimage_check: all checks passed\n");
	return 0;
}
