/* Live fork: the state of a running VM captured while it is paused for a few milliseconds, and its
 * guest RAM frozen for children (docs/sandboxes.md, "Live fork").
 *
 * The guest RAM must be one memfd (--mem-shared). The fork pauses the VM, writes its device and
 * vCPU state to a state file (the snapshot format: a child restores it with PUT /snapshot/load,
 * overrides and checks included), and then maps the parent's RAM again, at the same addresses,
 * MAP_PRIVATE from the same memfd: from then on the parent's writes go to pages of its own and
 * the memfd keeps the guest's memory as it was at the pause. Children map it MAP_PRIVATE too (a
 * restore's memory file), so they share every page nobody writes, and no child sees another's
 * writes or the parent's. Then the parent runs again. Nothing is copied. */
#ifndef VMM_SNAPSHOT_FORK_H
#define VMM_SNAPSHOT_FORK_H

#include <stddef.h>
#include <stdint.h>

struct vm;

struct vm_fork_result {
	char mem_path[64]; /* where children open the frozen RAM: /proc/PID/fd/N of the memfd */
	uint64_t pause_us; /* from the pause request to the resume's end */
	uint64_t state_us; /* of which: the state written */
	uint64_t remap_us; /* of which: the parent's RAM mapped privately */
};

/* Refuses (-ENOTSUP, the reason in err) a VM that cannot be forked: RAM not one memfd, RAM
 * another process shares (vhost-user, virtio-fs), hotplugged memory, a page-fault handler's
 * memory, or one forked before (its memfd already holds the earlier fork's memory). */
int vm_fork_check(struct vm *vm, char *err, size_t errlen);

/* A disk frozen at the fork (fork_request.h, "disk_snapshots"): while the VM is paused, disk
 * `disk` (its index among the disks) leaves its file `frozen` for the qcow2 overlay at `overlay`,
 * already made over it; the file then stays as it was at the pause, for the children. */
struct vm_fork_disk {
	int disk;
	const char *overlay;
	const char *frozen;
};

/* Pauses `vm` (when it runs), collects its state, moves disks[0..ndisks) to their overlays,
 * freezes its RAM as above and resumes it if it ran; then writes the state to `state_path`
 * (after the resume, unsynced: a fork's state lives as long as its children). A failure before
 * the RAM is frozen leaves the VM as it was (a disk already moved goes back to its file); after
 * (the state file cannot be written), the VM runs on but counts as forked. Returns 0 or -errno
 * with the reason in err. */
int vm_fork_capture(struct vm *vm, const char *state_path, const struct vm_fork_disk *disks,
		    int ndisks, struct vm_fork_result *res, char *err, size_t errlen);

#endif
