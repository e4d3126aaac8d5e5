/* The AML writer's bytes against the encodings of the ACPI 6.5 specification: integers and
 * names (§20.2), PkgLength at its size boundaries (§20.2.4), EISA IDs (§6.1.5), resource
 * descriptors (§6.4), and the bounds check. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "firmware/acpi/aml.h"

static uint8_t mem[8192];

static struct aml_buf fresh(void)
{
	struct aml_buf b;
	memset(mem, 0xEE, sizeof(mem));
	aml_buf_init(&b, mem, sizeof(mem));
	return b;
}

#define expect_bytes(b, ...)                                                                       \
	do {                                                                                       \
		const uint8_t want_[] = {__VA_ARGS__};                                             \
		cr_assert_eq((b)->err, 0);                                                         \
		cr_assert_eq((b)->len, sizeof(want_), "length %zu, want %zu", (b)->len,            \
			     sizeof(want_));                                                       \
		for (size_t i_ = 0; i_ < sizeof(want_); i_++)                                      \
			cr_assert_eq((b)->data[i_], want_[i_], "byte %zu: %#x, want %#x", i_,      \
				     (b)->data[i_], want_[i_]);                                    \
	} while (0)

Test(aml, integers_take_the_shortest_prefix)
{
	struct aml_buf b = fresh();
	aml_int(&b, 0);
	aml_int(&b, 1);
	aml_int(&b, 0x2A);
	aml_int(&b, 0x1234);
	aml_int(&b, 0x12345678);
	aml_int(&b, 0x100000000ULL);
	expect_bytes(&b, 0x00, 0x01, 0x0A, 0x2A, 0x0B, 0x34, 0x12, 0x0C, 0x78, 0x56, 0x34, 0x12,
		     0x0E, 0, 0, 0, 0, 1, 0, 0, 0);
}

/* A DWordConst whatever the value (§20.2.3: 0x0C and 4 bytes), its offset tracked through the
 * enclosing packages' aml_end(), which shortens their PkgLength fields before it. */
Test(aml, a_dword_to_patch_stays_tracked)
{
	struct aml_buf b = fresh();
	aml_dword(&b, 40);
	expect_bytes(&b, 0x0C, 40, 0, 0, 0);
	cr_assert_eq(b.tracked, 1);

	b = fresh();
	size_t dev = aml_device_begin(&b, "VGEN");
	size_t pkg = aml_package_begin(&b, 2);
	aml_dword(&b, 40);
	aml_int(&b, 0);
	aml_end(&b, pkg);
	aml_end(&b, dev);
	cr_assert_eq(b.err, 0);
	cr_assert_eq(b.data[b.tracked - 1], 0x0C);
	cr_assert_eq(b.data[b.tracked], 40);
	cr_assert_eq(b.tracked + 5, b.len, "the value, then Zero, end the device");
}

Test(aml, strings_end_with_nul)
{
	struct aml_buf b = fresh();
	aml_string(&b, "LNRO0005");
	expect_bytes(&b, 0x0D, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0);
}

/* EISAID("PNP0A08") is 0x080AD041 (iasl compiles the same), PNP0501 0x0105D041. */
Test(aml, eisa_ids_are_compressed)
{
	struct aml_buf b = fresh();
	aml_eisaid(&b, "PNP0A08");
	aml_eisaid(&b, "PNP0501");
	expect_bytes(&b, 0x0C, 0x41, 0xD0, 0x0A, 0x08, 0x0C, 0x41, 0xD0, 0x05, 0x01);
	b = fresh();
	aml_eisaid(&b, "pnp0a08");
	cr_assert_eq(b.err, -EINVAL);
	b = fresh();
	aml_eisaid(&b, "PNP0A0");
	cr_assert_eq(b.err, -EINVAL);
}

Test(aml, names_are_padded_and_prefixed)
{
	struct aml_buf b = fresh();
	aml_namestring(&b, "_SB");
	aml_namestring(&b, "\\_SB.PCI0");
	aml_namestring(&b, "A.B.C");
	expect_bytes(&b, '_', 'S', 'B', '_', 0x5C, 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		     0x2F, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
	const char *bad[] = {"", "TOOLONG", "a", "0ABC", "A..B", "A.", "\\"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = fresh();
		aml_namestring(&b, bad[i]);
		cr_assert_eq(b.err, -EINVAL, "'%s' accepted", bad[i]);
	}
}

Test(aml, name_device_and_scope)
{
	struct aml_buf b = fresh();
	size_t s = aml_scope_begin(&b, "\\_SB");
	size_t d = aml_device_begin(&b, "COM1");
	aml_name(&b, "_UID");
	aml_int(&b, 1);
	aml_end(&b, d);
	aml_end(&b, s);
	/* Scope: 10 len \_SB_ { Device: 5B 82 len COM1 { Name: 08 _UID One } } */
	expect_bytes(&b, 0x10, 0x13, 0x5C, '_', 'S', 'B', '_', 0x5B, 0x82, 0x0B, 'C', 'O', 'M', '1',
		     0x08, '_', 'U', 'I', 'D', 0x01);
}

/* A package of `body` - 1 ByteData elements after its count: its PkgLength. */
static void package_len(size_t body, const uint8_t *want, size_t nwant)
{
	struct aml_buf b = fresh();
	size_t p = aml_package_begin(&b, 0);
	for (size_t i = 1; i < body; i++)
		aml_u8(&b, 0xAA);
	aml_end(&b, p);
	cr_assert_eq(b.err, 0);
	cr_assert_eq(b.len, 1 + nwant + body, "body %zu: length %zu", body, b.len);
	cr_assert_eq(b.data[0], 0x12);
	cr_assert_eq(memcmp(b.data + 1, want, nwant), 0, "body %zu: PkgLength %#x %#x", body,
		     b.data[1], b.data[2]);
	cr_assert_eq(b.data[1 + nwant], 0, "the count follows the PkgLength");
	cr_assert_eq(b.data[b.len - 1], body > 1 ? 0xAA : 0, "the body moved down intact");
}

Test(aml, pkglength_at_its_boundaries)
{
	package_len(1, (const uint8_t[]){0x02}, 1);
	package_len(62, (const uint8_t[]){0x3F}, 1);	   /* 63: the longest one-byte length */
	package_len(63, (const uint8_t[]){0x41, 0x04}, 2); /* 65 = 0x041 */
	package_len(101, (const uint8_t[]){0x47, 0x06}, 2);
	package_len(4093, (const uint8_t[]){0x4F, 0xFF}, 2); /* 4095 */
	package_len(4094, (const uint8_t[]){0x81, 0x00, 0x01}, 3) /* 4097 = 0x1001 */;
}

Test(aml, buffers_carry_their_size)
{
	struct aml_buf b = fresh();
	size_t r = aml_buffer_begin(&b);
	aml_res_end(&b);
	aml_buffer_end(&b, r);
	expect_bytes(&b, 0x11, 0x05, 0x0A, 0x02, 0x79, 0x00);
}

Test(aml, resource_descriptors)
{
	struct aml_buf b = fresh();
	aml_res_io(&b, 0x3F8, 8);
	aml_res_irq(&b, 4);
	aml_res_mem32(&b, 0xD0000000, 0x1000);
	aml_res_interrupt(&b, 5, 1, 0);
	aml_res_interrupt(&b, 20, 1, 1);
	expect_bytes(&b, 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,   /* IO(Decode16, ...) */
		     0x22, 0x10, 0x00,					   /* IRQNoFlags(){4} */
		     0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0xD0, 0, 0x10, 0, 0, /* Memory32Fixed */
		     0x89, 0x06, 0x00, 0x01, 0x01, 5, 0, 0, 0,		   /* Level, ActiveHigh */
		     0x89, 0x06, 0x00, 0x05, 0x01, 20, 0, 0, 0);	   /* Level, ActiveLow */
	b = fresh();
	aml_res_bus(&b, 0, 255);
	expect_bytes(&b, 0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0, 0, 0xFF, 0, 0, 0, 0, 1);
	b = fresh();
	aml_res_mem_window(&b, 0xF0000000, 0x0EC00000);
	expect_bytes(&b, 0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0xFF, 0xFF,
		     0xBF, 0xFE, 0, 0, 0, 0, 0, 0, 0xC0, 0x0E);
	b = fresh();
	aml_res_mem64_window(&b, 0xC000000000ull, 0x4000000000ull); /* [768 GiB, 1 TiB) */
	expect_bytes(&b, 0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, /* _GRA */
		     0, 0, 0, 0, 0xC0, 0, 0, 0,					     /* _MIN */
		     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0,			     /* _MAX */
		     0, 0, 0, 0, 0, 0, 0, 0,					     /* _TRA */
		     0, 0, 0, 0, 0x40, 0, 0, 0);				     /* _LEN */
	b = fresh();
	aml_res_mem64_window(&b, ~0ull - 0xfff, 0x2000);
	cr_assert_eq(b.err, -EINVAL, "a window that wraps");
	b = fresh();
	aml_res_irq(&b, 16);
	cr_assert_eq(b.err, -EINVAL);
	b = fresh();
	aml_res_mem_window(&b, 0xFFFFF000, 0x2000);
	cr_assert_eq(b.err, -EINVAL);
}

Test(aml, checksum_makes_the_sum_zero)
{
	struct aml_buf b = fresh();
	aml_chars(&b, "ABCDEFGH", 8);
	aml_u8(&b, 0);
	aml_checksum(&b, 0, b.len, 8);
	uint8_t sum = 0;
	for (size_t i = 0; i < b.len; i++)
		sum = (uint8_t)(sum + b.data[i]);
	cr_assert_eq(sum, 0);
	aml_checksum(&b, 0, b.len + 1, 0);
	cr_assert_eq(b.err, -EINVAL, "a range past what was written");
}

Test(aml, writes_past_the_end_are_refused_and_sticky)
{
	uint8_t small[4];
	struct aml_buf b;
	aml_buf_init(&b, small, sizeof(small));
	aml_u32(&b, 0x11223344);
	cr_assert_eq(b.err, 0);
	aml_u8(&b, 1);
	cr_assert_eq(b.err, -ENOSPC);
	cr_assert_eq(b.len, 4);
	aml_patch(&b, 0, 0, 1); /* dropped once failed */
	cr_assert_eq(small[0], 0x44);
	size_t p = aml_package_begin(&b, 1);
	aml_end(&b, p);
	cr_assert_eq(b.len, 4);
	cr_assert_eq(b.err, -ENOSPC);
}

/* The Generic Event Device's AML (§19.6): the bytes Debian's iasl 20200925 compiles from
 *   OperationRegion (GDST, SystemMemory, 0xC0001000, 0x04)
 *   Field (GDST, DWordAcc, NoLock, WriteAsZeros) { GDAT, 32 }
 *   Method (_EVT, 1, Serialized) {
 *       Store (GDAT, Local0)
 *       If (And (Local0, One)) { Notify (\_SB.PWRB, 0x80) } } */
Test(aml, operation_region_and_field)
{
	struct aml_buf b = fresh();
	aml_opregion(&b, "GDST", AML_SYSTEM_MEMORY, 0xC0001000, 4);
	size_t f = aml_field_begin(&b, "GDST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_field_unit(&b, "GDAT", 32);
	aml_end(&b, f);
	expect_bytes(&b, 0x5B, 0x80, 'G', 'D', 'S', 'T', 0x00, 0x0C, 0x00, 0x10, 0x00, 0xC0, 0x0A,
		     0x04, /* OperationRegion */
		     0x5B, 0x81, 0x0B, 'G', 'D', 'S', 'T', 0x43, 'G', 'D', 'A', 'T',
		     0x20); /* Field */
	b = fresh();
	aml_opregion(&b, "PORT", AML_SYSTEM_IO, 0x600, 1);
	expect_bytes(&b, 0x5B, 0x80, 'P', 'O', 'R', 'T', 0x01, 0x0B, 0x00, 0x06, 0x01);
}

/* A NamedField's length is its size in bits and does not count its own bytes (§20.2.5.2). */
Test(aml, field_units_take_bit_lengths)
{
	struct aml_buf b = fresh();
	aml_field_unit(&b, "A", 63);
	aml_field_unit(&b, "B", 64);
	aml_field_unit(&b, "C", 4096);
	expect_bytes(&b, 'A', '_', '_', '_', 63, 'B', '_', '_', '_', 0x40, 0x04, 'C', '_', '_', '_',
		     0x80, 0x00, 0x01);
	b = fresh();
	aml_field_unit(&b, "X", 0);
	cr_assert_eq(b.err, -EINVAL, "an empty field");
	b = fresh();
	aml_field_unit(&b, "\\X", 8);
	cr_assert_eq(b.err, -EINVAL, "a field unit is one NameSeg");
}

Test(aml, method_if_store_and_notify)
{
	struct aml_buf b = fresh();
	size_t m = aml_method_begin(&b, "_EVT", 1, 1);
	aml_store(&b);
	aml_namestring(&b, "GDAT");
	aml_local(&b, 0);
	size_t i = aml_if_begin(&b);
	aml_and(&b);
	aml_local(&b, 0);
	aml_int(&b, 1);
	aml_no_target(&b);
	aml_notify(&b);
	aml_namestring(&b, "\\_SB.PWRB");
	aml_int(&b, 0x80);
	aml_end(&b, i);
	aml_end(&b, m);
	expect_bytes(&b, 0x14, 0x1F, '_', 'E', 'V', 'T', 0x09, /* Method, Serialized */
		     0x70, 'G', 'D', 'A', 'T', 0x60,	       /* Store(GDAT, Local0) */
		     0xA0, 0x12, 0x7B, 0x60, 0x01, 0x00,       /* If (And(Local0, One)) */
		     0x86, 0x5C, 0x2E, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0A,
		     0x80); /* Notify */
	b = fresh();
	m = aml_method_begin(&b, "M", 0, 0);
	aml_arg(&b, 6);
	aml_end(&b, m);
	expect_bytes(&b, 0x14, 0x07, 'M', '_', '_', '_', 0x00, 0x6E);
	b = fresh();
	aml_method_begin(&b, "M", 8, 0);
	cr_assert_eq(b.err, -EINVAL, "a method takes at most 7 arguments");
	b = fresh();
	aml_local(&b, 8);
	cr_assert_eq(b.err, -EINVAL, "Local0-Local7 only");
}
