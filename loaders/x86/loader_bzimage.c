/* bzImage loader (rules and citations in loader_bzimage.h). */
#include "loaders/x86/loader_bzimage.h"

#include <errno.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"

#define SECTOR		512
#define BOOT_FLAG_MAGIC 0xAA55
/* End of init_size (offset 0x260, 4 bytes): every field we read lies before it. */
#define HDR_MIN_END 0x264

int bzimage_detect(const void *buf, size_t len)
{
	return len >= BZIMAGE_MAGIC_OFFSET + 4 &&
	       memcmp((const uint8_t *)buf + BZIMAGE_MAGIC_OFFSET, "HdrS", 4) == 0;
}

/* boot.rst: "The end of setup header can be calculated as follows: 0x0202 + byte value at
 * offset 0x0201". Copies the header, zero-filling fields the image does not have. */
static int copy_header(const uint8_t *b, size_t len, const char *name, struct setup_header *hdr)
{
	size_t end = 0x202 + (size_t)b[0x201];
	size_t n = end - BZIMAGE_HDR_OFFSET;

	if (end > len) {
		log_error("%s: truncated: setup header ends at %#zx, file is %zu bytes", name, end,
			  len);
		return -ENOEXEC;
	}
	if (end < HDR_MIN_END) {
		log_error("%s: setup header ends at %#zx, too short for boot protocol 2.12", name,
			  end);
		return -ENOEXEC;
	}
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, b + BZIMAGE_HDR_OFFSET, n < sizeof(*hdr) ? n : sizeof(*hdr));
	return 0;
}

static int check_header(const struct setup_header *hdr, const char *name)
{
	if (hdr->boot_flag != BOOT_FLAG_MAGIC) {
		log_error("%s: bad boot_flag %#x (want 0xaa55)", name, hdr->boot_flag);
		return -ENOEXEC;
	}
	if (hdr->version < BZIMAGE_MIN_VERSION) {
		log_error("%s: boot protocol %u.%02u is older than 2.12 (no 64-bit entry point)",
			  name, hdr->version >> 8, hdr->version & 0xFF);
		return -ENOEXEC;
	}
	if (!(hdr->xloadflags & XLF_KERNEL_64)) {
		log_error("%s: kernel has no 64-bit entry point (XLF_KERNEL_64 clear)", name);
		return -ENOEXEC;
	}
	if (!(hdr->loadflags & LOADED_HIGH)) {
		log_error("%s: zImage (not loaded high) is not supported", name);
		return -ENOEXEC;
	}
	if (hdr->relocatable_kernel &&
	    (hdr->kernel_alignment == 0 || (hdr->kernel_alignment & (hdr->kernel_alignment - 1)))) {
		log_error("%s: kernel_alignment %#x is not a power of two", name,
			  hdr->kernel_alignment);
		return -ENOEXEC;
	}
	return 0;
}

/* Finds the protected-mode kernel: after (setup_sects + 1) sectors, syssize paragraphs long. */
static int locate_kernel(const uint8_t *b, size_t len, const char *name, struct bzimage *bz)
{
	uint64_t setup_sects = bz->hdr.setup_sects ? bz->hdr.setup_sects : 4; /* 0 means 4 */
	uint64_t setup_size = (setup_sects + 1) * SECTOR;
	uint64_t size, end;

	if (setup_size >= len) {
		log_error("%s: truncated: %llu setup sectors run past the end of the %zu-byte file",
			  name, (unsigned long long)setup_sects, len);
		return -ENOEXEC;
	}
	size = bz->hdr.syssize ? (uint64_t)bz->hdr.syssize * 16 : len - setup_size;
	if (__builtin_add_overflow(setup_size, size, &end) || end > len) {
		log_error("%s: truncated: kernel of %llu bytes at offset %llu, file is %zu bytes",
			  name, (unsigned long long)size, (unsigned long long)setup_size, len);
		return -ENOEXEC;
	}
	if (size <= BZIMAGE_ENTRY64_OFFSET) {
		log_error("%s: kernel of %llu bytes has no room for the 64-bit entry at 0x200",
			  name, (unsigned long long)size);
		return -ENOEXEC;
	}
	bz->kernel = b + setup_size;
	bz->kernel_size = size;
	return 0;
}

/* head_64.S (compressed): a relocatable kernel decompresses at its load address aligned up to
 * kernel_alignment but not below LOAD_PHYSICAL_ADDR (= pref_address); a fixed one at
 * LOAD_PHYSICAL_ADDR. It needs init_size bytes from there. */
static int compute_reserved_end(const char *name, struct bzimage *bz)
{
	const struct setup_header *h = &bz->hdr;
	uint64_t start = h->pref_address, image_end = bz->load_addr + bz->kernel_size, end;

	if (h->relocatable_kernel) {
		uint64_t mask = (uint64_t)h->kernel_alignment - 1;
		uint64_t aligned = (bz->load_addr + mask) & ~mask;

		if (aligned > start)
			start = aligned;
	}
	if (__builtin_add_overflow(start, (uint64_t)h->init_size, &end)) {
		log_error("%s: pref_address %#llx + init_size %#x overflows", name,
			  (unsigned long long)h->pref_address, h->init_size);
		return -ENOEXEC;
	}
	bz->reserved_end = end > image_end ? end : image_end;
	return 0;
}

int bzimage_parse(const void *buf, size_t len, const char *name, struct bzimage *out)
{
	const uint8_t *b = buf;
	int err;

	memset(out, 0, sizeof(*out));
	if (!bzimage_detect(buf, len)) {
		log_error("%s: not a bzImage (no \"HdrS\" at 0x202)", name);
		return -ENOEXEC;
	}
	err = copy_header(b, len, name, &out->hdr);
	if (!err)
		err = check_header(&out->hdr, name);
	if (!err)
		err = locate_kernel(b, len, name, out);
	if (err)
		return err;
	out->load_addr = KERNEL_LOAD_ADDR;
	out->entry64 = out->load_addr + BZIMAGE_ENTRY64_OFFSET;
	return compute_reserved_end(name, out);
}

int bzimage_load(struct guest_mem *mem, const struct bzimage *bz, const char *name)
{
	uint64_t need = bz->reserved_end - bz->load_addr;

	if (!guest_mem_valid(mem, bz->load_addr, need)) {
		log_error("%s: kernel needs RAM [%#llx, %#llx) (image %llu bytes, init_size %u): "
			  "not enough guest memory",
			  name, (unsigned long long)bz->load_addr,
			  (unsigned long long)bz->reserved_end, (unsigned long long)bz->kernel_size,
			  bz->hdr.init_size);
		return -EFBIG;
	}
	return guest_mem_write(mem, bz->load_addr, bz->kernel, bz->kernel_size);
}
