/* Firecracker's --snapshot-version and --describe-snapshot: the snapshot format version this VMM
 * writes, and the one a state file was written with. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "vmm/cli/cli.h"
#include "vmm/snapshot/format/snap_file.h"
#include "vmm/snapshot/format/snap_format.h"

/* Firecracker prints a semantic version; ours is one number, so its minor and patch are 0. */
_Static_assert(SNAP_FORMAT_VERSION == 1u, "update the string below with the format version");
const char *cli_snapshot_version(void)
{
	return "1.0.0";
}

int cli_describe_snapshot(const char *path)
{
	char err[HOST_PATH_ERR_MAX];
	int fd = host_path_open(path, O_RDONLY, 0, HOST_PATH_REGULAR, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "vmm: --describe-snapshot %s\n", err);
		return 1;
	}
	unsigned char hdr[12];
	int r = snap_pread_all(fd, hdr, sizeof(hdr), 0); /* -EINVAL: shorter */
	close(fd);
	if (r == 0 && memcmp(hdr, SNAP_MAGIC, 8) == 0) {
		unsigned v = (unsigned)hdr[8] | (unsigned)hdr[9] << 8 | (unsigned)hdr[10] << 16 |
			     (unsigned)hdr[11] << 24;
		printf("v%u.0.0\n", v);
		return 0;
	}
	if (r && r != -EINVAL)
		fprintf(stderr, "vmm: --describe-snapshot %s: cannot read: %s\n", path,
			strerror(-r));
	else
		fprintf(stderr,
			"vmm: --describe-snapshot %s: not a snapshot state file (no \"" SNAP_MAGIC
			"\" header)\n",
			path);
	return 1;
}
