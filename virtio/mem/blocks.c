/* virtio-mem's plugged-blocks bitmap: one bit per block of the region, in address order. See
 * virtio/mem/internal.h. */
#include "virtio/mem/internal.h"

/* ---- blocks.c ---- */
static bool vmem_block_plugged(const struct vmem *m, uint64_t i)
{
	return (m->bitmap[i / 64] >> (i % 64)) & 1;
}

uint64_t vmem_count_plugged(const struct vmem *m, uint64_t first, uint64_t n)
{
	uint64_t count = 0;

	for (uint64_t i = first; i < first + n; i++)
		count += vmem_block_plugged(m, i);
	return count;
}

/* Sets or clears the bits of [first, first + n) and keeps `plugged` in step. */
void vmem_mark(struct vmem *m, uint64_t first, uint64_t n, bool plugged)
{
	for (uint64_t i = first; i < first + n; i++) {
		uint64_t bit = 1ull << (i % 64);

		if (vmem_block_plugged(m, i) == plugged)
			continue;
		m->bitmap[i / 64] ^= bit;
		if (plugged)
			m->plugged++;
		else
			m->plugged--;
	}
}

uint64_t vmem_next_run(const struct vmem *m, uint64_t *from)
{
	uint64_t i = *from, start;

	while (i < m->nblocks && !vmem_block_plugged(m, i)) {
		if (i % 64 == 0 && m->bitmap[i / 64] == 0)
			i += 64; /* a whole empty word */
		else
			i++;
	}
	if (i >= m->nblocks) {
		*from = m->nblocks;
		return 0;
	}
	start = i;
	while (i < m->nblocks && vmem_block_plugged(m, i))
		i++;
	*from = start;
	return i - start;
}
