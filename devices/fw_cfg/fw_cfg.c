#include "devices/fw_cfg/fw_cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define DIR_ENTRY_SIZE 64 /* FWCfgFile: size, select, reserved, name[56] */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

/* The write-channel bit selects the same item (QEMU masks it off too). */
static uint16_t item_key(uint16_t key)
{
	return key & (uint16_t)~FW_CFG_WRITE_CHANNEL;
}

static struct fw_cfg_item *find(struct fw_cfg *c, uint16_t key)
{
	key = item_key(key);
	for (int i = 0; i < c->nitems; i++)
		if (c->items[i].key == key)
			return &c->items[i];
	return NULL;
}

const struct fw_cfg_item *fw_cfg_find(struct fw_cfg *c, uint16_t key)
{
	return find(c, key);
}

/* Replaces the contents of the item at `key` (made if missing) with a copy of data[0..len). */
static int set_item(struct fw_cfg *c, uint16_t key, const void *data, uint32_t len, bool writable)
{
	struct fw_cfg_item *it = find(c, key);
	uint8_t *copy = NULL;

	if (!it && c->nitems == FW_CFG_MAX_ITEMS)
		return -ENOSPC;
	if (len && !(copy = malloc(len)))
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	if (!it)
		it = &c->items[c->nitems++];
	else
		free(it->data);
	*it = (struct fw_cfg_item){
	    .key = item_key(key), .writable = writable, .len = len, .data = copy};
	return 0;
}

/* FW_CFG_FILE_DIR: a big-endian count, then one 64-byte entry per file in key order. */
static int build_directory(struct fw_cfg *c)
{
	uint32_t len = 4 + (uint32_t)c->nfiles * DIR_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	int err;

	if (!dir)
		return -ENOMEM;
	put_be32(dir, (uint32_t)c->nfiles);
	for (int i = 0; i < c->nfiles; i++) {
		uint8_t *e = dir + 4 + i * DIR_ENTRY_SIZE;
		uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + i);
		const struct fw_cfg_item *it = find(c, key);

		put_be32(e, it ? it->len : 0);
		put_be16(e + 4, key);
		memcpy(e + 8, c->names[i], FW_CFG_NAME_MAX);
	}
	err = set_item(c, FW_CFG_FILE_DIR, dir, len, false);
	free(dir);
	return err;
}

int fw_cfg_init(struct fw_cfg *c, const struct guest_mem *mem)
{
	uint32_t id = FW_CFG_VERSION | (mem ? FW_CFG_VERSION_DMA : 0);
	int err;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->mem = mem;
	err = fw_cfg_add_bytes(c, FW_CFG_SIGNATURE, "QEMU", 4);
	if (!err)
		err = fw_cfg_add_u32(c, FW_CFG_ID, id);
	if (!err)
		err = build_directory(c);
	return err;
}

void fw_cfg_destroy(struct fw_cfg *c)
{
	for (int i = 0; i < c->nitems; i++)
		free(c->items[i].data);
	c->nitems = c->nfiles = 0;
	c->cur = NULL;
	pthread_mutex_destroy(&c->lock);
}

/* Keys the numbered-item calls may not take: the directory and the files are kept by
 * fw_cfg_add_file(). */
static bool reserved_key(uint16_t key)
{
	key = item_key(key);
	return key == FW_CFG_FILE_DIR || (key >= FW_CFG_FILE_FIRST && key < FW_CFG_ARCH_LOCAL);
}

int fw_cfg_add_bytes(struct fw_cfg *c, uint16_t key, const void *data, uint32_t len)
{
	if (reserved_key(key))
		return -EINVAL;
	return set_item(c, key, data, len, false);
}

int fw_cfg_add_u16(struct fw_cfg *c, uint16_t key, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	return fw_cfg_add_bytes(c, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *c, uint16_t key, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return fw_cfg_add_bytes(c, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *c, uint16_t key, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return fw_cfg_add_bytes(c, key, b, sizeof(b));
}

static int file_index(const struct fw_cfg *c, const char *name)
{
	for (int i = 0; i < c->nfiles; i++)
		if (!strncmp(c->names[i], name, FW_CFG_NAME_MAX))
			return i;
	return -1;
}

const struct fw_cfg_item *fw_cfg_find_file(struct fw_cfg *c, const char *name)
{
	int i = file_index(c, name);
	return i < 0 ? NULL : find(c, (uint16_t)(FW_CFG_FILE_FIRST + i));
}

int fw_cfg_read_file(struct fw_cfg *c, const char *name, void *out, uint32_t len)
{
	int err = -ENOENT;

	pthread_mutex_lock(&c->lock);
	const struct fw_cfg_item *it = fw_cfg_find_file(c, name);
	if (it && it->len >= len) {
		if (len)
			memcpy(out, it->data, len);
		err = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, uint32_t len,
		    bool writable)
{
	size_t n = name ? strnlen(name, FW_CFG_NAME_MAX) : 0;
	uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + c->nfiles);
	int err;

	if (n == 0 || n == FW_CFG_NAME_MAX) /* the name and its NUL fit in 56 bytes */
		return -EINVAL;
	if (file_index(c, name) >= 0)
		return -EEXIST;
	if (c->nfiles == FW_CFG_MAX_FILES)
		return -ENOSPC;
	if ((err = set_item(c, key, data, len, writable)))
		return err;
	memset(c->names[c->nfiles], 0, FW_CFG_NAME_MAX);
	memcpy(c->names[c->nfiles], name, n);
	c->nfiles++;
	err = build_directory(c);
	return err ? err : key;
}

static void select_locked(struct fw_cfg *c, uint16_t key)
{
	c->cur = find(c, key);
	c->offset = 0;
}

void fw_cfg_select(struct fw_cfg *c, uint16_t key)
{
	pthread_mutex_lock(&c->lock);
	select_locked(c, key);
	pthread_mutex_unlock(&c->lock);
}

/* Bytes of the selected item left from the data offset. */
static uint32_t remaining(const struct fw_cfg *c)
{
	return c->cur && c->offset < c->cur->len ? c->cur->len - c->offset : 0;
}

uint8_t fw_cfg_data_read(struct fw_cfg *c)
{
	uint8_t v = 0;

	pthread_mutex_lock(&c->lock);
	if (remaining(c))
		v = c->cur->data[c->offset++];
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* DMA read: `len` bytes from the data offset to guest [gpa, gpa+len), zeros past the item's end
 * (as QEMU fills them). The whole range is checked first: nothing is written unless all of it
 * is guest RAM. */
static bool dma_to_guest(struct fw_cfg *c, uint64_t gpa, uint32_t len)
{
	static const uint8_t zeros[4096];
	uint32_t n = remaining(c) < len ? remaining(c) : len;

	if (!guest_mem_valid(c->mem, gpa, len))
		return false;
	if (n && guest_mem_write(c->mem, gpa, c->cur->data + c->offset, n))
		return false;
	c->offset += n;
	for (uint32_t done = n; done < len;) {
		uint32_t k = len - done < sizeof(zeros) ? len - done : (uint32_t)sizeof(zeros);
		if (guest_mem_write(c->mem, gpa + done, zeros, k))
			return false;
		done += k;
	}
	return true;
}

/* DMA write: QEMU's rules (fw_cfg.rst): only a writable item, never past its end (no resize),
 * and a write that does not fit is dropped entirely; each of these is an error. */
static bool dma_from_guest(struct fw_cfg *c, uint64_t gpa, uint32_t len)
{
	if (!c->cur || !c->cur->writable || len > remaining(c))
		return false;
	if (len && guest_mem_read(c->mem, gpa, c->cur->data + c->offset, len))
		return false;
	c->offset += len;
	c->written = c->cur->key;
	return true;
}

/* Runs the FWCfgDmaAccess at `desc`: select, then read, write or skip, then the control word
 * written back as 0 (done) or the error bit. A descriptor that is not guest RAM has nowhere to
 * report to: the operation is dropped (QEMU drops it too). */
static void dma_run(struct fw_cfg *c, uint64_t desc)
{
	uint8_t raw[16], status[4];
	bool ok = true;

	c->dma_ops++;
	if (guest_mem_read(c->mem, desc, raw, sizeof(raw))) {
		log_debug("fw_cfg: DMA descriptor at 0x%llx is not guest RAM",
			  (unsigned long long)desc);
		return;
	}
	uint32_t control = get_be32(raw), len = get_be32(raw + 4);
	uint64_t gpa = get_be(raw + 8, 8);

	if (control & FW_CFG_DMA_SELECT)
		select_locked(c, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_READ)
		ok = dma_to_guest(c, gpa, len);
	else if (control & FW_CFG_DMA_WRITE)
		ok = dma_from_guest(c, gpa, len);
	else if (control & FW_CFG_DMA_SKIP)
		c->offset += remaining(c) < len ? remaining(c) : len;
	put_be32(status, ok ? 0 : FW_CFG_DMA_ERROR);
	guest_mem_write(c->mem, desc, status, sizeof(status));
}

void fw_cfg_dma_write(struct fw_cfg *c, uint64_t offset, const void *data, uint32_t len)
{
	uint64_t v = get_be(data, len);

	if (!c->mem)
		return;
	pthread_mutex_lock(&c->lock);
	c->written = 0;
	if (len == 4 && offset == 0) {
		c->dma_addr = v << 32;
	} else if ((len == 4 && offset == 4) || (len == 8 && offset == 0)) {
		uint64_t desc = len == 8 ? v : (c->dma_addr & ~0xffffffffULL) | v;
		c->dma_addr = 0; /* the register reads 0 again after an operation */
		dma_run(c, desc);
	}
	uint16_t written = c->written;
	pthread_mutex_unlock(&c->lock);
	if (written && c->on_write)
		c->on_write(c->on_write_opaque, written);
}

void fw_cfg_dma_read(struct fw_cfg *c, uint64_t offset, void *data, uint32_t len)
{
	uint8_t *out = data;

	for (uint32_t i = 0; i < len; i++)
		out[i] = offset + i < 8 && c->mem ? (uint8_t)FW_CFG_DMA_SIGNATURE[offset + i] : 0;
}
