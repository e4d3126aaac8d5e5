/* Live fork: pause, state file, the parent's RAM made private over the frozen memfd, resume
 * (fork.h). */
#include "vmm/snapshot/fork.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/host_path.h"
#include "base/log.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pause.h"

int vm_fork_check(struct vm *vm, char *err, size_t errlen)
{
	const struct guest_mem *mem = &vm->mem;
	const char *why = NULL;
	if (vm->uffd)
		why = "its RAM is served by a page-fault handler";
	else if (mem->nregions == 0 || mem->regions[0].fd < 0)
		why = "its RAM is private: start it with --mem-shared (RAM in one memfd)";
	else if (!mem->shared)
		why = "it was forked before: its memfd holds that fork's memory (a VM forks once; "
		      "start a new template to fork again)";
	else if (device_table_shares_memory(vm->cfg))
		why = "another process maps its RAM (a vhost-user or virtio-fs back-end), whose "
		      "writes the children would see";
	else if (device_table_unsaveable(vm->cfg))
		why = device_table_unsaveable(vm->cfg);
	else if (mem->hotplug.region.size)
		why = "it has hotpluggable memory (--memory-hotplug), which is not in the memfd";
	if (why)
		snprintf(err, errlen, "this VM cannot be forked: %s", why);
	return why ? -ENOTSUP : 0;
}

/* The parent's RAM mapped again MAP_PRIVATE from its memfd at the same addresses: its next
 * writes are copies of its own, the memfd stays as it is now. KVM's memory slots keep their
 * host addresses; the mmap's MMU notifier drops KVM's mappings of the old pages, so the vCPUs
 * fault the new ones in. Paused VM only (no device or vCPU writes meanwhile). */
static int make_private(struct guest_mem *mem, char *err, size_t errlen)
{
	for (int i = 0; i < mem->nregions; i++) {
		struct guest_region *r = &mem->regions[i];
		void *p = mmap(r->host, r->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, r->fd, (off_t)r->fd_offset);
		if (p == MAP_FAILED) {
			/* a failed MAP_FIXED may have unmapped the range: the VM cannot go on */
			snprintf(err, errlen, "cannot map guest RAM privately: %s",
				 strerror(errno));
			return -errno;
		}
	}
	/* a discard must now drop the parent's copy (MADV_DONTNEED), never punch the memfd */
	mem->shared = false;
	return 0;
}

/* The state file, written whole under a temporary name and renamed (a child never reads half
 * of one), without fsync: it lives as long as the children it is for (a host crash ends them
 * too), and a sync costs the children's start ~10 ms. */
static int write_state(struct snap_writer *w, const char *path, char *err, size_t errlen)
{
	const uint8_t *bytes;
	size_t len, done = 0;
	char tmp[PATH_MAX], why[HOST_PATH_ERR_MAX];
	if (snap_writer_finish(w, &bytes, &len)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	int fd = host_path_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600,
				HOST_PATH_REGULAR, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "%s", why);
		return fd;
	}
	while (done < len) {
		ssize_t n = write(fd, bytes + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	int r = done == len ? 0 : -EIO;
	if (close(fd) && !r)
		r = -errno;
	if (r) {
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot write the state: %s", path, strerror(-r));
		return r;
	}
	/* only over a regular file or nothing (base/host_path.h rule 7) */
	r = host_path_replace_commit(tmp, path, why, sizeof(why));
	if (r)
		snprintf(err, errlen, "cannot write the state: %s", why);
	return r;
}

/* Paused: each frozen disk (the drives' device: device_save_fork_move()) moved to its overlay,
 * the requests in flight ending on the old file first. On a failure the disks moved so far go
 * back to their files (their overlays were not written: the VM is paused). */
static int move_disks(struct vm *vm, const struct vm_fork_disk *d, int n, char *err, size_t errlen)
{
	char why[LOG_LAST_ERROR_MAX]; /* what the log said of it */
	for (int i = 0; i < n; i++) {
		int r =
		    device_save_fork_move(vm, "drives", d[i].disk, d[i].overlay, why, sizeof(why));
		if (!r)
			continue;
		snprintf(err, errlen, "cannot move the parent's disk to %s: %s", d[i].overlay, why);
		while (i-- > 0)
			if (device_save_fork_return(vm, "drives", d[i].disk, d[i].frozen))
				log_error("fork: disk %d stays on %s", d[i].disk, d[i].overlay);
		return r;
	}
	return 0;
}

/* Paused: the state into `w` (memory), the disks moved, the RAM made private; then the VM runs
 * again if it ran. Only then is the state written to its file: no disk wait inside the pause. */
int vm_fork_capture(struct vm *vm, const char *state_path, const struct vm_fork_disk *disks,
		    int ndisks, struct vm_fork_result *res, char *err, size_t errlen)
{
	struct snap_writer w;
	int r = vm_fork_check(vm, err, errlen);
	if (!r && (r = snap_writer_init(&w)))
		snprintf(err, errlen, "out of memory");
	if (r)
		return r;
	memset(res, 0, sizeof(*res));
	snprintf(res->mem_path, sizeof(res->mem_path), "/proc/%d/fd/%d", (int)getpid(),
		 vm->mem.regions[0].fd);
	bool was_paused = vm_is_paused(vm), remap_failed = false;
	uint64_t t0 = mono_us();
	r = vm_pause_capturing(vm); /* the vCPUs save their state in parallel */
	if (r)
		snprintf(err, errlen, "cannot pause the VM: %s", strerror(-r));
	uint64_t t1 = mono_us();
	if (!r)
		r = vm_snapshot_collect(vm, &w, err, errlen);
	if (!r)
		r = move_disks(vm, disks, ndisks, err, errlen);
	uint64_t t2 = mono_us();
	if (!r) {
		r = make_private(&vm->mem, err, errlen);
		remap_failed = r != 0;
	}
	if (!r && vm->cfg->hugepages)
		guest_mem_advise_hugepages(&vm->mem);
	uint64_t t3 = mono_us();
	if (!was_paused && !remap_failed) /* RAM half-mapped: the guest must not run on it */
		vm_resume(vm);
	res->pause_us = mono_us() - t0;
	res->state_us = t2 - t1;
	res->remap_us = t3 - t2;
	if (!r)
		r = write_state(&w, state_path, err, errlen);
	snap_writer_free(&w);
	if (!r)
		log_info("fork: state %s, memory %s; paused %llu us (state %llu us, remap %llu us)",
			 state_path, res->mem_path, (unsigned long long)res->pause_us,
			 (unsigned long long)res->state_us, (unsigned long long)res->remap_us);
	return r;
}
