/* The boot's files and what every architecture's boot puts into guest RAM the same way: the
 * kernel read and the initrd opened before the VM exists (boot_files_open()), the command line's
 * length, the initrd and the device tree placed high in RAM. The architecture's loader
 * (loaders/x86/boot.c) checks the kernel's format and does the rest (boot_load()). */
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
#include "firmware/fdt.h"
#include "loaders/boot_arch.h"

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
int boot_read_all(int fd, const char *path, void *dst, uint64_t len)
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
		err = boot_read_all(fd, path, *buf, size);
		if (err) {
			free(*buf);
			*buf = NULL;
		}
	}
	close(fd);
	*len = (size_t)size;
	return err;
}

int boot_files_open(struct boot_files *f, const struct guest_mem *mem, const char *kernel,
		    const char *initrd)
{
	int err;

	*f = (struct boot_files){.initrd_fd = -1, .kernel_path = kernel, .initrd_path = initrd};
	err = read_kernel(kernel, mem ? mem->ram_size : GUEST_RAM_MAX, &f->kernel, &f->kernel_len);
	if (!err)
		err =
		    boot_arch_check_kernel(mem, f->kernel, f->kernel_len, kernel, &f->cmdline_max);
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

int boot_load_initrd(struct guest_mem *mem, const struct boot_files *f, uint64_t floor,
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
	return dst ? boot_read_all(f->initrd_fd, f->initrd_path, dst, *size) : -EFBIG;
}

int boot_load_dtb(struct guest_mem *mem, struct machine *m, uint64_t head, uint64_t floor,
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

uint64_t boot_ram_end(const struct guest_mem *mem)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (r->gpa <= KERNEL_LOAD_ADDR && KERNEL_LOAD_ADDR - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}
