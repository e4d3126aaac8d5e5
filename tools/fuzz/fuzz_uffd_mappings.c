/* libFuzzer target: the example page-fault handler's parser of the VMM's hand-off message
 * (tools/uffd-handler/uffd_mappings.c; the message as vmm/snapshot/format/snap_uffd.h describes
 * it). The input: 8 bytes of memory-file size (little-endian), then the message. Invariants: an
 * accepted list has 1..UFFD_MAX_REGIONS regions, each of whole 4 KiB pages, non-empty, inside
 * the file, not wrapping, none overlapping another, and uffd_mappings_find() returns each
 * region for its first and last byte and nothing just past it (unless another region starts
 * there); a refused one says why. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "tools/uffd-handler/uffd_mappings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_region(const struct uffd_mapping *maps, int n, int i, uint64_t file_size)
{
	const struct uffd_mapping *m = &maps[i];
	uint64_t end;
	FZ_ASSERT(m->size && !(m->base % UFFD_PAGE) && !(m->size % UFFD_PAGE) &&
		      !(m->offset % UFFD_PAGE),
		  "region %d is not whole pages", i);
	FZ_ASSERT(!__builtin_add_overflow(m->offset, m->size, &end) && end <= file_size,
		  "region %d runs past the file", i);
	FZ_ASSERT(!__builtin_add_overflow(m->base, m->size, &end), "region %d wraps", i);
	FZ_ASSERT(uffd_mappings_find(maps, n, m->base) == i, "region %d: its first byte", i);
	FZ_ASSERT(uffd_mappings_find(maps, n, end - 1) == i, "region %d: its last byte", i);
	int past = uffd_mappings_find(maps, n, end);
	FZ_ASSERT(past < 0 || maps[past].base == end, "region %d: a byte past it", i);
	for (int k = 0; k < i; k++)
		FZ_ASSERT(maps[k].base >= end || m->base >= maps[k].base + maps[k].size,
			  "regions %d and %d overlap", k, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uffd_mapping maps[UFFD_MAX_REGIONS];
	char err[200] = "";
	uint64_t file_size = 0;
	int n = -1;

	struct fz_in in = fz_in_make(data, size);
	fz_bytes(&in, &file_size, sizeof(file_size));
	const char *text = (const char *)data + in.pos;
	int r = uffd_mappings_parse(text, fz_left(&in), file_size, maps, &n, err, sizeof(err));
	if (r) {
		FZ_ASSERT(r == -EINVAL && err[0], "a refusal without a reason (%d)", r);
		return 0;
	}
	FZ_ASSERT(n >= 1 && n <= UFFD_MAX_REGIONS, "%d regions accepted", n);
	for (int i = 0; i < n; i++)
		check_region(maps, n, i, file_size);
	return 0;
}
