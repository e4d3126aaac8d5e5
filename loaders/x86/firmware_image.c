#include "loaders/x86/firmware_image.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

static int check_size(const char *path, uint64_t size)
{
	if (size >= FIRMWARE_IMAGE_ALIGN && size <= FIRMWARE_IMAGE_MAX &&
	    size % FIRMWARE_IMAGE_ALIGN == 0)
		return 0;
	log_error("--firmware %s: %llu bytes: a firmware image is whole 64 KiB blocks, from 64 KiB "
		  "to 16 MiB (SeaBIOS's bios.bin, OVMF.fd)",
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

int firmware_image_open(struct firmware_image *img, const char *path)
{
	struct stat st;
	int err, fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(img, 0, sizeof(*img));
	if (fd < 0) {
		err = -errno;
		log_error("--firmware %s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		log_error("--firmware %s: %s", path, strerror(-err));
	} else if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		log_error("--firmware %s: not a regular file", path);
	} else if (!(err = check_size(path, (uint64_t)st.st_size))) {
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
