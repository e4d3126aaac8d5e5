#include "devices/fw_cfg/table_loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg/fw_cfg.h"

void table_loader_init(struct table_loader *l)
{
	memset(l, 0, sizeof(*l));
}

void table_loader_free(struct table_loader *l)
{
	free(l->buf);
	table_loader_init(l);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A zeroed entry with `cmd` set, or NULL (l->err set) when out of memory. */
static uint8_t *new_entry(struct table_loader *l, enum table_loader_cmd cmd)
{
	if (l->err)
		return NULL;
	if (l->len + TABLE_LOADER_ENTRY_SIZE > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16 * TABLE_LOADER_ENTRY_SIZE;
		uint8_t *b = realloc(l->buf, cap);
		if (!b) {
			l->err = -ENOMEM;
			return NULL;
		}
		l->buf = b;
		l->cap = cap;
	}
	uint8_t *e = l->buf + l->len;
	memset(e, 0, TABLE_LOADER_ENTRY_SIZE);
	put_le32(e, cmd);
	l->len += TABLE_LOADER_ENTRY_SIZE;
	return e;
}

/* A fw_cfg file name: 1..55 characters, NUL-padded into 56 bytes. */
static bool name_ok(const char *name)
{
	size_t n = name ? strnlen(name, FW_CFG_NAME_MAX) : 0;
	return n > 0 && n < FW_CFG_NAME_MAX;
}

static int fail(struct table_loader *l, int err)
{
	if (!l->err)
		l->err = err;
	return err;
}

int table_loader_allocate(struct table_loader *l, const char *name, uint32_t align,
			  enum table_loader_zone zone)
{
	if (!name_ok(name) || !align || (align & (align - 1)) ||
	    (zone != TABLE_LOADER_ZONE_HIGH && zone != TABLE_LOADER_ZONE_FSEG))
		return fail(l, -EINVAL);
	uint8_t *e = new_entry(l, TABLE_LOADER_ALLOCATE);
	if (!e)
		return l->err;
	strncpy((char *)e + 4, name, FW_CFG_NAME_MAX); /* file[56] */
	put_le32(e + 4 + FW_CFG_NAME_MAX, align);
	e[4 + FW_CFG_NAME_MAX + 4] = (uint8_t)zone;
	return 0;
}

int table_loader_add_pointer(struct table_loader *l, const char *dest, const char *src,
			     uint32_t offset, uint8_t size)
{
	if (!name_ok(dest) || !name_ok(src) || (size != 1 && size != 2 && size != 4 && size != 8))
		return fail(l, -EINVAL);
	uint8_t *e = new_entry(l, TABLE_LOADER_ADD_POINTER);
	if (!e)
		return l->err;
	strncpy((char *)e + 4, dest, FW_CFG_NAME_MAX);			/* dest_file[56] */
	strncpy((char *)e + 4 + FW_CFG_NAME_MAX, src, FW_CFG_NAME_MAX); /* src_file[56] */
	put_le32(e + 4 + 2 * FW_CFG_NAME_MAX, offset);
	e[4 + 2 * FW_CFG_NAME_MAX + 4] = size;
	return 0;
}

int table_loader_write_pointer(struct table_loader *l, const char *dest, uint32_t dest_offset,
			       const char *src, uint32_t src_offset, uint8_t size)
{
	if (!name_ok(dest) || !name_ok(src) || (size != 1 && size != 2 && size != 4 && size != 8))
		return fail(l, -EINVAL);
	uint8_t *e = new_entry(l, TABLE_LOADER_WRITE_POINTER);
	if (!e)
		return l->err;
	strncpy((char *)e + 4, dest, FW_CFG_NAME_MAX);			/* dest_file[56] */
	strncpy((char *)e + 4 + FW_CFG_NAME_MAX, src, FW_CFG_NAME_MAX); /* src_file[56] */
	put_le32(e + 4 + 2 * FW_CFG_NAME_MAX, dest_offset);
	put_le32(e + 4 + 2 * FW_CFG_NAME_MAX + 4, src_offset);
	e[4 + 2 * FW_CFG_NAME_MAX + 8] = size;
	return 0;
}

int table_loader_add_checksum(struct table_loader *l, const char *file, uint32_t offset,
			      uint32_t start, uint32_t length)
{
	if (!name_ok(file))
		return fail(l, -EINVAL);
	uint8_t *e = new_entry(l, TABLE_LOADER_ADD_CHECKSUM);
	if (!e)
		return l->err;
	strncpy((char *)e + 4, file, FW_CFG_NAME_MAX); /* file[56] */
	put_le32(e + 4 + FW_CFG_NAME_MAX, offset);
	put_le32(e + 4 + FW_CFG_NAME_MAX + 4, start);
	put_le32(e + 4 + FW_CFG_NAME_MAX + 8, length);
	return 0;
}
