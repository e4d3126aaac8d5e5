/* The body of PUT /vmm/fork (docs/sandboxes.md, "Live fork"), parsed and checked against the
 * parent before anything is paused or written.
 *
 * {"state_path": PATH, "count"?: N,
 *  "disk_snapshots"?: [{"drive_id": ID, "parent_path": PATH}, ...],
 *  "children": [{"api_socket": PATH, "network_overrides"?: [...], "drive_overrides"?: [...],
 *                "vsock_override"?: {"uds_path": PATH}}, ...]}
 *
 * "disk_snapshots" (ours) freezes written disks at the fork: the disk's file as it is at the
 * pause stays as it is, the parent goes on in a new qcow2 overlay at parent_path over it, and
 * each child's drive_overrides path_on_host for that drive is created as a qcow2 overlay over it
 * too (docs/sandboxes.md, "Disks"). None of those files may exist yet.
 *
 * Each child is what PUT /snapshot/load of its own VMM will be given: the overrides keep the
 * shape of that request (Firecracker's), so the restore's own checks apply to them again. Here
 * only what a restore cannot know is checked: that no child takes a host resource the parent
 * holds (a tap, a writable disk, the vsock socket, the API socket) or another child's, and that
 * every such resource of the parent is given a child's own (a tap or a writable disk shared
 * with a running parent would mix two guests' traffic or corrupt the file system). Paths are
 * compared as written (lexically); the same file under another spelling is not caught here (a
 * shared writable disk is then refused by the disks' locks when the child opens it). */
#ifndef VMM_SNAPSHOT_FORK_REQUEST_H
#define VMM_SNAPSHOT_FORK_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct vm_config;

#define FORK_MAX_CHILDREN 64 /* one request; more children: more requests */
#define FORK_MAX_HELD	  32 /* the parent's taps, disks and sockets */

/* One host resource the parent holds (from its device claims): a tap (`tap`), a disk file
 * (`write` when the guest writes it) or a socket; `option` is the device's option ("net",
 * "disk", "vsock"), `id` its API id (iface_id, drive_id: its id= or netN, driveN), "" when it
 * has none. */
struct fork_held {
	const char *option;
	const char *value;
	char id[64]; /* copied: a claim's default id lives only during the call */
	bool tap;
	bool write;
};

#define FORK_MAX_IDS 16 /* NICs, disks */

/* What the checks need of the parent. Its strings belong to the parent's configuration. */
struct fork_parent {
	const char *api_sock; /* NULL: none */
	struct fork_held held[FORK_MAX_HELD];
	int nheld;
	/* the ids overrides name: NICs (iface_id: id= or netN), disks (drive_id: id= or driveN) */
	char nics[FORK_MAX_IDS][64];
	int nnics;
	char drives[FORK_MAX_IDS][64];
	int ndrives;
};

struct fork_child {
	const char *api_socket;
	const json_t *spec; /* the child's object of the body (borrowed) */
};

/* A disk frozen at the fork: the parent's disk `disk` (its index among the disks) moves to a
 * new overlay at parent_path. */
struct fork_disk_snapshot {
	const char *drive_id;
	const char *parent_path;
	int disk;
};

struct fork_request {
	const char *state_path;
	int count;
	struct fork_child children[FORK_MAX_CHILDREN];
	struct fork_disk_snapshot snaps[FORK_MAX_IDS];
	int nsnaps;
};

/* Child `i`'s path_on_host for drive `drive_id` (its drive_overrides), or NULL. */
const char *fork_child_drive_path(const struct fork_request *req, int i, const char *drive_id);

/* The parent's taps, disks and sockets from cfg's device claims. Returns 0 or -E2BIG. */
int fork_parent_from_config(const struct vm_config *cfg, struct fork_parent *p);

/* Parses and checks `body` against `parent` into *req (which borrows body's strings). Returns
 * 0, or -EINVAL with the reason in err (a 400: nothing was started). */
int fork_request_parse(const json_t *body, const struct fork_parent *parent,
		       struct fork_request *req, char *err, size_t errlen);

/* The body of PUT /snapshot/load for child `i`: state_path, mem_path (the frozen guest RAM),
 * resume_vm true and the child's overrides. New reference; NULL when out of memory. */
json_t *fork_child_load_body(const struct fork_request *req, int i, const char *mem_path);

#endif
