/* The device-tree writer (see fdt_writer.h). */
#include "firmware/fdt_writer.h"

#ifdef HAVE_LIBFDT
#include <errno.h>
#include <stdio.h>

void fdtw_fail(struct fdtw *w, int err)
{
	if (!w->err)
		w->err = err;
}

void fdtw_check(struct fdtw *w, int ret)
{
	if (ret < 0)
		fdtw_fail(w, ret == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL);
}

void fdtw_push32(struct fdtw_cells *c, uint32_t v)
{
	if (c->n < FDTW_MAX_CELLS)
		c->v[c->n++] = cpu_to_fdt32(v);
	else
		c->overflow = true;
}

void fdtw_push64(struct fdtw_cells *c, uint64_t v)
{
	fdtw_push32(c, (uint32_t)(v >> 32));
	fdtw_push32(c, (uint32_t)v);
}

void fdtw_begin(struct fdtw *w, const char *fmt, uint64_t unit)
{
	char name[64];
	snprintf(name, sizeof(name), fmt, (unsigned long long)unit);
	if (!w->err)
		fdtw_check(w, fdt_begin_node(w->fdt, name));
}

void fdtw_end(struct fdtw *w)
{
	if (!w->err)
		fdtw_check(w, fdt_end_node(w->fdt));
}

void fdtw_cells(struct fdtw *w, const char *name, const struct fdtw_cells *c)
{
	if (c->overflow)
		fdtw_fail(w, -E2BIG);
	if (!w->err)
		fdtw_check(w, fdt_property(w->fdt, name, c->v, (int)(c->n * sizeof(fdt32_t))));
}

void fdtw_u32(struct fdtw *w, const char *name, uint32_t v)
{
	if (!w->err)
		fdtw_check(w, fdt_property_u32(w->fdt, name, v));
}

void fdtw_u64(struct fdtw *w, const char *name, uint64_t v)
{
	if (!w->err)
		fdtw_check(w, fdt_property_u64(w->fdt, name, v));
}

void fdtw_str(struct fdtw *w, const char *name, const char *s)
{
	if (!w->err)
		fdtw_check(w, fdt_property_string(w->fdt, name, s));
}

void fdtw_strs(struct fdtw *w, const char *name, const char *list, size_t len)
{
	if (!w->err)
		fdtw_check(w, fdt_property(w->fdt, name, list, (int)len));
}

void fdtw_empty(struct fdtw *w, const char *name)
{
	if (!w->err)
		fdtw_check(w, fdt_property(w->fdt, name, NULL, 0));
}

void fdtw_reg(struct fdtw *w, uint64_t base, uint64_t size)
{
	struct fdtw_cells c = {.n = 0};
	fdtw_push64(&c, base);
	fdtw_push64(&c, size);
	fdtw_cells(w, "reg", &c);
}

#endif
