/* AML and table bytes (see aml.h). Opcodes from ACPI 6.5 §20.3, resource descriptors §6.4. */
#include "firmware/acpi/aml.h"

#include <errno.h>
#include <string.h>

#define AML_ZERO	  0x00
#define AML_ONE		  0x01
#define AML_NAME	  0x08
#define AML_BYTE_PREFIX	  0x0A
#define AML_WORD_PREFIX	  0x0B
#define AML_DWORD_PREFIX  0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX  0x0E
#define AML_SCOPE	  0x10
#define AML_BUFFER	  0x11
#define AML_PACKAGE	  0x12
#define AML_METHOD	  0x14
#define AML_DUAL_NAME	  0x2E
#define AML_MULTI_NAME	  0x2F
#define AML_ROOT	  0x5C
#define AML_EXT_PREFIX	  0x5B
#define AML_OPREGION	  0x80 /* after AML_EXT_PREFIX */
#define AML_FIELD	  0x81 /* after AML_EXT_PREFIX */
#define AML_DEVICE	  0x82 /* after AML_EXT_PREFIX */
#define AML_LOCAL0	  0x60
#define AML_ARG0	  0x68
#define AML_STORE	  0x70
#define AML_AND		  0x7B
#define AML_NOTIFY	  0x86
#define AML_RETURN	  0xA4
#define AML_IF		  0xA0
#define AML_NULL_NAME	  0x00

#define PKGLEN_RESERVED	 4 /* bytes kept for a PkgLength until its object ends */
#define BUFSIZE_RESERVED 5 /* a DWordPrefix integer: a buffer's size until it ends */

void aml_buf_init(struct aml_buf *b, void *data, size_t cap)
{
	*b = (struct aml_buf){.data = data, .cap = cap};
}

static void fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

void aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (n > b->cap - b->len) {
		fail(b, -ENOSPC);
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void aml_u8(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

/* Little-endian whatever the host: ACPI tables are little-endian (§5.2). */
static void put_le(struct aml_buf *b, uint64_t v, size_t n)
{
	uint8_t out[8];
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(b, out, n);
}

void aml_u16(struct aml_buf *b, uint16_t v)
{
	put_le(b, v, 2);
}

void aml_u32(struct aml_buf *b, uint32_t v)
{
	put_le(b, v, 4);
}

void aml_u64(struct aml_buf *b, uint64_t v)
{
	put_le(b, v, 8);
}

void aml_chars(struct aml_buf *b, const char *s, size_t n)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < n; i++)
		aml_u8(b, i < len ? (uint8_t)s[i] : ' ');
}

void aml_patch(struct aml_buf *b, size_t off, uint64_t v, size_t n)
{
	if (b->err)
		return;
	if (off > b->len || n > b->len - off) {
		fail(b, -EINVAL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		b->data[off + i] = (uint8_t)(v >> (8 * i));
}

void aml_checksum(struct aml_buf *b, size_t off, size_t len, size_t at)
{
	uint8_t sum = 0;
	if (b->err)
		return;
	if (off > b->len || len > b->len - off || at < off || at >= off + len) {
		fail(b, -EINVAL);
		return;
	}
	b->data[at] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b->data[off + i]);
	b->data[at] = (uint8_t)-sum;
}

void aml_align(struct aml_buf *b, size_t align)
{
	while (!b->err && b->len % align)
		aml_u8(b, 0);
}

void aml_int(struct aml_buf *b, uint64_t v)
{
	if (v <= 1) {
		aml_u8(b, v ? AML_ONE : AML_ZERO);
	} else if (v <= UINT8_MAX) {
		aml_u8(b, AML_BYTE_PREFIX);
		aml_u8(b, (uint8_t)v);
	} else if (v <= UINT16_MAX) {
		aml_u8(b, AML_WORD_PREFIX);
		aml_u16(b, (uint16_t)v);
	} else if (v <= UINT32_MAX) {
		aml_u8(b, AML_DWORD_PREFIX);
		aml_u32(b, (uint32_t)v);
	} else {
		aml_u8(b, AML_QWORD_PREFIX);
		aml_u64(b, v);
	}
}

void aml_dword(struct aml_buf *b, uint32_t v)
{
	aml_u8(b, AML_DWORD_PREFIX);
	b->tracked = b->len;
	aml_u32(b, v);
}

void aml_string(struct aml_buf *b, const char *s)
{
	aml_u8(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* §6.1.5 / §19.6.46: 5 bits per letter ('A' = 1), then the product number, stored big-endian. */
void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v = 0;
	if (strlen(id) != 7) {
		fail(b, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(b, -EINVAL);
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0) {
			fail(b, -EINVAL);
			return;
		}
		v = (v << 4) | (uint32_t)d;
	}
	aml_u8(b, AML_DWORD_PREFIX);
	aml_u32(b, ((v >> 24) & 0xff) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24));
}

static int name_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* One NameSeg from `s` up to '.' or the end; returns the characters used, 0 if invalid. */
static size_t name_seg(struct aml_buf *b, const char *s)
{
	size_t n = 0;
	while (s[n] && s[n] != '.')
		n++;
	if (n == 0 || n > 4 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(s[i]))
			return 0;
	for (size_t i = 0; i < 4; i++)
		aml_u8(b, i < n ? (uint8_t)s[i] : '_');
	return n;
}

void aml_namestring(struct aml_buf *b, const char *path)
{
	size_t segs = 1;
	if (*path == '\\') {
		aml_u8(b, AML_ROOT);
		path++;
	}
	for (const char *p = path; *p; p++)
		segs += *p == '.';
	if (segs > 255) {
		fail(b, -EINVAL);
		return;
	}
	if (segs == 2)
		aml_u8(b, AML_DUAL_NAME);
	else if (segs > 2) {
		aml_u8(b, AML_MULTI_NAME);
		aml_u8(b, (uint8_t)segs);
	}
	for (size_t i = 0; i < segs; i++) {
		size_t n = name_seg(b, path);
		if (!n) {
			fail(b, -EINVAL);
			return;
		}
		path += n + (path[n] == '.');
	}
}

void aml_name(struct aml_buf *b, const char *path)
{
	aml_u8(b, AML_NAME);
	aml_namestring(b, path);
}

/* Reserves the PkgLength of the object whose opcode was just written. */
static size_t pkg_begin(struct aml_buf *b)
{
	size_t mark = b->len;
	aml_u32(b, 0);
	return mark;
}

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	aml_u8(b, AML_SCOPE);
	size_t mark = pkg_begin(b);
	aml_namestring(b, path);
	return mark;
}

size_t aml_device_begin(struct aml_buf *b, const char *path)
{
	aml_u8(b, AML_EXT_PREFIX);
	aml_u8(b, AML_DEVICE);
	size_t mark = pkg_begin(b);
	aml_namestring(b, path);
	return mark;
}

size_t aml_package_begin(struct aml_buf *b, uint8_t count)
{
	aml_u8(b, AML_PACKAGE);
	size_t mark = pkg_begin(b);
	aml_u8(b, count);
	return mark;
}

size_t aml_buffer_begin(struct aml_buf *b)
{
	aml_u8(b, AML_BUFFER);
	size_t mark = pkg_begin(b);
	aml_u8(b, AML_DWORD_PREFIX);
	aml_u32(b, 0);
	return mark;
}

/* Replaces the `old` bytes at `at` by `n` bytes of `src`, moving what follows. */
static void splice(struct aml_buf *b, size_t at, size_t old, const uint8_t *src, size_t n)
{
	memmove(b->data + at + n, b->data + at + old, b->len - at - old);
	memcpy(b->data + at, src, n);
	b->len = b->len - old + n;
	if (b->tracked >= at + old)
		b->tracked = b->tracked - old + n;
}

void aml_buffer_end(struct aml_buf *b, size_t mark)
{
	uint8_t enc[BUFSIZE_RESERVED];
	struct aml_buf e;
	if (b->err)
		return;
	if (mark + PKGLEN_RESERVED + BUFSIZE_RESERVED > b->len) {
		fail(b, -EINVAL);
		return;
	}
	aml_buf_init(&e, enc, sizeof(enc));
	aml_int(&e, b->len - mark - PKGLEN_RESERVED - BUFSIZE_RESERVED);
	if (e.err) {
		fail(b, -EINVAL);
		return;
	}
	splice(b, mark + PKGLEN_RESERVED, BUFSIZE_RESERVED, enc, e.len);
	aml_end(b, mark);
}

/* §20.2.4: bits 7-6 of the lead byte say how many bytes follow. A one-byte length holds up
 * to 63, longer ones take 4 bits in the lead byte, 8 in each other. Encodes `v` in exactly `n`
 * bytes; 0 when it does not fit. */
static size_t pkglen_encode(uint8_t enc[PKGLEN_RESERVED], size_t v, size_t n)
{
	if (n < 1 || n > PKGLEN_RESERVED || v >= (n == 1 ? 64u : 1u << (4 + 8 * (n - 1))))
		return 0;
	if (n == 1) {
		enc[0] = (uint8_t)v;
		return 1;
	}
	enc[0] = (uint8_t)(((n - 1) << 6) | (v & 0xf));
	for (size_t i = 1; i < n; i++)
		enc[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	return n;
}

/* An object's PkgLength counts itself: the fewest bytes that hold the body plus themselves. */
void aml_end(struct aml_buf *b, size_t mark)
{
	uint8_t enc[PKGLEN_RESERVED];
	size_t body, n = 0;
	if (b->err)
		return;
	if (mark + PKGLEN_RESERVED > b->len) {
		fail(b, -EINVAL);
		return;
	}
	body = b->len - mark - PKGLEN_RESERVED;
	for (size_t try = 1; try <= PKGLEN_RESERVED && !n; try++)
		n = pkglen_encode(enc, body + try, try);
	if (!n) {
		fail(b, -EINVAL);
		return;
	}
	splice(b, mark, PKGLEN_RESERVED, enc, n);
}

size_t aml_method_begin(struct aml_buf *b, const char *path, uint8_t nargs, int serialized)
{
	if (nargs > 7)
		fail(b, -EINVAL);
	aml_u8(b, AML_METHOD);
	size_t mark = pkg_begin(b);
	aml_namestring(b, path);
	aml_u8(b, (uint8_t)((nargs & 7) | (serialized ? 8 : 0))); /* MethodFlags (§20.2.5.2) */
	return mark;
}

size_t aml_if_begin(struct aml_buf *b)
{
	aml_u8(b, AML_IF);
	return pkg_begin(b);
}

/* ---- operation regions and fields ---- */

void aml_opregion(struct aml_buf *b, const char *name, enum aml_region_space space, uint64_t base,
		  uint64_t len)
{
	aml_u8(b, AML_EXT_PREFIX);
	aml_u8(b, AML_OPREGION);
	aml_namestring(b, name);
	aml_u8(b, (uint8_t)space);
	aml_int(b, base);
	aml_int(b, len);
}

size_t aml_field_begin(struct aml_buf *b, const char *region, uint8_t flags)
{
	aml_u8(b, AML_EXT_PREFIX);
	aml_u8(b, AML_FIELD);
	size_t mark = pkg_begin(b);
	aml_namestring(b, region);
	aml_u8(b, flags);
	return mark;
}

/* NamedField := NameSeg PkgLength, where the "length" is the field's size in bits and does not
 * count its own bytes (§20.2.5.2). */
void aml_field_unit(struct aml_buf *b, const char *name, uint32_t bits)
{
	uint8_t enc[PKGLEN_RESERVED];
	size_t n = 0;
	if (strchr(name, '.') || *name == '\\' || !bits) {
		fail(b, -EINVAL);
		return;
	}
	aml_namestring(b, name);
	for (size_t try = 1; try <= PKGLEN_RESERVED && !n; try++)
		n = pkglen_encode(enc, bits, try);
	if (!n)
		fail(b, -EINVAL);
	else
		aml_bytes(b, enc, n);
}

/* ---- expressions and statements ---- */

void aml_local(struct aml_buf *b, uint8_t n)
{
	if (n > 7)
		fail(b, -EINVAL);
	aml_u8(b, (uint8_t)(AML_LOCAL0 + (n & 7)));
}

void aml_arg(struct aml_buf *b, uint8_t n)
{
	if (n > 6)
		fail(b, -EINVAL);
	aml_u8(b, (uint8_t)(AML_ARG0 + (n > 6 ? 6 : n)));
}

void aml_store(struct aml_buf *b)
{
	aml_u8(b, AML_STORE);
}

void aml_and(struct aml_buf *b)
{
	aml_u8(b, AML_AND);
}

void aml_no_target(struct aml_buf *b)
{
	aml_u8(b, AML_NULL_NAME);
}

void aml_notify(struct aml_buf *b)
{
	aml_u8(b, AML_NOTIFY);
}

void aml_return(struct aml_buf *b)
{
	aml_u8(b, AML_RETURN);
}

/* ---- resource descriptors ---- */

#define RES_IRQ		0x22 /* small item 0x4, length 2 */
#define RES_IO		0x47 /* small item 0x8, length 7 */
#define RES_END		0x79 /* small item 0xF, length 1 */
#define RES_MEM32_FIXED 0x86
#define RES_DWORD_SPACE 0x87
#define RES_WORD_SPACE	0x88
#define RES_EXT_IRQ	0x89
#define RES_QWORD_SPACE 0x8A

#define SPACE_MEM 0
#define SPACE_IO  1
#define SPACE_BUS 2
/* General flags (§6.4.3.5.1): producer, positive decode, _MIF and _MAF set. */
#define SPACE_PRODUCER_FIXED 0x0C

void aml_res_io(struct aml_buf *b, uint16_t base, uint8_t len)
{
	aml_u8(b, RES_IO);
	aml_u8(b, 1); /* decodes 16 address bits */
	aml_u16(b, base);
	aml_u16(b, base);
	aml_u8(b, 1);
	aml_u8(b, len);
}

void aml_res_irq(struct aml_buf *b, uint8_t irq)
{
	if (irq >= 16) {
		fail(b, -EINVAL);
		return;
	}
	aml_u8(b, RES_IRQ);
	aml_u16(b, (uint16_t)(1u << irq));
}

void aml_res_mem32(struct aml_buf *b, uint32_t base, uint32_t size)
{
	aml_u8(b, RES_MEM32_FIXED);
	aml_u16(b, 9);
	aml_u8(b, 1); /* read-write */
	aml_u32(b, base);
	aml_u32(b, size);
}

/* §6.4.3.6: flags bit 0 consumer, bit 1 edge, bit 2 active low; one interrupt follows. */
void aml_res_interrupt(struct aml_buf *b, uint32_t gsi, int level, int low)
{
	aml_u8(b, RES_EXT_IRQ);
	aml_u16(b, 6);
	aml_u8(b, (uint8_t)(1 | (level ? 0 : 2) | (low ? 4 : 0)));
	aml_u8(b, 1);
	aml_u32(b, gsi);
}

/* Word address space (§6.4.3.5.3): granularity, min, max, translation, length. */
static void word_space(struct aml_buf *b, uint8_t type, uint8_t type_flags, uint16_t min,
		       uint16_t len)
{
	aml_u8(b, RES_WORD_SPACE);
	aml_u16(b, 13);
	aml_u8(b, type);
	aml_u8(b, SPACE_PRODUCER_FIXED);
	aml_u8(b, type_flags);
	aml_u16(b, 0);
	aml_u16(b, min);
	aml_u16(b, (uint16_t)(min + len - 1));
	aml_u16(b, 0);
	aml_u16(b, len);
}

void aml_res_bus(struct aml_buf *b, uint16_t first, uint16_t last)
{
	if (last < first) {
		fail(b, -EINVAL);
		return;
	}
	word_space(b, SPACE_BUS, 0, first, (uint16_t)(last - first + 1));
}

void aml_res_io_window(struct aml_buf *b, uint16_t base, uint16_t len)
{
	if (!len || (uint32_t)base + len > 0x10000) {
		fail(b, -EINVAL);
		return;
	}
	word_space(b, SPACE_IO, 3 /* _RNG: ISA and non-ISA ranges */, base, len);
}

/* DWord address space (§6.4.3.5.2); type flags 1: read-write, non-cacheable. */
void aml_res_mem_window(struct aml_buf *b, uint32_t base, uint32_t size)
{
	if (!size || (uint64_t)base + size > 0x100000000ULL) {
		fail(b, -EINVAL);
		return;
	}
	aml_u8(b, RES_DWORD_SPACE);
	aml_u16(b, 23);
	aml_u8(b, SPACE_MEM);
	aml_u8(b, SPACE_PRODUCER_FIXED);
	aml_u8(b, 1);
	aml_u32(b, 0);
	aml_u32(b, base);
	aml_u32(b, base + size - 1);
	aml_u32(b, 0);
	aml_u32(b, size);
}

/* QWord address space (§6.4.3.5.1), the same fields as the DWord one, 8 bytes each. Type flags
 * 1: read-write, non-cacheable, so that Linux lets non-prefetchable BARs claim it too. */
void aml_res_mem64_window(struct aml_buf *b, uint64_t base, uint64_t size)
{
	if (!size || base + size < base) {
		fail(b, -EINVAL);
		return;
	}
	aml_u8(b, RES_QWORD_SPACE);
	aml_u16(b, 43);
	aml_u8(b, SPACE_MEM);
	aml_u8(b, SPACE_PRODUCER_FIXED);
	aml_u8(b, 1);
	aml_u64(b, 0);
	aml_u64(b, base);
	aml_u64(b, base + size - 1);
	aml_u64(b, 0);
	aml_u64(b, size);
}

void aml_res_end(struct aml_buf *b)
{
	aml_u8(b, RES_END);
	aml_u8(b, 0);
}
