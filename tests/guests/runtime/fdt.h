/* A tiny read-only flattened device tree reader for test guests (Devicetree Specification
 * v0.4, chapter 5: header, structure block tokens, strings block). Every read is bounds-checked
 * against the header's sizes, so a corrupt blob makes lookups fail, never fault.
 *
 * Offsets are byte offsets of a node's FDT_BEGIN_NODE token inside the structure block; the root
 * is at the first one. Depth 0 is the root.
 *
 * Where the blob comes from: boot.h's boot_dt() (x86: the PVH module our VMM passes, pvh.h's
 * dt_from_pvh(); arm64: the tree whose address x0 held at entry). */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H

#include <stdbool.h>
#include <stdint.h>

#define DT_MAGIC 0xd00dfeed

struct dt {
	const uint8_t *blob;
	uint64_t paddr; /* where the blob is */
	uint32_t size;	/* totalsize */
	const uint8_t *structs, *strings;
	uint32_t structs_size, strings_size;
};

/* Validates the header of the blob at `paddr` (magic, version >= 16, blocks inside totalsize,
 * totalsize <= max). Returns 0 or -1 with a message. */
int dt_open(struct dt *t, uint64_t paddr, uint64_t max);

/* The node after `off` in document order (off < 0: the root), its depth in *depth (on entry
 * the depth of `off`). Returns its offset or -1 at the end. */
int dt_next_node(const struct dt *t, int off, int *depth);
/* The node at an absolute path ("/", "/cpus", "/isa@0/serial@i3f8"), or -1. */
int dt_path(const struct dt *t, const char *path);
/* The parent of `off` (-1 for the root or a bad offset). */
int dt_parent(const struct dt *t, int off);
/* The node's name with its unit address ("" for the root), or NULL. */
const char *dt_name(const struct dt *t, int off);
/* Property `name` of node `off`: pointer to its value and its length, or NULL. */
const void *dt_prop(const struct dt *t, int off, const char *name, uint32_t *len);
/* True when the node's "compatible" list holds `compat`. */
bool dt_compatible(const struct dt *t, int off, const char *compat);
/* The next node after `off` (-1: from the start) compatible with `compat`, or -1. */
int dt_find_compatible(const struct dt *t, int off, const char *compat);
/* The node whose "phandle" property is `phandle`, or -1. */
int dt_by_phandle(const struct dt *t, uint32_t phandle);
/* A u32 property, or `dflt` when absent or not 4 bytes. */
uint32_t dt_u32(const struct dt *t, int off, const char *name, uint32_t dflt);
/* Big-endian cells: `n` (1 or 2) cells at `p` as one number. */
uint64_t dt_cells(const void *p, unsigned n);

#endif
