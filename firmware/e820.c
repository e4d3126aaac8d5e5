/* e820 memory map from the guest RAM regions (see e820.h for the layout it produces). */
#include "firmware/e820.h"

#include <errno.h>
#include <stddef.h>

#include "vmm/layout.h"

struct e820_builder {
	struct boot_e820_entry *out;
	int max;
	int n;
	int err;
};

static void add_entry(struct e820_builder *b, uint64_t start, uint64_t end, uint32_t type)
{
	if (start >= end || b->err)
		return;
	if (b->n >= b->max) {
		b->err = -ENOSPC;
		return;
	}
	b->out[b->n].addr = start;
	b->out[b->n].size = end - start;
	b->out[b->n].type = type;
	b->n++;
}

/* Adds [start, end) as RAM, minus the reserved [EBDA_START, 1 MiB) window. */
static void add_ram(struct e820_builder *b, uint64_t start, uint64_t end)
{
	const uint64_t rsv_end = KERNEL_LOAD_ADDR;

	add_entry(b, start, end < EBDA_START ? end : EBDA_START, E820_RAM);
	add_entry(b, start > rsv_end ? start : rsv_end, end, E820_RAM);
}

/* Insertion sort by address: the table holds a handful of entries. */
static void sort_entries(struct boot_e820_entry *e, int n)
{
	for (int i = 1; i < n; i++) {
		struct boot_e820_entry cur = e[i];
		int j = i - 1;

		while (j >= 0 && e[j].addr > cur.addr) {
			e[j + 1] = e[j];
			j--;
		}
		e[j + 1] = cur;
	}
}

int e820_build(const struct guest_mem *mem, struct boot_e820_entry *out, int max)
{
	struct e820_builder b = {.out = out, .max = max};

	if (!mem || !out || max < 0)
		return -EINVAL;
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];

		add_ram(&b, r->gpa, r->gpa + r->size);
	}
	/* The MP table sits in the EBDA; 0xA0000-0xFFFFF is the legacy VGA/ROM area. Both must
	 * stay out of the kernel's allocator whether or not they are backed by RAM. */
	add_entry(&b, EBDA_START, KERNEL_LOAD_ADDR, E820_RESERVED);
	if (b.err)
		return b.err;
	sort_entries(out, b.n);
	return b.n;
}
