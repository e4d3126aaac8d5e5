/* The hand-off message a VMM sends a page-fault handler (Firecracker's protocol, see
 * vmm/snapshot/format/snap_uffd.h): a JSON array of guest memory regions, each with
 * base_host_virt_addr, size, offset (into the memory file) and page_size. Parsing it is the
 * handler's only contact with input it did not choose, so every field is checked. */
#ifndef TOOLS_UFFD_MAPPINGS_H
#define TOOLS_UFFD_MAPPINGS_H

#include <stddef.h>
#include <stdint.h>

#define UFFD_MAX_REGIONS 8
#define UFFD_PAGE	 4096u

struct uffd_mapping {
	uint64_t base;	 /* host virtual address in the VMM */
	uint64_t size;	 /* bytes, a multiple of UFFD_PAGE */
	uint64_t offset; /* of the region's first byte in the memory file */
};

/* Parses `len` bytes of `text` into maps[] (*n of them) and checks them against a memory file
 * of `file_size` bytes: 1..UFFD_MAX_REGIONS objects with exactly those integer fields (the
 * deprecated page_size_kib may come too), page-aligned, page_size 4096 when given, each region
 * inside the file and no two overlapping in the VMM. Returns 0, or -EINVAL with the reason in
 * err. */
int uffd_mappings_parse(const char *text, size_t len, uint64_t file_size, struct uffd_mapping *maps,
			int *n, char *err, size_t errlen);

/* The index of the mapping holding address `addr`, or -1. */
int uffd_mappings_find(const struct uffd_mapping *maps, int n, uint64_t addr);

#endif
