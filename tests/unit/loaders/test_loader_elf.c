#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>

#include "loaders/loader_elf.h"
#include "tests/unit/fixtures/boot_fixtures.h"

static struct guest_mem mem;
static uint8_t *ram;

static void setup(void)
{
	ram = fake_mem_init(&mem, FAKE_RAM_SIZE);
}

static void teardown(void)
{
	free(ram);
}

TestSuite(elf, .init = setup, .fini = teardown);

static void assert_loaded(void)
{
	cr_assert_eq(ram[FAKE_ELF_PADDR - 1], FILL_BYTE);
	for (size_t i = 0; i < FAKE_ELF_FILESZ; i++)
		cr_assert_eq(ram[FAKE_ELF_PADDR + i], fake_kernel_byte(i), "byte %zu", i);
	for (size_t i = FAKE_ELF_FILESZ; i < FAKE_ELF_MEMSZ; i++)
		cr_assert_eq(ram[FAKE_ELF_PADDR + i], 0, "bss byte %zu", i);
	cr_assert_eq(ram[FAKE_ELF_PADDR + FAKE_ELF_MEMSZ], FILL_BYTE);
}

static int load_with(const struct fake_elf *o, struct elf_kernel *k)
{
	size_t len;
	uint8_t *img = fake_elf(o, &len);
	int err = elf_load(&mem, img, len, "test", k);

	free(img);
	return err;
}

Test(elf, elf64_with_8_byte_note)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;

	cr_assert_eq(load_with(&o, &k), 0);
	cr_assert_eq(k.entry32, FAKE_ELF_ENTRY);
	cr_assert_eq(k.load_start, FAKE_ELF_PADDR);
	cr_assert_eq(k.load_end, FAKE_ELF_PADDR + FAKE_ELF_MEMSZ);
	assert_loaded();
}

Test(elf, elf64_with_4_byte_note)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;

	o.desc_size = 4;
	o.entry = FAKE_ELF_PADDR + 0x20;
	cr_assert_eq(load_with(&o, &k), 0);
	cr_assert_eq(k.entry32, FAKE_ELF_PADDR + 0x20);
	assert_loaded();
}

Test(elf, elf32)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;

	o.class = ELFCLASS32;
	o.desc_size = 4;
	cr_assert_eq(load_with(&o, &k), 0);
	cr_assert_eq(k.entry32, FAKE_ELF_ENTRY);
	cr_assert_eq(k.load_end, FAKE_ELF_PADDR + FAKE_ELF_MEMSZ);
	assert_loaded();
}

Test(elf, note_only_in_a_section)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;

	o.note = 2;
	cr_assert_eq(load_with(&o, &k), 0);
	cr_assert_eq(k.entry32, FAKE_ELF_ENTRY);
	o.class = ELFCLASS32;
	o.desc_size = 4;
	cr_assert_eq(load_with(&o, &k), 0);
	cr_assert_eq(k.entry32, FAKE_ELF_ENTRY);
}

Test(elf, missing_note_is_not_pvh_and_writes_nothing)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;

	o.note = 0;
	cr_assert_eq(load_with(&o, &k), -ENOEXEC);
	cr_assert_eq(ram[FAKE_ELF_PADDR], FILL_BYTE);
}

Test(elf, bad_notes)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;

	o.desc_size = 2;
	cr_assert_eq(load_with(&o, &k), -ENOEXEC, "2-byte descriptor");
	o = fake_elf_default();
	o.entry = 0x100000000ULL;
	cr_assert_eq(load_with(&o, &k), -ENOEXEC, "entry above 4 GiB");
	o.entry = FAKE_ELF_PADDR + FAKE_ELF_MEMSZ;
	cr_assert_eq(load_with(&o, &k), -ENOEXEC, "entry outside the segment");
	cr_assert_eq(ram[FAKE_ELF_PADDR], FILL_BYTE);
}

/* Loads the default image after `mutate` changed it. */
static int load_mutated(void (*mutate)(uint8_t *img, size_t *len))
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;
	size_t len;
	uint8_t *img = fake_elf(&o, &len);
	int err;

	mutate(img, &len);
	err = elf_load(&mem, img, len, "test", &k);
	free(img);
	return err;
}

#define MUTATION(name, body)                                                                       \
	static void name(uint8_t *img, size_t *len)                                                \
	{                                                                                          \
		Elf64_Ehdr *e = (Elf64_Ehdr *)img;                                                 \
		Elf64_Phdr *load = fake_elf64_phdr(img, 0), *note = fake_elf64_phdr(img, 1);       \
		(void)e;                                                                           \
		(void)load;                                                                        \
		(void)note;                                                                        \
		(void)len;                                                                         \
		body;                                                                              \
	}

MUTATION(bad_magic, img[1] = 'X')
MUTATION(bad_class, img[EI_CLASS] = 3)
MUTATION(big_endian, img[EI_DATA] = ELFDATA2MSB)
MUTATION(wrong_machine, e->e_machine = EM_AARCH64)
MUTATION(relocatable_object, e->e_type = ET_REL)
MUTATION(truncated_header, *len = 40)
MUTATION(phoff_past_eof, e->e_phoff = *len - 50)
MUTATION(phoff_overflow, e->e_phoff = UINT64_MAX - 10)
MUTATION(bad_phentsize, e->e_phentsize = 32)
MUTATION(no_phdrs, e->e_phnum = 0)
MUTATION(filesz_past_eof, load->p_filesz = *len)
MUTATION(offset_overflow, load->p_offset = UINT64_MAX - 8)
MUTATION(filesz_over_memsz, load->p_memsz = load->p_filesz - 1)
MUTATION(paddr_overflow, load->p_paddr = UINT64_MAX - 0x1000)
MUTATION(below_1mib, load->p_paddr = 0x8000)
MUTATION(note_past_eof, note->p_filesz = *len)
MUTATION(no_load, load->p_type = PT_NULL)

Test(elf, malformed_images)
{
	static const struct {
		void (*mutate)(uint8_t *, size_t *);
		const char *what;
	} cases[] = {
	    {bad_magic, "bad magic"},
	    {bad_class, "bad class"},
	    {big_endian, "big endian"},
	    {wrong_machine, "wrong machine"},
	    {relocatable_object, "ET_REL"},
	    {truncated_header, "truncated header"},
	    {phoff_past_eof, "program headers past EOF"},
	    {phoff_overflow, "e_phoff overflows"},
	    {bad_phentsize, "e_phentsize"},
	    {no_phdrs, "no program headers"},
	    {filesz_past_eof, "p_offset + p_filesz past EOF"},
	    {offset_overflow, "p_offset overflows"},
	    {filesz_over_memsz, "p_filesz > p_memsz"},
	    {paddr_overflow, "p_paddr + p_memsz overflows"},
	    {below_1mib, "segment below 1 MiB"},
	    {note_past_eof, "note past EOF"},
	    {no_load, "no PT_LOAD"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(load_mutated(cases[i].mutate), -ENOEXEC, "%s", cases[i].what);
		cr_assert_eq(ram[FAKE_ELF_PADDR], FILL_BYTE, "%s: nothing written", cases[i].what);
	}
}

MUTATION(outside_ram, load->p_paddr = FAKE_RAM_SIZE - 0x1000)
MUTATION(huge_memsz, load->p_memsz = GIB(64))

Test(elf, segment_outside_ram)
{
	cr_assert_eq(load_mutated(outside_ram), -EFBIG);
	cr_assert_eq(load_mutated(huge_memsz), -EFBIG);
}

Test(elf, every_truncation_fails_cleanly)
{
	struct fake_elf o = fake_elf_default();
	struct elf_kernel k;
	size_t len;
	uint8_t *img = fake_elf(&o, &len);

	for (size_t n = 0; n < len; n++)
		cr_assert_eq(elf_load(&mem, img, n, "test", &k), -ENOEXEC, "length %zu", n);
	cr_assert_eq(elf_load(&mem, img, len, "test", &k), 0);
	free(img);
}

Test(elf, random_corruption_never_crashes)
{
	struct fake_elf o = fake_elf_default();
	size_t len;
	uint8_t *img = fake_elf(&o, &len);
	uint8_t *copy = malloc(len);
	unsigned seed = 4321;

	cr_redirect_stderr(); /* thousands of expected error lines */
	for (int i = 0; i < 5000; i++) {
		struct elf_kernel k;

		memcpy(copy, img, len);
		for (int n = 0; n < 4; n++)
			copy[rand_r(&seed) % FAKE_ELF_DATA_OFF] = (uint8_t)rand_r(&seed);
		int err = elf_load(&mem, copy, len, "fuzz", &k);
		cr_assert(err == 0 || err == -ENOEXEC || err == -EFBIG, "err %d", err);
	}
	free(copy);
	free(img);
}
