/* A virtio-pmem backing file. See vmm/vm/pmem_file.h. */
#include "vmm/vm/pmem_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/layout.h"

int pmem_file_open(struct pmem_file *f, const char *path, bool read_only, char *err, size_t errlen)
{
	struct stat st;
	int e;

	*f = (struct pmem_file){.fd = -1, .read_only = read_only};
	/* host_path_open(): a FIFO, a device or a file of /proc is refused at once */
	f->fd =
	    host_path_open(path, read_only ? O_RDONLY : O_RDWR, 0, HOST_PATH_REGULAR, err, errlen);
	if (f->fd < 0) {
		e = f->fd;
		f->fd = -1;
		return e;
	}
	if (fstat(f->fd, &st) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-e));
	} else if (st.st_size <= 0 || (uint64_t)st.st_size % LAYOUT_PMEM_ALIGN ||
		   (uint64_t)st.st_size > LAYOUT_PHYS_MAX / 2) {
		e = -EINVAL;
		snprintf(err, errlen,
			 "%s has %lld bytes: a pmem file must be a non-zero multiple of 2 MiB",
			 path, (long long)st.st_size);
	} else {
		f->size = (uint64_t)st.st_size;
		return 0;
	}
	close(f->fd);
	f->fd = -1;
	return e;
}

int pmem_file_map(struct pmem_file *f)
{
	int prot = PROT_READ | (f->read_only ? 0 : PROT_WRITE);
	void *host = mmap(NULL, f->size, prot, MAP_SHARED | MAP_NORESERVE, f->fd, 0);

	if (host == MAP_FAILED)
		return -errno;
	f->host = host;
	return 0;
}

void pmem_file_close(struct pmem_file *f)
{
	if (f->host)
		munmap(f->host, f->size);
	if (f->fd >= 0)
		close(f->fd);
	f->host = NULL;
	f->fd = -1;
}
