/* Loading and recording a restore's working set. See working_set_restore.h. */
#include "vmm/snapshot/working_set_restore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "host/sandbox/sandbox.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/vm/vm.h"

int working_set_path(const char *state_path, char *out, size_t len)
{
	int n = snprintf(out, len, "%s" WORKING_SET_SUFFIX, state_path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The load, on a thread of its own from the end of the restore: the guest runs meanwhile (see
 * working_set_restore.h). */
struct ws_loader {
	pthread_t thread;
	struct working_set ws;
	const struct guest_mem *mem;
	char *path;
	uint64_t t0;
	bool touch; /* Uffd: a read of each page, which the handler serves */
	atomic_bool stop;
};

/* Its one call besides the base list's madvise: the log line, to a log file PUT /logger set. */
static const struct sandbox_rule loader_rules[] = {SB_ALLOW(SYS_write)};
static const struct sandbox_list loader_sandbox = SANDBOX_LIST("ws-load", loader_rules);

int working_set_prepare_filter(void)
{
	const struct sandbox_list *lists[] = {&loader_sandbox};
	return sandbox_prepare("ws-load", lists, 1);
}

static void loaded(const char *path, int64_t n, uint64_t t0, const char *how)
{
	log_info("working set %s: %lld pages (%llu MiB) loaded in %llu us%s", path, (long long)n,
		 (unsigned long long)(n >> 8), (unsigned long long)(mono_us() - t0), how);
}

static void *loader_thread(void *arg)
{
	struct ws_loader *w = arg;
	const struct sandbox_list *lists[] = {&loader_sandbox};

	pthread_setname_np(pthread_self(), "ws-load");
	if (sandbox_enter("ws-load", lists, 1)) /* logged; the guest faults its pages in */
		return NULL;
	int64_t n = working_set_prefault_from_end(w->mem, &w->ws, w->touch, &w->stop);
	if (n < 0) /* the guest faults the rest in itself: slower, not wrong */
		log_warn("working set %s: loading the pages: %s", w->path, strerror((int)-n));
	else if (atomic_load(&w->stop))
		log_info("working set %s: %lld pages loaded when the VM stopped", w->path,
			 (long long)n);
	else
		loaded(w->path, n, w->t0, " (while the vCPUs ran)");
	return NULL;
}

static void loader_free(struct ws_loader *w)
{
	working_set_free(&w->ws);
	free(w->path);
	free(w);
}

/* Starts the loader with `ws` (taken). Returns 0, or -errno with `ws` untouched. */
static int loader_start(struct vm *vm, struct working_set *ws, const char *path, uint64_t t0,
			bool touch)
{
	struct ws_loader *w = calloc(1, sizeof(*w));
	char *copy = strdup(path);
	if (!w || !copy) {
		free(w);
		free(copy);
		return -ENOMEM;
	}
	*w = (struct ws_loader){.ws = *ws, .mem = &vm->mem, .path = copy, .t0 = t0, .touch = touch};
	atomic_init(&w->stop, false);
	/* joined first thing in vm_destroy(), before anything unmaps the RAM it touches */
	int err = -vm_on_destroy(vm, working_set_loader_join);
	if (!err)
		err = pthread_create(&w->thread, NULL, loader_thread, w);
	if (err) {
		free(copy);
		free(w);
		return -err;
	}
	*ws = (struct working_set){0};
	vm->ws_loader = w;
	return 0;
}

void working_set_loader_join(struct vm *vm)
{
	struct ws_loader *w = vm->ws_loader;
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	loader_free(w);
	vm->ws_loader = NULL;
}

/* File: the chunks the recording saw mostly written as huge private copies, first (see
 * working_set_copy_huge()); the rest of the list is loaded as before. Without pagemap (no
 * /proc) nothing is copied here. */
static int copy_huge(struct vm *vm, const struct working_set *ws, int mem_fd, const char *path,
		     char *err, size_t errlen)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return 0;
	uint64_t t0 = mono_us();
	int64_t n = working_set_copy_huge(&vm->mem, ws, mem_fd, pm);
	close(pm);
	if (n < 0) {
		snprintf(err, errlen, "working set %s: copying its written chunks: %s", path,
			 strerror((int)-n));
		return (int)n;
	}
	if (n)
		log_info("working set %s: %lld pages (%llu MiB) copied in 2 MiB chunks in %llu us",
			 path, (long long)n, (unsigned long long)(n >> 8),
			 (unsigned long long)(mono_us() - t0));
	return 0;
}

static int load(struct vm *vm, const char *path, const struct ws_identity *id, int mem_fd,
		char *err, size_t errlen)
{
	struct working_set ws;
	uint64_t t0 = mono_us();
	if (vm->mem.shared) /* the memory file copied into shared RAM: every page is in place */
		return 0;
	int r = working_set_read(path, id, &ws, err, errlen);

	if (r == -ENOENT)
		return 0; /* none recorded: a cold restore */
	if (r)
		return r;
	if (!vm->uffd && mem_fd >= 0 && (r = copy_huge(vm, &ws, mem_fd, path, err, errlen))) {
		working_set_free(&ws);
		return r;
	}
	/* File, every page in the page cache: in the background. Not cached (a snapshot not used
	 * lately): here, in large reads, as the guest's faults would otherwise queue behind the
	 * thread's reads from the other end. Uffd: in the background too, a read of each page from
	 * the end, which the handler serves while the guest runs on another CPU (a handler given
	 * the list copies it from the start meanwhile). A thread waiting for a page never outlives
	 * the handler: its watch releases the memory when the handler fails or stalls, and the
	 * faults end (vm_uffd.c). */
	bool uffd = vm->uffd != NULL;
	if ((uffd || working_set_cached(&vm->mem, &ws)) && !loader_start(vm, &ws, path, t0, uffd))
		return 0;
	if (!uffd) /* every read queued at once: the disk serves them side by side */
		working_set_readahead(&vm->mem, &ws);
	int64_t n = working_set_prefault(&vm->mem, &ws, vm->uffd != NULL);
	working_set_free(&ws);
	if (n < 0) {
		snprintf(err, errlen, "working set %s: loading the pages: %s", path,
			 strerror((int)-n));
		return (int)n;
	}
	loaded(path, n, t0, "");
	return 0;
}

/* The recording needs /proc/self/pagemap, which the VMM opens now, while the restoring thread
 * may still open files; the list is read when the recording stops. */
static int start(struct ws_recording *rec, const char *path, const struct ws_identity *id,
		 char *err, size_t errlen)
{
	working_set_recording_end(rec);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "recording a working set: /proc/self/pagemap: %s",
			 strerror(errno));
		return -errno;
	}
	rec->path = strdup(path);
	if (!rec->path) {
		close(fd);
		snprintf(err, errlen, "recording a working set: out of memory");
		return -ENOMEM;
	}
	rec->pagemap_fd = fd;
	rec->id = *id;
	rec->active = true;
	log_info("working set %s: recording until PUT /vmm/working-set stops it", path);
	return 0;
}

int working_set_restore(struct vm *vm, const struct snapshot_load *l, const char *state_path,
			enum ws_mode mode, struct ws_recording *rec, char *err, size_t errlen)
{
	char path[4096];

	if (mode == WS_OFF)
		return 0;
	if (working_set_path(state_path, path, sizeof(path))) {
		snprintf(err, errlen, "working set: the state file's path is too long");
		return -ENAMETOOLONG;
	}
	const struct ws_identity id =
	    working_set_identity(l->reader.buf, l->reader.len, vm->cfg->mem_size);
	return mode == WS_RECORD ? start(rec, path, &id, err, errlen)
				 : load(vm, path, &id, l->mem_fd, err, errlen);
}

int working_set_record_stop(struct ws_recording *rec, const struct vm *vm, json_t **doc, char *err,
			    size_t errlen)
{
	struct working_set ws;

	if (!rec->active) {
		snprintf(
		    err, errlen,
		    "no working set is being recorded (load with \"working_set\": \"record\")");
		return -ENOENT;
	}
	int r = working_set_from_pagemap(rec->pagemap_fd, &vm->mem, !vm->uffd, &ws, err, errlen);
	if (!r)
		r = working_set_write(rec->path, &ws, &rec->id, err, errlen);
	if (!r) {
		*doc = json_pack("{s:s, s:I, s:I}", "path", rec->path, "pages",
				 (json_int_t)ws.pages, "ranges", (json_int_t)ws.n);
		log_info("working set %s: %llu pages in %zu ranges recorded", rec->path,
			 (unsigned long long)ws.pages, ws.n);
	}
	working_set_free(&ws);
	working_set_recording_end(rec);
	return r;
}

void working_set_recording_end(struct ws_recording *rec)
{
	if (rec->active)
		close(rec->pagemap_fd);
	free(rec->path);
	*rec = (struct ws_recording){0};
}
