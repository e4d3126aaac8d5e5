#include "loaders/x86/firmware_image.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"

static int check_size(const char *path, uint64_t size, uint64_t below)
{
	uint64_t all = size + below; /* the flash: the image, and the variable store below it */

	if (size >= FIRMWARE_FLASH_BLOCK && size % FIRMWARE_FLASH_BLOCK == 0 &&
	    (below || size % FIRMWARE_IMAGE_ALIGN == 0) && all >= FIRMWARE_IMAGE_ALIGN &&
	    all <= FIRMWARE_IMAGE_MAX && all % FIRMWARE_IMAGE_ALIGN == 0)
		return 0;
	if (below)
		log_error(
		    "--firmware %s: %llu bytes, with %llu of --firmware-vars below it: the two "
		    "are whole 64 KiB blocks together, up to 16 MiB (OVMF_CODE_4M.fd with "
		    "a copy of OVMF_VARS_4M.fd, OVMF_CODE.fd with one of OVMF_VARS.fd: a "
		    "code image and a variable store of the same build)",
		    path, (unsigned long long)size, (unsigned long long)below);
	else
		log_error(
		    "--firmware %s: %llu bytes: a firmware image is whole 64 KiB blocks, from "
		    "64 KiB to 16 MiB (SeaBIOS's bios.bin, OVMF.fd)",
		    path, (unsigned long long)size);
	return -EINVAL;
}

/* Reads all `size` bytes of `fd` into `dst`. */
static int read_all(int fd, uint8_t *dst, uint64_t size)
{
	for (uint64_t done = 0; done < size;) {
		ssize_t n = pread(fd, dst + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* a file that shrank under us */
		done += (uint64_t)n;
	}
	return 0;
}

int firmware_image_open(struct firmware_image *img, const char *path, uint64_t below)
{
	struct stat st;
	char why[HOST_PATH_ERR_MAX];
	int err, fd = host_path_open(path, O_RDONLY, 0, HOST_PATH_REGULAR, why, sizeof(why));

	memset(img, 0, sizeof(*img));
	if (fd < 0) {
		log_error("--firmware %s", why);
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		log_error("--firmware %s: %s", path, strerror(-err));
	} else if (!(err = check_size(path, (uint64_t)st.st_size, below))) {
		/* a private anonymous copy: the guest sees it read-only, the file may change */
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			err = -errno;
		} else {
			img->host = p;
			img->size = (uint64_t)st.st_size;
			img->gpa = FIRMWARE_TOP - img->size;
			if ((err = read_all(fd, img->host, img->size)))
				log_error("--firmware %s: %s", path, strerror(-err));
		}
	}
	close(fd);
	if (err)
		firmware_image_free(img);
	return err;
}

int firmware_image_shadow(const struct firmware_image *img, const struct guest_mem *mem)
{
	uint64_t n = img->size <= FIRMWARE_SHADOW_MAX ? img->size : FIRMWARE_SHADOW_ALIAS;

	/* the image's end at 1 MiB: a 64 KiB image fills 0xF0000-0xFFFFF */
	return guest_mem_write(mem, FIRMWARE_SHADOW_END - n, img->host + img->size - n, n);
}

void firmware_image_free(struct firmware_image *img)
{
	if (img->host)
		munmap(img->host, img->size);
	memset(img, 0, sizeof(*img));
}
