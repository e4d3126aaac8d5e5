/* Test fixtures shared by the boot-path unit tests: fake guest memory, a minimal bzImage and
 * minimal PVH ELF images built byte by byte, and temporary files. Header-only (static) so each
 * test binary stays one .c file. */
#ifndef TESTS_UNIT_BOOT_FIXTURES_H
#define TESTS_UNIT_BOOT_FIXTURES_H

#include <asm/bootparam.h>
#include <criterion/criterion.h>
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "base/layout.h"

#define FAKE_RAM_SIZE MIB(64)
#define FILL_BYTE     0xAA

/* Guest RAM [0, size) over a malloc'd buffer filled with FILL_BYTE. */
static inline uint8_t *fake_mem_init(struct guest_mem *mem, uint64_t size)
{
	uint8_t *buf = malloc(size);

	cr_assert_not_null(buf);
	memset(buf, FILL_BYTE, size);
	memset(mem, 0, sizeof(*mem));
	cr_assert_eq(guest_mem_add_region(mem, 0, buf, size), 0);
	return buf;
}

/* --- bzImage --- */

struct fake_bz {
	uint8_t setup_sects; /* as written in the header (0 means 4) */
	uint32_t kernel_size;
	uint16_t version;
	uint16_t xloadflags;
	uint32_t init_size;
	uint64_t pref_address;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint8_t relocatable;
	uint32_t kernel_alignment;
};

static inline struct fake_bz fake_bz_default(void)
{
	return (struct fake_bz){.setup_sects = 4,
				.kernel_size = 0x10000,
				.version = 0x020F,
				.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
				.init_size = MIB(4),
				.pref_address = MIB(16),
				.cmdline_size = 2047,
				.initrd_addr_max = 0x7FFFFFFF,
				.relocatable = 1,
				.kernel_alignment = MIB(2)};
}

/* Kernel byte i is (i * 7 + 3) & 0xFF so a test can check what was copied. */
static inline uint8_t fake_kernel_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static inline uint8_t *fake_bzimage(const struct fake_bz *o, size_t *len)
{
	size_t setup = ((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
	uint8_t *b = calloc(1, setup + o->kernel_size);
	struct setup_header h = {0};

	cr_assert_not_null(b);
	h.setup_sects = o->setup_sects;
	h.syssize = o->kernel_size / 16;
	h.boot_flag = 0xAA55;
	/* "jmp short" over the header: it ends at 0x202 + 0x6A = 0x26C, the full 2.15 header. */
	h.jump = 0x6AEB;
	memcpy(&h.header, "HdrS", 4);
	h.version = o->version;
	h.loadflags = LOADED_HIGH;
	h.code32_start = 0x100000;
	h.initrd_addr_max = o->initrd_addr_max;
	h.kernel_alignment = o->kernel_alignment;
	h.relocatable_kernel = o->relocatable;
	h.xloadflags = o->xloadflags;
	h.cmdline_size = o->cmdline_size;
	h.pref_address = o->pref_address;
	h.init_size = o->init_size;
	memcpy(b + 0x1F1, &h, sizeof(h));
	for (size_t i = 0; i < o->kernel_size; i++)
		b[setup + i] = fake_kernel_byte(i);
	*len = setup + o->kernel_size;
	return b;
}

/* --- PVH ELF --- */

#define FAKE_ELF_PADDR	  0x100000ULL
#define FAKE_ELF_ENTRY	  0x100010ULL
#define FAKE_ELF_FILESZ	  0x1000
#define FAKE_ELF_MEMSZ	  0x3000
#define FAKE_ELF_DATA_OFF 0x200

struct fake_elf {
	int class;	/* ELFCLASS64 or ELFCLASS32 */
	int note;	/* 0: none, 1: in a PT_NOTE segment, 2: only in an SHT_NOTE section */
	int desc_size;	/* 4 or 8 */
	uint64_t entry; /* PVH entry in the note */
};

static inline struct fake_elf fake_elf_default(void)
{
	return (struct fake_elf){ELFCLASS64, 1, 8, FAKE_ELF_ENTRY};
}

/* Offsets inside the fake images: header, 2 program headers, the note, 2 section headers, data
 * (FAKE_ELF_FILESZ bytes of fake_kernel_byte()). */
#define FAKE_ELF_NOTE_OFF 0x100
#define FAKE_ELF_SHDR_OFF 0x140

static inline size_t fake_elf_note(uint8_t *b, const struct fake_elf *o)
{
	Elf64_Nhdr n = {4, (Elf64_Word)o->desc_size, 18};
	size_t off = FAKE_ELF_NOTE_OFF;

	memcpy(b + off, &n, sizeof(n));
	memcpy(b + off + 12, "Xen", 4);
	memcpy(b + off + 16, &o->entry, (size_t)o->desc_size);
	return 16 + (size_t)o->desc_size;
}

static inline uint8_t *fake_elf64(const struct fake_elf *o, uint8_t *b, size_t note_size)
{
	Elf64_Ehdr *e = (Elf64_Ehdr *)b;
	Elf64_Phdr ph[2] = {{.p_type = PT_LOAD,
			     .p_flags = PF_R | PF_X,
			     .p_offset = FAKE_ELF_DATA_OFF,
			     .p_vaddr = FAKE_ELF_PADDR,
			     .p_paddr = FAKE_ELF_PADDR,
			     .p_filesz = FAKE_ELF_FILESZ,
			     .p_memsz = FAKE_ELF_MEMSZ,
			     .p_align = 0x1000},
			    {.p_type = o->note == 1 ? PT_NOTE : PT_NULL,
			     .p_offset = FAKE_ELF_NOTE_OFF,
			     .p_filesz = note_size,
			     .p_align = 4}};
	Elf64_Shdr sh[2] = {{0},
			    {.sh_type = SHT_NOTE,
			     .sh_offset = FAKE_ELF_NOTE_OFF,
			     .sh_size = note_size,
			     .sh_addralign = 4}};

	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = FAKE_ELF_ENTRY;
	e->e_phoff = sizeof(*e);
	e->e_ehsize = sizeof(*e);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 2;
	memcpy(b + e->e_phoff, ph, sizeof(ph));
	if (o->note == 2) {
		e->e_shoff = FAKE_ELF_SHDR_OFF;
		e->e_shentsize = sizeof(Elf64_Shdr);
		e->e_shnum = 2;
		memcpy(b + FAKE_ELF_SHDR_OFF, sh, sizeof(sh));
	}
	return b;
}

static inline uint8_t *fake_elf32(const struct fake_elf *o, uint8_t *b, size_t note_size)
{
	Elf32_Ehdr *e = (Elf32_Ehdr *)b;
	Elf32_Phdr ph[2] = {{.p_type = PT_LOAD,
			     .p_flags = PF_R | PF_X,
			     .p_offset = FAKE_ELF_DATA_OFF,
			     .p_vaddr = FAKE_ELF_PADDR,
			     .p_paddr = FAKE_ELF_PADDR,
			     .p_filesz = FAKE_ELF_FILESZ,
			     .p_memsz = FAKE_ELF_MEMSZ,
			     .p_align = 0x1000},
			    {.p_type = o->note == 1 ? PT_NOTE : PT_NULL,
			     .p_offset = FAKE_ELF_NOTE_OFF,
			     .p_filesz = (Elf32_Word)note_size,
			     .p_align = 4}};
	Elf32_Shdr sh[2] = {{0},
			    {.sh_type = SHT_NOTE,
			     .sh_offset = FAKE_ELF_NOTE_OFF,
			     .sh_size = (Elf32_Word)note_size,
			     .sh_addralign = 4}};

	e->e_type = ET_EXEC;
	e->e_machine = EM_386;
	e->e_version = EV_CURRENT;
	e->e_entry = FAKE_ELF_ENTRY;
	e->e_phoff = sizeof(*e);
	e->e_ehsize = sizeof(*e);
	e->e_phentsize = sizeof(Elf32_Phdr);
	e->e_phnum = 2;
	memcpy(b + e->e_phoff, ph, sizeof(ph));
	if (o->note == 2) {
		e->e_shoff = FAKE_ELF_SHDR_OFF;
		e->e_shentsize = sizeof(Elf32_Shdr);
		e->e_shnum = 2;
		memcpy(b + FAKE_ELF_SHDR_OFF, sh, sizeof(sh));
	}
	return b;
}

static inline uint8_t *fake_elf(const struct fake_elf *o, size_t *len)
{
	uint8_t *b = calloc(1, FAKE_ELF_DATA_OFF + FAKE_ELF_FILESZ);
	size_t note_size;

	cr_assert_not_null(b);
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = (uint8_t)o->class;
	b[EI_DATA] = ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	note_size = o->note ? fake_elf_note(b, o) : 0;
	if (o->class == ELFCLASS64)
		fake_elf64(o, b, note_size);
	else
		fake_elf32(o, b, note_size);
	for (size_t i = 0; i < FAKE_ELF_FILESZ; i++)
		b[FAKE_ELF_DATA_OFF + i] = fake_kernel_byte(i);
	*len = FAKE_ELF_DATA_OFF + FAKE_ELF_FILESZ;
	return b;
}

static inline Elf64_Phdr *fake_elf64_phdr(uint8_t *b, int i)
{
	return (Elf64_Phdr *)(b + sizeof(Elf64_Ehdr)) + i;
}

/* --- files --- */

/* Writes `len` bytes to a new temporary file; returns its malloc'd path. */
static inline char *temp_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/vmm-boot-test-XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

#endif
