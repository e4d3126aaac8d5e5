/* The small device-tree writer over libfdt's sequential-write API that firmware/fdt.c and each
 * architecture's firmware/<arch>/fdt_<arch>.c share. The first libfdt error sticks in the writer
 * and makes every later call a no-op, so a node is written as a flat list of calls and checked
 * once at the end. Only with libfdt (HAVE_LIBFDT). */
#ifndef FIRMWARE_FDT_WRITER_H
#define FIRMWARE_FDT_WRITER_H

#ifdef HAVE_LIBFDT
#include <libfdt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest property: an interrupt-map of 10 cells (arm64: 3 + 1 child, the GIC phandle, 2
 * unit-address and 3 specifier cells) for each of MACHINE_MAX_PCI_INTX (124) lines. */
#define FDTW_MAX_CELLS 1280

/* The tree being written; err: 0, or the first error as -errno. */
struct fdtw {
	void *fdt;
	int err;
};

/* A property value under construction, in big-endian cells; pushing past the end marks it
 * overflowed, and writing it then fails the tree with -E2BIG. */
struct fdtw_cells {
	fdt32_t v[FDTW_MAX_CELLS];
	int n;
	bool overflow;
};

/* Records a libfdt return value: -FDT_ERR_NOSPACE as -ENOSPC, other errors as -EINVAL. */
void fdtw_check(struct fdtw *w, int ret);
/* Records `err` unless an error is already there. */
void fdtw_fail(struct fdtw *w, int err);

void fdtw_push32(struct fdtw_cells *c, uint32_t v);
void fdtw_push64(struct fdtw_cells *c, uint64_t v); /* two cells, high first */

/* A node named printf(fmt, unit) (the unit address, or ignored by a fmt without a conversion). */
void fdtw_begin(struct fdtw *w, const char *fmt, uint64_t unit);
void fdtw_end(struct fdtw *w);

void fdtw_cells(struct fdtw *w, const char *name, const struct fdtw_cells *c);
void fdtw_u32(struct fdtw *w, const char *name, uint32_t v);
void fdtw_u64(struct fdtw *w, const char *name, uint64_t v);
void fdtw_str(struct fdtw *w, const char *name, const char *s);
/* A string list ("a\0b\0"): `list` holds the strings with their NULs, `len` bytes in all. */
void fdtw_strs(struct fdtw *w, const char *name, const char *list, size_t len);
void fdtw_empty(struct fdtw *w, const char *name);
/* reg = <base size> in the root's 2 + 2 cells. */
void fdtw_reg(struct fdtw *w, uint64_t base, uint64_t size);

#endif
#endif
