/* PUT /vmm/fork's backend: the body checked against this VM's host resources, the VM's state
 * captured on the broker (it writes the state file) and the answer: what each child's VMM is to
 * be given (vmm/snapshot/fork.h, docs/sandboxes.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"

#include "host/sandbox/broker.h"
#include "host/sandbox/landlock.h"
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/snapshot/fork.h"
#include "vmm/snapshot/fork_request.h"

/* A disk frozen at the fork: its file (copied: the device frees its own when it moves) and how
 * the overlays over it are made. */
struct frozen {
	char path[PATH_MAX];
	uint64_t bytes;
	const char *format; /* "raw" or "qcow2" */
};

/* A frozen drive's backing_files= and backing_dirs= before the fork (put back if it fails). */
struct backing_was {
	bool on;
	char dirs[DEVICE_BACKING_DIRS_MAX];
};

struct fork_call {
	struct control *c;
	const struct fork_request *req;
	struct frozen frozen[FORK_MAX_IDS];
	struct backing_was was[FORK_MAX_IDS];
	struct vm_fork_disk disks[FORK_MAX_IDS];
	struct vm_fork_result res;
	char *err;
	size_t errlen;
};

/* A new qcow2 overlay at `path` over the frozen file f. 0 or -errno with the reason in err. */
static int make_overlay(const char *path, const struct frozen *f, char *err, size_t errlen)
{
	char why[HOST_PATH_ERR_MAX];
	int fd = host_path_open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600,
				HOST_PATH_REGULAR, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "disk snapshot: %s", why);
		return fd;
	}
	int r = device_table_fork_disk()->make_overlay(fd, f->bytes, f->path, f->format);
	if (close(fd) && !r)
		r = -errno;
	if (r) {
		unlink(path);
		snprintf(err, errlen, "disk snapshot: cannot write the overlay %s: %s", path,
			 strerror(-r));
	}
	return r;
}

/* Overlay `n` in creation order: each frozen disk's, the parent's first, then the children's. */
static const char *overlay_path(const struct fork_request *req, int n)
{
	int per = req->count + 1, s = n / per, i = n % per - 1;
	return i < 0 ? req->snaps[s].parent_path
		     : fork_child_drive_path(req, i, req->snaps[s].drive_id);
}

/* Removes the first `made` overlays (the VM was not forked: nothing uses them). */
static void remove_overlays(const struct fork_request *req, int made)
{
	while (made-- > 0)
		unlink(overlay_path(req, made));
}

/* Every frozen disk's overlays created, or none (a file that exists is not touched). */
static int make_overlays(struct fork_call *k)
{
	int total = k->req->nsnaps * (k->req->count + 1);
	for (int n = 0; n < total; n++) {
		int r = make_overlay(overlay_path(k->req, n), &k->frozen[n / (k->req->count + 1)],
				     k->err, k->errlen);
		if (r) {
			remove_overlays(k->req, n);
			return r;
		}
	}
	return 0;
}

static int fork_on_broker(void *arg)
{
	struct fork_call *k = arg;
	int r = make_overlays(k);
	if (r)
		return r;
	r = vm_fork_capture(&k->c->vm, k->req->state_path, k->disks, k->req->nsnaps, &k->res,
			    k->err, k->errlen);
	/* not forked (the RAM still shared): the disks went back to their files */
	if (r && k->c->vm.mem.shared)
		remove_overlays(k->req, k->req->nsnaps * (k->req->count + 1));
	return r;
}

/* What each frozen disk is, checked: an in-process disk (vhost-user's file is its back-end's)
 * that would read a qcow2 overlay as one (not format=raw); every overlay path writable. */
static int check_snapshots(struct control *c, struct fork_call *k, char *err, size_t errlen)
{
	for (int s = 0; s < k->req->nsnaps; s++) {
		const struct fork_disk_snapshot *d = &k->req->snaps[s];
		struct frozen *f = &k->frozen[s];
		const char *path;
		bool qcow2, raw;
		if (device_table_fork_disk()->file(&c->vm, d->disk, &path, &f->bytes, &qcow2,
						   &raw)) {
			snprintf(err, errlen, "disk_snapshots: drive %s has no in-process disk",
				 d->drive_id);
			return -ENOTSUP;
		}
		if (raw) {
			snprintf(err, errlen,
				 "disk_snapshots: drive %s has format=raw, which would read the "
				 "qcow2 overlays as raw disks: start it without format=raw",
				 d->drive_id);
			return -ENOTSUP;
		}
		char cwd[PATH_MAX] = "";
		if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
			return -errno;
		if ((size_t)snprintf(f->path, sizeof(f->path), "%s%s%s", cwd, cwd[0] ? "/" : "",
				     path) >= sizeof(f->path) ||
		    strlen(f->path) > 1023) {
			snprintf(err, errlen, "disk_snapshots: drive %s: its path is too long",
				 d->drive_id);
			return -ENAMETOOLONG;
		}
		f->format = qcow2 ? "qcow2" : "raw";
		k->disks[s] = (struct vm_fork_disk){d->disk, d->parent_path, f->path};
		for (int i = -1; i < k->req->count; i++) {
			const char *p =
			    i < 0 ? d->parent_path : fork_child_drive_path(k->req, i, d->drive_id);
			if (!p) { /* cannot happen: the request's check wants every child's */
				snprintf(err, errlen,
					 "disk_snapshots: children[%d] has no file for "
					 "drive %s",
					 i, d->drive_id);
				return -EINVAL;
			}
			if (!sandbox_landlock_allows(p, LANDLOCK_WRITE | LANDLOCK_CHANGE)) {
				snprintf(err, errlen,
					 "disk_snapshots: %s is outside what this VMM may write "
					 "(Landlock: --landlock-rules DIR:rw)",
					 p);
				return -EACCES;
			}
		}
	}
	return 0;
}

/* The folder of `path`, absolute against the working directory the process started in
 * (host_path_normalize(): lexical, and no getcwd() in this confined thread). */
static int abs_folder(const char *path, char *out, size_t len)
{
	int r = host_path_normalize(path, out, len);
	char *slash = r ? NULL : strrchr(out, '/');

	if (r)
		return r;
	if (!slash) /* no working directory was saved: the path stays relative */
		snprintf(out, len, ".");
	else
		slash[slash == out] = '\0'; /* "/f" -> "/" */
	return 0;
}

/* Frozen drive s's backing_dirs= from the fork on: its own `own`, and the frozen file's folder
 * when an overlay (the parent's or a child's) lies in another folder: the overlays name the file
 * by its absolute path, which a backing file may have only beneath the overlay's folder or a
 * listed one (virtio/blk/qcow2.h). */
static int overlay_dirs(const struct fork_call *k, int s, const char *own, char *out, size_t len,
			char *err, size_t errlen)
{
	const struct fork_disk_snapshot *d = &k->req->snaps[s];
	char base[PATH_MAX], other[PATH_MAX];
	bool elsewhere = false;
	int r = abs_folder(k->frozen[s].path, base, sizeof(base));

	for (int i = -1; !r && i < k->req->count; i++) {
		const char *p =
		    i < 0 ? d->parent_path : fork_child_drive_path(k->req, i, d->drive_id);
		r = p ? abs_folder(p, other, sizeof(other)) : 0;
		elsewhere |= p && !r && strcmp(other, base);
	}
	/* ':' separates backing_dirs' folders (virtio/blk/options.c); a comma is any other byte */
	if (!r && elsewhere && strchr(base, ':')) {
		snprintf(err, errlen,
			 "disk_snapshots: drive %s: its overlays in another folder would need "
			 "backing_dirs=%s, a folder list that cannot hold a ':': put them beside "
			 "the file",
			 d->drive_id, base);
		return -EINVAL;
	}
	int n = r ? 0
		  : snprintf(out, len, "%s%s%s", own, own[0] && elsewhere ? ":" : "",
			     elsewhere ? base : "");
	if (!r && (n < 0 || (size_t)n >= len))
		r = -ENAMETOOLONG;
	if (r)
		snprintf(err, errlen, "disk_snapshots: drive %s: backing_dirs: %s", d->drive_id,
			 strerror(-r));
	return r;
}

/* Drive `disk` follows backing files as `on` and `dirs` say: its device (the overlay it moves
 * to at the pause, vmm/snapshot/fork.c) and its configuration (the state the children start
 * from records it: their overlays are opened under the same rule). */
static int set_backing(struct control *c, int disk, bool on, const char *dirs)
{
	return device_table_fork_disk()->set_backing(c->cfg, &c->vm, disk, on, dirs);
}

/* The frozen drives' backing files as they were (the fork failed, the disks on their files). */
static void restore_backing(struct fork_call *k, int n)
{
	for (int s = 0; s < n; s++)
		if (set_backing(k->c, k->req->snaps[s].disk, k->was[s].on, k->was[s].dirs))
			log_warn("fork: drive %s keeps backing_files=on",
				 k->req->snaps[s].drive_id);
}

/* Each frozen drive goes on in a qcow2 overlay over its file: backing_files=on for it (the
 * VMM's own overlays: qcow2.h), with the file's folder listed where an overlay lies elsewhere. */
static int allow_overlays(struct fork_call *k, char *err, size_t errlen)
{
	const struct device_fork_disk *fd = device_table_fork_disk();
	char dirs[DEVICE_BACKING_DIRS_MAX];
	for (int s = 0; s < k->req->nsnaps; s++) {
		struct backing_was *was = &k->was[s];
		int r = fd->backing(k->c->cfg, k->req->snaps[s].disk, &was->on, was->dirs);
		if (!r)
			r = overlay_dirs(k, s, was->dirs, dirs, sizeof(dirs), err, errlen);
		if (!r && (r = set_backing(k->c, k->req->snaps[s].disk, true, dirs)))
			snprintf(err, errlen, "disk_snapshots: drive %s: backing files: %s",
				 k->req->snaps[s].drive_id, strerror(-r));
		if (r) {
			restore_backing(k, s + 1);
			return r;
		}
	}
	return 0;
}

/* The parent's disks are their overlays now: in its configuration (a snapshot of it opens
 * them) and in the API's model (GET /vm/config). */
static void record_snapshots(struct control *c, const struct fork_request *req)
{
	for (int s = 0; s < req->nsnaps; s++) {
		const struct fork_disk_snapshot *d = &req->snaps[s];
		device_table_fork_disk()->record_path(c->cfg, d->disk, d->parent_path);
		for (int m = 0; m < API_MAX_DRIVES; m++)
			if (c->disk_index[m] == d->disk)
				api_model_set_drive_path(&c->api.model, m, d->parent_path);
	}
}

/* {"parent_pid", "state_path", "mem_file_path", "pause_us", "state_us", "remap_us",
 *  "disk_snapshots"?: [{"drive_id", "frozen", "parent_path"}],
 *  "children": [{"api_socket", "load": the body of its PUT /snapshot/load}]} */
static json_t *answer(const struct fork_request *req, const struct vm_fork_result *res,
		      const struct frozen *frozen)
{
	json_t *kids = json_array();
	for (int i = 0; kids && i < req->count; i++) {
		json_t *load = fork_child_load_body(req, i, res->mem_path);
		if (!load || json_array_append_new(kids, json_pack("{s:s, s:o}", "api_socket",
								   req->children[i].api_socket,
								   "load", load))) {
			json_decref(kids);
			return NULL;
		}
	}
	json_t *snaps = req->nsnaps ? json_array() : NULL;
	for (int s = 0; snaps && s < req->nsnaps; s++)
		json_array_append_new(snaps,
				      json_pack("{s:s, s:s, s:s}", "drive_id",
						req->snaps[s].drive_id, "frozen", frozen[s].path,
						"parent_path", req->snaps[s].parent_path));
	return json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:o*, s:o*}", "parent_pid", (int)getpid(),
			 "state_path", req->state_path, "mem_file_path", res->mem_path, "pause_us",
			 (json_int_t)res->pause_us, "state_us", (json_int_t)res->state_us,
			 "remap_us", (json_int_t)res->remap_us, "disk_snapshots", snaps, "children",
			 kids);
}

int ctl_fork(void *ctx, const json_t *body, json_t **doc, char *err, size_t errlen)
{
	static struct fork_request req; /* large; the API's lock makes it one at a time */
	static struct fork_call k;
	struct control *c = ctx;
	struct fork_parent parent;

	k = (struct fork_call){.c = c, .req = &req, .err = err, .errlen = errlen};

	if (fork_parent_from_config(c->cfg, &parent)) {
		snprintf(err, errlen, "this VM holds too many host resources to be forked");
		return -ENOTSUP;
	}
	int r = fork_request_parse(body, &parent, &req, err, errlen);
	if (!r && ctl_refuse_for_migration(c, "a migration of this VM is running: fork it after",
					   err, errlen))
		r = -EBUSY;
	if (!r)
		r = ctl_refuse_for_cpu_hotplug(c, err, errlen); /* control_resize.c */
	if (!r)
		r = vm_fork_check(&c->vm, err, errlen);
	if (!r)
		r = check_snapshots(c, &k, err, errlen);
	if (r)
		return r;
	if (!sandbox_landlock_allows(req.state_path, LANDLOCK_WRITE | LANDLOCK_CHANGE)) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may write (Landlock: start it with "
			 "--landlock-rules DIR:rw for the fork's directory)",
			 req.state_path);
		return -EACCES;
	}
	r = allow_overlays(&k, err, errlen);
	if (r)
		return r;
	r = sandbox_broker_run(fork_on_broker, &k);
	if (r && c->vm.mem.shared) /* not forked: the disks are on their files (fork_on_broker) */
		restore_backing(&k, req.nsnaps);
	if (r)
		return r;
	record_snapshots(c, &req);
	*doc = answer(&req, &k.res, k.frozen);
	if (!*doc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
