/* Top-level kernel loading: reads the files, picks the boot protocol and lays out guest memory
 * (addresses in base/layout.h). */
#include "loaders/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/layout.h"
#include "base/log.h"
#include "firmware/acpi/acpi.h"
#include "firmware/fdt.h"
#include "firmware/x86/boot_params.h"
#include "firmware/x86/pvh.h"
#include "loaders/loader_elf.h"
#include "loaders/x86/loader_bzimage.h"

#define PAGE_MASK 0xFFFULL

/* Opens `path` as a regular file (host_path_open(): a FIFO, a device or /proc is refused at
 * once) and returns its fd and size, or -errno (logged). */
static int open_regular(const char *path, const char *what, uint64_t *size)
{
	struct stat st;
	char err[HOST_PATH_ERR_MAX];
	int fd = host_path_open(path, O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));

	if (fd < 0) {
		log_error("%s %s", what, err);
		return fd;
	}
	if (fstat(fd, &st)) {
		int e = -errno;
		log_error("%s %s: %s", what, path, strerror(-e));
		close(fd);
		return e;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Reads exactly `len` bytes; a file that shrank since fstat() is an I/O error. */
static int read_all(int fd, const char *path, void *dst, uint64_t len)
{
	uint8_t *p = dst;

	while (len > 0) {
		ssize_t n = read(fd, p, len > (1 << 30) ? (1 << 30) : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s: %s", path,
				  n < 0 ? strerror(errno) : "file shrank while read");
			return n < 0 ? -errno : -EIO;
		}
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* The whole kernel file in a malloc'd buffer; a file bigger than guest RAM cannot fit. */
static int read_kernel(const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
	uint64_t size;
	int fd = open_regular(path, "kernel", &size), err;

	*buf = NULL;
	if (fd < 0)
		return fd;
	if (size == 0 || size > max) {
		log_error("kernel %s: %s (%llu bytes)", path,
			  size ? "larger than guest RAM" : "empty file", (unsigned long long)size);
		err = size ? -EFBIG : -ENOEXEC;
	} else if (!(*buf = malloc(size))) {
		log_error("kernel %s: out of memory for %llu bytes", path,
			  (unsigned long long)size);
		err = -ENOMEM;
	} else {
		err = read_all(fd, path, *buf, size);
		if (err) {
			free(*buf);
			*buf = NULL;
		}
	}
	close(fd);
	*len = (size_t)size;
	return err;
}

/* The image's format, checked as far as it can be without the machine: the ELF's headers,
 * notes and segments against `mem`, or the bzImage's setup header. */
static int check_kernel(const struct guest_mem *mem, const uint8_t *img, size_t len,
			const char *path, uint64_t *cmdline_max)
{
	struct elf_kernel k;
	struct bzimage bz;
	int err;

	*cmdline_max = BOOT_CMDLINE_MAX - 1;
	if (elf_detect(img, len))
		return elf_check(mem, img, len, path, &k);
	if (bzimage_detect(img, len)) {
		err = bzimage_parse(img, len, path, &bz);
		if (!err && bz.hdr.cmdline_size < *cmdline_max)
			*cmdline_max = bz.hdr.cmdline_size; /* as write_cmdline() will check */
		return err;
	}
	log_error("kernel %s: neither a bzImage nor an ELF file", path);
	return -ENOEXEC;
}

int boot_files_open(struct boot_files *f, const struct guest_mem *mem, const char *kernel,
		    const char *initrd)
{
	int err;

	*f = (struct boot_files){.initrd_fd = -1, .kernel_path = kernel, .initrd_path = initrd};
	err = read_kernel(kernel, mem ? mem->ram_size : GUEST_RAM_MAX, &f->kernel, &f->kernel_len);
	if (!err)
		err = check_kernel(mem, f->kernel, f->kernel_len, kernel, &f->cmdline_max);
	if (!err && initrd) {
		f->initrd_fd = open_regular(initrd, "initrd", &f->initrd_size);
		err = f->initrd_fd < 0 ? f->initrd_fd : 0;
	}
	/* Where exactly it goes depends on the kernel's layout (load_initrd()); more than all of
	 * RAM never fits, and saying so now needs no VM. */
	if (!err && mem && f->initrd_size > mem->ram_size) {
		log_error("initrd %s: %llu bytes do not fit in %llu bytes of guest RAM", initrd,
			  (unsigned long long)f->initrd_size, (unsigned long long)mem->ram_size);
		err = -EFBIG;
	}
	if (err)
		boot_files_close(f);
	return err;
}

int boot_check_cmdline(const struct boot_files *f, const char *cmdline)
{
	uint64_t len = cmdline ? strlen(cmdline) : 0;
	uint64_t max = f && f->kernel ? f->cmdline_max : BOOT_CMDLINE_MAX - 1;

	if (len <= max)
		return 0;
	if (f && f->kernel)
		log_error("command line is %llu bytes; kernel %s accepts at most %llu",
			  (unsigned long long)len, f->kernel_path, (unsigned long long)max);
	else
		log_error("command line is %llu bytes; at most %llu are possible",
			  (unsigned long long)len, (unsigned long long)max);
	return -E2BIG;
}

void boot_files_close(struct boot_files *f)
{
	free(f->kernel);
	if (f->initrd_fd >= 0)
		close(f->initrd_fd);
	*f = (struct boot_files){.initrd_fd = -1};
}

uint64_t boot_initrd_addr(uint64_t size, uint64_t floor, uint64_t limit)
{
	uint64_t addr;

	if (size == 0 || size > limit || __builtin_add_overflow(floor, PAGE_MASK, &floor))
		return 0;
	floor &= ~PAGE_MASK;
	addr = (limit - size) & ~PAGE_MASK;
	return addr >= floor && floor > 0 ? addr : 0;
}

/* End of the RAM region holding the kernel's load address (low RAM). */
static uint64_t low_ram_end(const struct guest_mem *mem)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (r->gpa <= KERNEL_LOAD_ADDR && KERNEL_LOAD_ADDR - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}

/* Reads the initrd straight into guest RAM, as high as possible in [floor, limit). */
static int load_initrd(struct guest_mem *mem, const struct boot_files *f, uint64_t floor,
		       uint64_t limit, uint64_t *addr, uint64_t *size)
{
	*addr = 0;
	*size = f->initrd_size;
	if (f->initrd_fd < 0 || *size == 0)
		return 0; /* an empty initrd is no initrd */
	*addr = boot_initrd_addr(*size, floor, limit);
	if (*addr == 0) {
		log_error("initrd %s: %llu bytes do not fit in guest RAM between the kernel "
			  "(ends %#llx) and %#llx",
			  f->initrd_path, (unsigned long long)*size, (unsigned long long)floor,
			  (unsigned long long)limit);
		return -EFBIG;
	}
	void *dst = guest_mem_ptr(mem, *addr, *size);
	return dst ? read_all(f->initrd_fd, f->initrd_path, dst, *size) : -EFBIG;
}

/* Checks the command line against our buffer and the kernel's limit (`max_len` bytes without
 * the NUL), then writes it at BOOT_CMDLINE_ADDR. */
static int write_cmdline(struct guest_mem *mem, const char *cmdline, uint64_t max_len,
			 const char *kernel)
{
	const char *s = cmdline ? cmdline : "";
	uint64_t len = strlen(s);

	if (max_len > BOOT_CMDLINE_MAX - 1)
		max_len = BOOT_CMDLINE_MAX - 1;
	if (len > max_len) {
		log_error("command line is %llu bytes; kernel %s accepts at most %llu",
			  (unsigned long long)len, kernel, (unsigned long long)max_len);
		return -E2BIG;
	}
	if (guest_mem_write(mem, BOOT_CMDLINE_ADDR, s, len + 1)) {
		log_error("command line buffer at %#llx is not RAM", BOOT_CMDLINE_ADDR);
		return -EFAULT;
	}
	return 0;
}

/* Builds the device tree of `m` and writes it `head` bytes after *addr, which is page aligned and
 * as high as possible with the whole [*addr, + head + DTB) inside [floor, limit). The caller
 * writes the `head` bytes (a setup_data header). */
static int load_dtb(struct guest_mem *mem, struct machine *m, uint64_t head, uint64_t floor,
		    uint64_t limit, uint64_t *addr, uint64_t *size)
{
	void *blob;
	size_t len;
	int err = machine_fdt_alloc(m, &blob, &len);

	*addr = *size = 0;
	if (err) {
		log_error("device tree: cannot build it: %s", strerror(-err));
		return err;
	}
	*addr = boot_initrd_addr(head + len, floor, limit);
	if (*addr == 0) {
		log_error("device tree: %zu bytes do not fit in guest RAM between %#llx and %#llx",
			  len, (unsigned long long)floor, (unsigned long long)limit);
		err = -EFBIG;
	} else {
		err = guest_mem_write(mem, *addr + head, blob, len);
		*size = len;
	}
	free(blob);
	return err;
}

/* The DTB as boot_params' setup_data list: one SETUP_DTB entry (boot.rst "setup_data"). */
static int load_dtb_setup_data(struct guest_mem *mem, struct machine *m, uint64_t floor,
			       uint64_t limit, uint64_t *list)
{
	uint64_t addr, size;
	int err = load_dtb(mem, m, sizeof(struct setup_data), floor, limit, &addr, &size);

	if (err)
		return err;
	struct setup_data sd = {.next = 0, .type = SETUP_DTB, .len = (uint32_t)size};
	*list = addr;
	return guest_mem_write(mem, addr, &sd, sizeof(sd));
}

static int boot_bzimage(struct guest_mem *mem, const struct boot_config *cfg,
			const struct boot_files *f, struct boot_entry *out)
{
	const uint8_t *img = f->kernel;
	size_t len = f->kernel_len;
	struct bzimage bz;
	struct boot_params_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	uint64_t limit = low_ram_end(mem);
	int err = bzimage_parse(img, len, cfg->kernel_path, &bz);

	if (!err)
		err = write_cmdline(mem, cfg->cmdline, bz.hdr.cmdline_size, cfg->kernel_path);
	if (!err)
		err = bzimage_load(mem, &bz, cfg->kernel_path);
	if (err)
		return err;
	/* boot.rst: initrd_addr_max is the highest address the initrd may occupy. */
	if ((uint64_t)bz.hdr.initrd_addr_max + 1 < limit)
		limit = (uint64_t)bz.hdr.initrd_addr_max + 1;
	err = load_initrd(mem, f, bz.reserved_end, limit, &info.initrd_addr, &info.initrd_size);
	if (!err)
		err = machine_set_initrd(cfg->machine, info.initrd_addr, info.initrd_size);
	if (!err && cfg->dtb)
		err = load_dtb_setup_data(mem, cfg->machine, bz.reserved_end,
					  info.initrd_size ? info.initrd_addr : limit,
					  &info.setup_data);
	if (!err)
		err = boot_params_write(mem, cfg->machine, BOOT_PARAMS_ADDR, &bz.hdr, &info);
	if (!err)
		*out = (struct boot_entry){BOOT_MODE_LINUX64, bz.entry64, BOOT_PARAMS_ADDR};
	return err;
}

static int boot_pvh(struct guest_mem *mem, const struct boot_config *cfg,
		    const struct boot_files *f, struct boot_entry *out)
{
	const uint8_t *img = f->kernel;
	size_t len = f->kernel_len;
	struct elf_kernel k;
	struct pvh_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};
	int err = elf_load(mem, img, len, cfg->kernel_path, &k);

	if (!err)
		err = write_cmdline(mem, cfg->cmdline, BOOT_CMDLINE_MAX, cfg->kernel_path);
	if (!err)
		err = load_initrd(mem, f, k.load_end, low_ram_end(mem), &info.initrd_addr,
				  &info.initrd_size);
	if (!err)
		err = machine_set_initrd(cfg->machine, info.initrd_addr, info.initrd_size);
	if (!err && cfg->dtb)
		err = load_dtb(mem, cfg->machine, 0, k.load_end,
			       info.initrd_size ? info.initrd_addr : low_ram_end(mem),
			       &info.dtb_addr, &info.dtb_size);
	if (!err)
		err = pvh_write(mem, cfg->machine, &info);
	if (!err)
		*out = (struct boot_entry){BOOT_MODE_PVH32, k.entry32, PVH_START_INFO_ADDR};
	return err;
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *out)
{
	struct boot_files own;
	const struct boot_files *f = cfg->files;
	int err;

	memset(out, 0, sizeof(*out));
	/* The MP table first: a bad CPU count fails before any file is read. */
	if (!cfg->machine)
		return -EINVAL;
	err = machine_write_mptable(cfg->machine, mem, MPTABLE_ADDR);
	if (!err && cfg->acpi)
		err = machine_write_acpi(cfg->machine, mem);
	if (err)
		return err;
	if (!f) {
		err = boot_files_open(&own, mem, cfg->kernel_path, cfg->initrd_path);
		if (err)
			return err;
		f = &own;
	}
	if (elf_detect(f->kernel, f->kernel_len))
		err = boot_pvh(mem, cfg, f, out);
	else if (bzimage_detect(f->kernel, f->kernel_len))
		err = boot_bzimage(mem, cfg, f, out);
	else {
		log_error("kernel %s: neither a bzImage nor an ELF file", f->kernel_path);
		err = -ENOEXEC;
	}
	if (f == &own)
		boot_files_close(&own);
	return err;
}
