/* Which host resources a restored configuration may reach: the one rule for `vmm --restore`, PUT
 * /snapshot/load and a migration's destination (docs/snapshots.md, "What a restore may open").
 *
 * A snapshot's state file (and a migration stream) carries the options and the devices' records
 * its VM was built from, and a restore replays them (vmm/snapshot/vm_snapshot.h). They name host
 * paths (disk images, pmem files, the console file, the screenshot, the vsock socket, vhost-user
 * and virtio-fs sockets, an input script: the path fields of the devices' records,
 * vmm/descriptors/device_paths.h; the firmware and its log: the
 * core's options that vmm/cli/cli.h declares CLI_PATH_ARG) and taps. The file is hostile input,
 * so none of them is taken on its word: after the replay (parsing opens nothing) and before
 * anything is opened, each must be
 *   - under the snapshot's own folder (the folder of its state file: what the operator named),
 *   - or named by the operator for this restore (an override: --disk PATH,id=ID and --net
 *     tap=NAME with --restore; drive_overrides, vsock_override and network_overrides in PUT
 *     /snapshot/load), exactly that path or tap,
 *   - or inside the process's --landlock-rules with the access the device needs (ro: a
 *     read-only disk or pmem file, an input script; rw: anything),
 * else the restore is refused with one line naming the path and what would allow it. A tap is
 * allowed only when the operator gave a tap for that NIC (the same name or another); a
 * migration (no snapshot folder) takes the taps its source names, as its source is a VMM the
 * operator connected to (docs/migration.md). The kernel and initrd a configuration records
 * are never opened by a restore and are not checked (CLI_PATH_BOOT); a passed-through host
 * device (its claim DEVICE_CLAIM_PINNED_RAM, or an option declared CLI_PATH_REFUSED) is always
 * refused.
 *
 * Paths are compared lexically (like Landlock's rule check, host/sandbox/landlock.h): relative
 * ones against the working directory the process started in, "." and repeated "/" dropped,
 * and any ".." component refused. Symbolic links are not resolved here: a restore confines the
 * snapshot's folder (host_path_confine(), base/host_path.h rule 6) before it opens its state
 * file, so every later open of a path beneath the folder follows no link inside it. */
#ifndef VMM_RESTORE_PATHS_H
#define VMM_RESTORE_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/cli/cli.h"

/* What a device does with a path (bits). */
enum {
	RESTORE_READ = 1u,   /* reads it */
	RESTORE_WRITE = 2u,  /* writes it (or connects to a socket there) */
	RESTORE_CREATE = 4u, /* creates or replaces it (a file, a listening socket) */
};

/* One host resource a configuration names. */
struct restore_resource {
	const char *what; /* "disk", "console file", "tap", ... */
	const char *id;	  /* the device's name where it has one ("drive0", "net1"), else "" */
	const char *name; /* the path, or the tap's name */
	/* The record's item that names it ("path", "uds": device_desc.paths), or NULL: a core
	 * option's argument. */
	const char *item;
	unsigned access; /* RESTORE_* bits; 0 for a tap */
	bool tap;
	/* A host resource no snapshot may name (a passed-through device): always refused. */
	bool refused;
	/* How the operator allows it besides the folder and --landlock-rules, or NULL. */
	const char *hint;
};

/* What the operator allowed. */
struct restore_allow {
	const char *dir;	  /* the snapshot's folder, or NULL (a migration) */
	const char *rules;	  /* the process's --landlock-rules, or NULL */
	const char *const *paths; /* paths an override named for this restore */
	int npaths;
	const char *const *taps; /* taps an override named for this restore */
	int ntaps;
	bool any_tap; /* a migration: the source's taps are taken */
};

/* Remembers the working directory relative paths are taken from, once (later calls do nothing):
 * host_path_init(), which cli_parse() calls before any thread is confined (confined threads may
 * not call getcwd()). Returns 0 or -errno. Until then a relative path is allowed only against a
 * relative folder or rule. */
int restore_paths_init(void);

/* Every resource of `cfg` checked against `a`. Returns 0, or -EACCES with one line in err naming
 * the first refused resource and how to allow it (-EINVAL for a malformed --landlock-rules). */
int restore_paths_check(const struct vm_config *cfg, const struct restore_allow *a, char *err,
			size_t errlen);

#endif
