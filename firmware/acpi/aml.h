/* A byte writer for ACPI tables and AML (ACPI 6.5 chapter 5, 6.4 and 20).
 *
 * struct aml_buf writes into a caller-owned array with a bounds check on every byte: the first
 * write that does not fit sets `err` to -ENOSPC and every later write is dropped, so a caller
 * may write a whole table and check once. Offsets returned by the writers are positions in the
 * array, to patch fields (lengths, checksums, pointers) once they are known.
 *
 * AML objects that hold other objects (Scope, Device, Package, Buffer, ...) are written as
 * aml_*_begin() ... aml_end(): begin writes the opcode and reserves the PkgLength (§20.2.4),
 * end encodes it in the fewest bytes and moves the body down over the unused ones. Each begin
 * returns a mark for its end; marks nest like the objects. */
#ifndef FIRMWARE_ACPI_AML_H
#define FIRMWARE_ACPI_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *data;
	size_t len, cap;
	int err; /* 0, or -ENOSPC / -EINVAL from the first failed write (sticky) */
	/* An offset the caller wants kept pointing at the same byte (aml_dword()'s value, to be
	 * patched by a firmware): aml_end() shortens the package lengths before it. 0: none. */
	size_t tracked;
};

void aml_buf_init(struct aml_buf *b, void *data, size_t cap);

/* ---- raw little-endian bytes ---- */
void aml_u8(struct aml_buf *b, uint8_t v);
void aml_u16(struct aml_buf *b, uint16_t v);
void aml_u32(struct aml_buf *b, uint32_t v);
void aml_u64(struct aml_buf *b, uint64_t v);
void aml_bytes(struct aml_buf *b, const void *p, size_t n);
/* `n` bytes of `s`, padded with spaces (table signatures, OEM IDs: ACPI §5.2.6). */
void aml_chars(struct aml_buf *b, const char *s, size_t n);
/* Rewrites `n` (1, 2, 4 or 8) bytes at `off`, which must have been written already. */
void aml_patch(struct aml_buf *b, size_t off, uint64_t v, size_t n);
/* The byte that makes [off, off + len) sum to 0 mod 256 when stored at `at` (inside it). */
void aml_checksum(struct aml_buf *b, size_t off, size_t len, size_t at);
/* Zero bytes up to the next multiple of `align` (a power of two). */
void aml_align(struct aml_buf *b, size_t align);

/* ---- data objects (§20.2.3) ---- */
/* The shortest of Zero, One, BytePrefix, WordPrefix, DWordPrefix, QWordPrefix. */
void aml_int(struct aml_buf *b, uint64_t v);
/* DWordPrefix and `v` whatever its size: a value someone patches later (a firmware's table
 * loader). Its 4 bytes' offset is kept in b->tracked through the enclosing aml_end()s. */
void aml_dword(struct aml_buf *b, uint32_t v);
void aml_string(struct aml_buf *b, const char *s);
/* An EISA ID such as "PNP0A08" compressed into a DWord (§6.1.5): three letters, four hex
 * digits. Anything else sets -EINVAL. */
void aml_eisaid(struct aml_buf *b, const char *id);
/* A NameString (§20.2.2): optional "\\" root prefix, then 1 or more dot-separated segments of
 * 1-4 characters [A-Z0-9_], padded with '_'. */
void aml_namestring(struct aml_buf *b, const char *path);

/* ---- named objects and containers ---- */
/* Name(path, ...): the caller writes the one data object after it. */
void aml_name(struct aml_buf *b, const char *path);
size_t aml_scope_begin(struct aml_buf *b, const char *path);
size_t aml_device_begin(struct aml_buf *b, const char *path);
/* Package(count) { ... }: the caller writes `count` elements. */
size_t aml_package_begin(struct aml_buf *b, uint8_t count);
/* Buffer() { ... }: a buffer whose size is the bytes written before its aml_buffer_end(). */
size_t aml_buffer_begin(struct aml_buf *b);
void aml_buffer_end(struct aml_buf *b, size_t mark);
/* Method(path, nargs, Serialized or NotSerialized) { ... } (§19.6.85, §20.2.5.2): nargs <= 7. */
size_t aml_method_begin(struct aml_buf *b, const char *path, uint8_t nargs, int serialized);
/* If (predicate) { ... } (§19.6.60): the caller writes the predicate (one TermArg) first. */
size_t aml_if_begin(struct aml_buf *b);
/* Closes a scope, device, package, method or if. */
void aml_end(struct aml_buf *b, size_t mark);

/* ---- operation regions and fields (§19.6.100, §19.6.48) ---- */
enum aml_region_space { AML_SYSTEM_MEMORY = 0, AML_SYSTEM_IO = 1 };
/* OperationRegion(name, space, base, len). */
void aml_opregion(struct aml_buf *b, const char *name, enum aml_region_space space, uint64_t base,
		  uint64_t len);
/* Field(region, access, NoLock, update) { ... }: `flags` is the FieldFlags byte (§20.2.5.2):
 * AccessType in bits 3:0, UpdateRule in bits 6:5. Close it with aml_end(). */
enum {
	AML_FIELD_BYTE_ACC = 1,
	AML_FIELD_DWORD_ACC = 3,
	AML_FIELD_PRESERVE = 0 << 5,
	AML_FIELD_WRITE_AS_ZEROS = 2 << 5
};
size_t aml_field_begin(struct aml_buf *b, const char *region, uint8_t flags);
/* One NamedField of `bits` bits inside a Field (a 4-character NameSeg). */
void aml_field_unit(struct aml_buf *b, const char *name, uint32_t bits);

/* ---- expressions and statements (§19.6, opcodes §20.3) ---- */
/* LocalN (0-7) and ArgN (0-6) as operands. */
void aml_local(struct aml_buf *b, uint8_t n);
void aml_arg(struct aml_buf *b, uint8_t n);
/* Store(source, target): the caller writes the source TermArg, then the target (a name or
 * a LocalN) after this opcode. */
void aml_store(struct aml_buf *b);
/* And(a, b) with no target (the result is the operand it appears in): the caller writes the
 * two operands after the opcode, then aml_no_target(). */
void aml_and(struct aml_buf *b);
void aml_no_target(struct aml_buf *b);
/* Notify(object, value): the caller writes the object (a NameString) after the opcode, then
 * the value. */
void aml_notify(struct aml_buf *b);
/* Return(value): the caller writes the value (a TermArg) after the opcode. */
void aml_return(struct aml_buf *b);

/* ---- resource descriptors (§6.4), inside a buffer_begin/end: a ResourceTemplate ---- */
/* IO(Decode16, base, base, 1, len). */
void aml_res_io(struct aml_buf *b, uint16_t base, uint8_t len);
/* IRQNoFlags() { irq }: an ISA interrupt, edge, active high (irq < 16). */
void aml_res_irq(struct aml_buf *b, uint8_t irq);
/* Memory32Fixed(ReadWrite, base, size). */
void aml_res_mem32(struct aml_buf *b, uint32_t base, uint32_t size);
/* Interrupt(ResourceConsumer, level ? Level : Edge, low ? ActiveLow : ActiveHigh, Exclusive). */
void aml_res_interrupt(struct aml_buf *b, uint32_t gsi, int level, int low);
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, first, last, 0, n). */
void aml_res_bus(struct aml_buf *b, uint16_t first, uint16_t last);
/* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, base, .., 0, len). */
void aml_res_io_window(struct aml_buf *b, uint16_t base, uint16_t len);
/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0,
 * base, base + size - 1, 0, size). */
void aml_res_mem_window(struct aml_buf *b, uint32_t base, uint32_t size);
/* QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0,
 * base, base + size - 1, 0, size): a window above 4 GiB. */
void aml_res_mem64_window(struct aml_buf *b, uint64_t base, uint64_t size);
/* The End Tag that closes a resource template (checksum 0: "treated as correct", §6.4.2.9). */
void aml_res_end(struct aml_buf *b);

#endif
