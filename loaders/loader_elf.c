/* PVH ELF loader (rules in loader_elf.h). The ELF32 and ELF64 headers are read into one
 * normalised form (the 64-bit structs), so the rest of the code handles one class. */
#include "loaders/loader_elf.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"

struct elf_file {
	const uint8_t *buf;
	size_t len;
	const char *name;
	bool is64;
	Elf64_Ehdr eh; /* normalised */
};

int elf_detect(const void *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

/* True when [off, off + size) lies inside the file. */
static bool in_file(const struct elf_file *f, uint64_t off, uint64_t size)
{
	uint64_t end;

	return !__builtin_add_overflow(off, size, &end) && end <= f->len;
}

static void normalise_ehdr32(const Elf32_Ehdr *e, Elf64_Ehdr *o)
{
	memcpy(o->e_ident, e->e_ident, EI_NIDENT);
	o->e_type = e->e_type;
	o->e_machine = e->e_machine;
	o->e_version = e->e_version;
	o->e_entry = e->e_entry;
	o->e_phoff = e->e_phoff;
	o->e_shoff = e->e_shoff;
	o->e_flags = e->e_flags;
	o->e_ehsize = e->e_ehsize;
	o->e_phentsize = e->e_phentsize;
	o->e_phnum = e->e_phnum;
	o->e_shentsize = e->e_shentsize;
	o->e_shnum = e->e_shnum;
	o->e_shstrndx = e->e_shstrndx;
}

static int bad(const struct elf_file *f, const char *what)
{
	log_error("%s: bad ELF: %s", f->name, what);
	return -ENOEXEC;
}

static int read_ehdr(struct elf_file *f)
{
	const uint8_t *id = f->buf;

	if (f->len < EI_NIDENT || !elf_detect(f->buf, f->len))
		return bad(f, "no ELF magic");
	if (id[EI_CLASS] != ELFCLASS64 && id[EI_CLASS] != ELFCLASS32)
		return bad(f, "unknown ELF class");
	f->is64 = id[EI_CLASS] == ELFCLASS64;
	if (!in_file(f, 0, f->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return bad(f, "truncated ELF header");
	if (f->is64) {
		memcpy(&f->eh, f->buf, sizeof(f->eh));
	} else {
		Elf32_Ehdr e32;

		memcpy(&e32, f->buf, sizeof(e32));
		normalise_ehdr32(&e32, &f->eh);
	}
	if (id[EI_DATA] != ELFDATA2LSB || id[EI_VERSION] != EV_CURRENT)
		return bad(f, "not little-endian ELF version 1");
	if (f->eh.e_machine != (f->is64 ? EM_X86_64 : EM_386))
		return bad(f, "not an x86 executable");
	if (f->eh.e_type != ET_EXEC && f->eh.e_type != ET_DYN)
		return bad(f, "not an executable");
	return 0;
}

static int check_phdrs(const struct elf_file *f)
{
	size_t entsize = f->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

	if (f->eh.e_phnum == 0 || f->eh.e_phnum == PN_XNUM)
		return bad(f, "no program headers");
	if (f->eh.e_phentsize != entsize)
		return bad(f, "unexpected e_phentsize");
	if (!in_file(f, f->eh.e_phoff, (uint64_t)f->eh.e_phnum * entsize))
		return bad(f, "program headers past the end of the file");
	return 0;
}

/* Program header i, normalised. check_phdrs() has bounded the table. */
static Elf64_Phdr get_phdr(const struct elf_file *f, unsigned i)
{
	Elf64_Phdr p;

	if (f->is64) {
		memcpy(&p, f->buf + f->eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof(p));
	} else {
		Elf32_Phdr q;

		memcpy(&q, f->buf + f->eh.e_phoff + i * sizeof(Elf32_Phdr), sizeof(q));
		p = (Elf64_Phdr){.p_type = q.p_type,
				 .p_flags = q.p_flags,
				 .p_offset = q.p_offset,
				 .p_vaddr = q.p_vaddr,
				 .p_paddr = q.p_paddr,
				 .p_filesz = q.p_filesz,
				 .p_memsz = q.p_memsz,
				 .p_align = q.p_align};
	}
	return p;
}

/* Section header i's type, offset, size and alignment, or false when the table is absent or
 * not inside the file. */
static bool get_shdr(const struct elf_file *f, unsigned i, Elf64_Shdr *s)
{
	size_t entsize = f->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);

	if (f->eh.e_shoff == 0 || f->eh.e_shentsize != entsize ||
	    !in_file(f, f->eh.e_shoff, (uint64_t)f->eh.e_shnum * entsize))
		return false;
	if (f->is64) {
		memcpy(s, f->buf + f->eh.e_shoff + i * entsize, sizeof(*s));
	} else {
		Elf32_Shdr q;

		memcpy(&q, f->buf + f->eh.e_shoff + i * entsize, sizeof(q));
		*s = (Elf64_Shdr){.sh_type = q.sh_type,
				  .sh_offset = q.sh_offset,
				  .sh_size = q.sh_size,
				  .sh_addralign = q.sh_addralign};
	}
	return true;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Reads the PVH entry from one note's descriptor: Linux emits it as a 64-bit value (_ASM_PTR),
 * other kernels as 32-bit. Returns 1 found, 0 not this note, -ENOEXEC malformed. */
static int parse_pvh_desc(const struct elf_file *f, const uint8_t *desc, uint64_t descsz,
			  uint64_t *entry)
{
	if (descsz == 4) {
		uint32_t v;

		memcpy(&v, desc, 4);
		*entry = v;
	} else if (descsz == 8) {
		memcpy(entry, desc, 8);
	} else {
		return bad(f, "PVH entry note has a descriptor of neither 4 nor 8 bytes");
	}
	if (*entry > 0xFFFFFFFFULL)
		return bad(f, "PVH entry point above 4 GiB");
	return 1;
}

/* Walks the notes in file range [off, off + size), each padded to `align` bytes. A note area
 * that does not parse with this padding is just not searched further. Returns 1 found, 0 not,
 * -ENOEXEC for a malformed PVH note. */
static int walk_notes(const struct elf_file *f, uint64_t off, uint64_t size, uint64_t align,
		      uint64_t *entry)
{
	while (size >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n; /* Elf32_Nhdr and Elf64_Nhdr are the same three 32-bit words */
		uint64_t name_len, desc_len, total;

		memcpy(&n, f->buf + off, sizeof(n));
		name_len = align_up(n.n_namesz, align);
		desc_len = align_up(n.n_descsz, align);
		total = sizeof(n) + name_len + desc_len; /* no overflow: each part < 2^33 */
		if (sizeof(n) + name_len + n.n_descsz > size)
			return 0;
		const uint8_t *name = f->buf + off + sizeof(n);
		if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
		    memcmp(name, "Xen", 4) == 0)
			return parse_pvh_desc(f, name + name_len, n.n_descsz, entry);
		if (total >= size)
			break;
		off += total;
		size -= total;
	}
	return 0;
}

/* Notes are padded to 4 bytes in practice (Linux's and Xen's ELFNOTE macros), though the gABI
 * says 8 for ELF64 and ld gives 8-aligned notes their own PT_NOTE: try 4, then 8. */
static int find_pvh_note(const struct elf_file *f, uint64_t off, uint64_t size, uint64_t *entry)
{
	int r;

	if (!in_file(f, off, size))
		return bad(f, "note area past the end of the file");
	r = walk_notes(f, off, size, 4, entry);
	if (r == 0)
		r = walk_notes(f, off, size, 8, entry);
	return r;
}

/* The PVH entry from a PT_NOTE segment or, failing that, an SHT_NOTE section. */
static int find_pvh_entry(const struct elf_file *f, uint64_t *entry)
{
	int r = 0;

	for (unsigned i = 0; i < f->eh.e_phnum && r == 0; i++) {
		Elf64_Phdr p = get_phdr(f, i);

		if (p.p_type == PT_NOTE)
			r = find_pvh_note(f, p.p_offset, p.p_filesz, entry);
	}
	for (unsigned i = 0; i < f->eh.e_shnum && r == 0; i++) {
		Elf64_Shdr s;

		if (!get_shdr(f, i, &s))
			break;
		if (s.sh_type == SHT_NOTE)
			r = find_pvh_note(f, s.sh_offset, s.sh_size, entry);
	}
	if (r == 0) {
		log_error("%s: not a PVH kernel (no Xen note XEN_ELFNOTE_PHYS32_ENTRY)", f->name);
		return -ENOEXEC;
	}
	return r < 0 ? r : 0;
}

static int check_segment(const struct elf_file *f, const struct guest_mem *mem, const Elf64_Phdr *p)
{
	uint64_t end;

	if (p->p_filesz > p->p_memsz)
		return bad(f, "PT_LOAD with p_filesz > p_memsz");
	if (!in_file(f, p->p_offset, p->p_filesz))
		return bad(f, "PT_LOAD data past the end of the file");
	if (__builtin_add_overflow(p->p_paddr, p->p_memsz, &end))
		return bad(f, "PT_LOAD address overflows");
	if (p->p_paddr < KERNEL_LOAD_ADDR) {
		log_error("%s: segment at %#llx is below 1 MiB, where the boot structures live",
			  f->name, (unsigned long long)p->p_paddr);
		return -ENOEXEC;
	}
	if (mem && !guest_mem_valid(mem, p->p_paddr, p->p_memsz)) {
		log_error("%s: segment [%#llx, %#llx) is not inside guest RAM", f->name,
			  (unsigned long long)p->p_paddr, (unsigned long long)end);
		return -EFBIG;
	}
	return 0;
}

/* Checks every PT_LOAD and records the loaded range; the entry must lie inside a segment. */
static int check_segments(const struct elf_file *f, const struct guest_mem *mem,
			  struct elf_kernel *out)
{
	bool entry_ok = false;
	int nload = 0;

	out->load_start = UINT64_MAX;
	out->load_end = 0;
	for (unsigned i = 0; i < f->eh.e_phnum; i++) {
		Elf64_Phdr p = get_phdr(f, i);
		int err;

		if (p.p_type != PT_LOAD || p.p_memsz == 0)
			continue;
		err = check_segment(f, mem, &p);
		if (err)
			return err;
		nload++;
		if (p.p_paddr < out->load_start)
			out->load_start = p.p_paddr;
		if (p.p_paddr + p.p_memsz > out->load_end)
			out->load_end = p.p_paddr + p.p_memsz;
		if (out->entry32 >= p.p_paddr && out->entry32 - p.p_paddr < p.p_memsz)
			entry_ok = true;
	}
	if (nload == 0)
		return bad(f, "no PT_LOAD segment");
	if (!entry_ok)
		return bad(f, "PVH entry point is outside every PT_LOAD segment");
	return 0;
}

static int load_segments(const struct elf_file *f, struct guest_mem *mem)
{
	for (unsigned i = 0; i < f->eh.e_phnum; i++) {
		Elf64_Phdr p = get_phdr(f, i);
		uint8_t *dst;

		if (p.p_type != PT_LOAD || p.p_memsz == 0)
			continue;
		dst = guest_mem_ptr(mem, p.p_paddr, p.p_memsz); /* checked in check_segment() */
		if (!dst)
			return -EFAULT;
		memcpy(dst, f->buf + p.p_offset, p.p_filesz);
		memset(dst + p.p_filesz, 0, p.p_memsz - p.p_filesz);
	}
	return 0;
}

static int check(struct elf_file *f, const struct guest_mem *mem, struct elf_kernel *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = read_ehdr(f);
	if (!err)
		err = check_phdrs(f);
	if (!err)
		err = find_pvh_entry(f, &out->entry32);
	if (!err)
		err = check_segments(f, mem, out);
	return err;
}

int elf_check(const struct guest_mem *mem, const void *buf, size_t len, const char *name,
	      struct elf_kernel *out)
{
	struct elf_file f = {.buf = buf, .len = len, .name = name};

	return check(&f, mem, out);
}

int elf_load(struct guest_mem *mem, const void *buf, size_t len, const char *name,
	     struct elf_kernel *out)
{
	struct elf_file f = {.buf = buf, .len = len, .name = name};
	int err = check(&f, mem, out);

	return err ? err : load_segments(&f, mem);
}
