/* The variable store of a split UEFI firmware (see firmware_vars.h). */
#include "loaders/x86/firmware_vars.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"

/* EFI_FIRMWARE_VOLUME_HEADER's fields (PI 1.8 vol. 3, 3.2.1), little endian. */
#define FV_LENGTH	 0x20 /* UINT64 FvLength */
#define FV_SIGNATURE	 0x28 /* UINT32 "_FVH" */
#define FV_HEADER_LENGTH 0x30 /* UINT16 HeaderLength */
#define FV_HEADER_MIN	 0x48 /* through the first block map entry and its terminator */

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

int firmware_vars_check(const uint8_t *buf, uint64_t size, char *why, unsigned long whylen)
{
	if (size < FIRMWARE_VARS_MIN || size % FIRMWARE_VARS_MIN) {
		snprintf(why, whylen, "%llu bytes: a variable store is whole 4 KiB flash blocks",
			 (unsigned long long)size);
		return -EINVAL;
	}
	if (memcmp(buf + FV_SIGNATURE, "_FVH", 4)) {
		snprintf(why, whylen,
			 "no UEFI firmware volume header (no _FVH at 0x28): not a variable store "
			 "(a copy of OVMF_VARS*.fd is one)");
		return -EINVAL;
	}
	uint64_t fv = le(buf + FV_LENGTH, 8), hdr = le(buf + FV_HEADER_LENGTH, 2);
	if (hdr < FV_HEADER_MIN || hdr > size || hdr % 2) {
		snprintf(
		    why, whylen,
		    "its firmware volume header says it is %llu bytes long: a damaged variable "
		    "store",
		    (unsigned long long)hdr);
		return -EINVAL;
	}
	if (fv != size) {
		snprintf(
		    why, whylen,
		    "its firmware volume is %llu of its %llu bytes: not a variable store alone "
		    "(a whole OVMF.fd goes to --firmware, without --firmware-vars)",
		    (unsigned long long)fv, (unsigned long long)size);
		return -EINVAL;
	}
	uint16_t sum = 0;
	for (uint64_t i = 0; i < hdr; i += 2)
		sum = (uint16_t)(sum + le(buf + i, 2));
	if (sum) {
		snprintf(why, whylen,
			 "its firmware volume header's checksum does not add up: a damaged "
			 "variable store");
		return -EINVAL;
	}
	return 0;
}

int firmware_vars_open(struct firmware_vars *v, const char *path)
{
	char why[HOST_PATH_ERR_MAX];
	struct stat st;

	*v = (struct firmware_vars){.fd = -1};
	int fd = host_path_open(path, O_RDWR, 0, HOST_PATH_REGULAR, why, sizeof(why));
	if (fd < 0) {
		log_error("--firmware-vars %s", why);
		return fd;
	}
	v->fd = fd;
	char real[PATH_MAX];
	if (realpath(path, real) && !strncmp(real, "/usr/share/", 11))
		log_warn("--firmware-vars %s is a distribution's file: the guest's variables will "
			 "change it for every VM that uses it; give each VM a copy of its own",
			 path);
	if (fstat(fd, &st) < 0) {
		int err = -errno;
		log_error("--firmware-vars %s: %s", path, strerror(-err));
		firmware_vars_free(v);
		return err;
	}
	if (st.st_size < (off_t)FIRMWARE_VARS_MIN || st.st_size > (16 << 20)) {
		log_error("--firmware-vars %s: %lld bytes: a variable store is 4 KiB to 16 MiB",
			  path, (long long)st.st_size);
		firmware_vars_free(v);
		return -EINVAL;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;
		log_error("--firmware-vars %s: cannot map it: %s", path, strerror(-err));
		firmware_vars_free(v);
		return err;
	}
	v->host = p;
	v->size = (uint64_t)st.st_size;
	int err = firmware_vars_check(v->host, v->size, why, sizeof(why));
	if (err) {
		log_error("--firmware-vars %s: %s", path, why);
		firmware_vars_free(v);
	}
	return err;
}

int firmware_vars_sync(struct firmware_vars *v)
{
	/* fsync, not msync: Linux writes a shared mapping's dirty pages back with the file's (the
	 * sandboxed threads that may end a VM are allowed fsync) */
	if (v->fd >= 0 && fsync(v->fd) < 0)
		return -errno;
	return 0;
}

void firmware_vars_free(struct firmware_vars *v)
{
	if (v->host) {
		int err = firmware_vars_sync(v);
		if (err)
			log_warn("--firmware-vars: the variables may not all be on disk: %s",
				 strerror(-err));
		munmap(v->host, v->size);
	}
	if (v->fd >= 0)
		close(v->fd);
	*v = (struct firmware_vars){.fd = -1};
}
