/* Counting processors in the Intel MultiProcessor Specification 1.4 tables (chapter 4). */
#include "smp.h"

#include <stdbool.h>

#include "io.h"
#include "printf.h"
#include "string.h"

#define MPC_ENTRY_PROCESSOR 0
#define MPC_CPU_ENABLED	    0x01

/* MP floating pointer structure (MP spec 1.4 section 4.1). */
struct mpf {
	char signature[4]; /* "_MP_" */
	uint32_t config_paddr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t features[5];
} __attribute__((packed));

/* MP configuration table header (section 4.2). */
struct mpc_header {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_size;
	uint16_t entry_count;
	uint32_t lapic_paddr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

static bool checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return sum == 0;
}

static const struct mpf *scan(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a + sizeof(struct mpf) <= start + len; a += 16) {
		const struct mpf *f = phys_ptr(a);
		if (!memcmp(f->signature, "_MP_", 4) && f->length == 1 &&
		    checksum_ok(f, sizeof(*f)))
			return f;
	}
	return NULL;
}

/* Section 4: the first KiB of the EBDA, the last KiB of base memory, or the BIOS ROM. */
static const struct mpf *find_mpf(void)
{
	uint64_t ebda = (uint64_t)mmio_read16(0x40E) << 4; /* BDA: EBDA segment */
	const struct mpf *f = NULL;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		f = scan(ebda, 1024);
	if (!f)
		f = scan(0x9FC00, 1024);
	if (!f)
		f = scan(0xF0000, 0x10000);
	return f;
}

int mptable_count_cpus(void)
{
	const struct mpf *f = find_mpf();
	const struct mpc_header *h;
	const uint8_t *e, *end;
	int n = 0;

	if (!f || !f->config_paddr || f->config_paddr >= 0x100000)
		return -1;
	h = phys_ptr(f->config_paddr);
	if (memcmp(h->signature, "PCMP", 4) || h->length < sizeof(*h) || !checksum_ok(h, h->length))
		return -1;
	e = (const uint8_t *)(h + 1);
	end = (const uint8_t *)h + h->length;
	for (unsigned i = 0; i < h->entry_count && e < end; i++) {
		/* Processor entries are 20 bytes, all other base entries 8 (section 4.3). */
		if (e[0] == MPC_ENTRY_PROCESSOR) {
			if (e + 20 > end)
				return -1;
			if (e[3] & MPC_CPU_ENABLED)
				n++;
			else
				printf("mptable: processor entry APIC ID %u is disabled\n", e[1]);
			e += 20;
		} else {
			e += 8;
		}
	}
	return n;
}
