/* A restore's working set (vmm/snapshot/working_set.h): loaded as the VM starts, or
 * recorded from the restore until PUT /vmm/working-set stops it. */
#ifndef VMM_SNAPSHOT_WORKING_SET_RESTORE_H
#define VMM_SNAPSHOT_WORKING_SET_RESTORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/snapshot/working_set.h"

struct vm;
struct snapshot_load;

/* A recording in progress: from the restore until it is stopped. */
struct ws_recording {
	bool active;
	int pagemap_fd; /* /proc/self/pagemap, opened at the restore (before any confinement) */
	char *path;	/* STATE.working-set */
	struct ws_identity id;
};

/* "STATE" + WORKING_SET_SUFFIX into out (len bytes). Returns 0 or -ENAMETOOLONG. */
int working_set_path(const char *state_path, char *out, size_t len);

/* For the VM just restored from the snapshot `l` (its state file at `state_path`; RAM mapped,
 * devices restored, no vCPU run yet): with WS_LOAD, loads STATE.working-set when it exists
 * (every page of it brought in, logged with the time it took); with WS_RECORD starts `rec`;
 * WS_OFF does nothing. The file is read and checked here; with the File backend when all its
 * pages are in the page cache (working_set_cached()), and with Uffd, they are then brought in by
 * a thread of their own ("ws-load", confined to madvise), from the end of the list
 * (working_set_prefault_from_end(); Uffd: a read of each page, which the page-fault handler
 * serves), while the restore ends and the vCPUs run: the guest does not wait for pages it may
 * not need first, and a page it touches before the thread gets there is simply faulted in by
 * the guest, with the same contents (a private copy made once, whichever comes first).
 * Otherwise (File, a page not cached) the pages are loaded here, before the vCPUs run. Returns 0,
 * or -EINVAL / -errno with the reason in err (a file that does not parse or belongs to another
 * snapshot: the restore is refused). */
int working_set_restore(struct vm *vm, const struct snapshot_load *l, const char *state_path,
			enum ws_mode mode, struct ws_recording *rec, char *err, size_t errlen);

/* Stops `rec`: the pages of vm's RAM mapped now are written to its file; *doc (a new JSON
 * object) says where and how many. Returns 0; -ENOENT when no recording runs; or -errno with
 * the reason in err. */
int working_set_record_stop(struct ws_recording *rec, const struct vm *vm, json_t **doc, char *err,
			    size_t errlen);

/* Stops the working set's loading thread, if there is one, and waits for it (vm_destroy(),
 * before guest RAM is unmapped: the loader has it called there, vm_on_destroy()). */
void working_set_loader_join(struct vm *vm);

/* Compiles ahead the loading thread's filter (sandbox_prepare()). Returns 0 or -errno. */
int working_set_prepare_filter(void);

/* Drops a recording (the VM ends). */
void working_set_recording_end(struct ws_recording *rec);

#endif
