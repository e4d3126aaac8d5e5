/* What the device-tree tests (test_fdt.c, aarch64/test_fdt_aarch64.c) ask of a built tree: the
 * blob of a machine, a node, a property of a given length, its cells, a 2+2-cell reg. */
#ifndef TESTS_UNIT_FIRMWARE_FDT_CHECK_H
#define TESTS_UNIT_FIRMWARE_FDT_CHECK_H

#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdint.h>

#include "firmware/fdt.h"
#include "firmware/machine.h"

static inline void *tree(const struct machine *m)
{
	void *blob;
	size_t size;
	cr_assert_eq(machine_fdt_alloc(m, &blob, &size), 0);
	cr_assert_eq(fdt_check_header(blob), 0);
	cr_assert_eq(fdt_totalsize(blob), size);
	return blob;
}

static inline int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);
	cr_assert_geq(off, 0, "%s: %s", path, fdt_strerror(off));
	return off;
}

/* Property `name` of `path`, `want_len` bytes long (-1: any length). */
static inline const void *prop(const void *fdt, const char *path, const char *name, int want_len)
{
	int len;
	const void *p = fdt_getprop(fdt, node(fdt, path), name, &len);
	cr_assert_not_null(p, "%s %s missing", path, name);
	if (want_len >= 0)
		cr_assert_eq(len, want_len, "%s %s: %d bytes, want %d", path, name, len, want_len);
	return p;
}

static inline uint32_t cell(const void *p, int i)
{
	return fdt32_to_cpu(((const fdt32_t *)p)[i]);
}

static inline uint64_t cell64(const void *p, int i)
{
	return (uint64_t)cell(p, i) << 32 | cell(p, i + 1);
}

static inline uint32_t prop_u32(const void *fdt, const char *path, const char *name)
{
	return cell(prop(fdt, path, name, 4), 0);
}

static inline void assert_reg(const void *fdt, const char *path, uint64_t base, uint64_t size)
{
	const void *r = prop(fdt, path, "reg", 16);
	cr_assert_eq(cell64(r, 0), base, "%s base", path);
	cr_assert_eq(cell64(r, 2), size, "%s size", path);
}

#endif
