/* The virtio-pmem devices' guest windows. See dev_pmem_window.h. */
#include "vmm/descriptors/dev_pmem_window.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/layout.h"
#include "vmm/descriptors/dev_pmem.h"
#include "vmm/vm/pmem_file.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

static struct {
	struct vm *vm;
	struct window {
		bool used;
		char id[DEV_PMEM_ID_MAX];
		struct pmem_file file;
		uint64_t gpa;
		struct virtio_dev *dev; /* owned by its transport */
	} w[DEV_PMEM_MAX];
} wins;

int pmem_windows_begin(struct vm *vm)
{
	if (wins.vm && wins.vm != vm)
		return -EBUSY;
	if (!wins.vm) {
		memset(&wins, 0, sizeof(wins));
		wins.vm = vm;
	}
	return 0;
}

void pmem_windows_end(struct vm *vm)
{
	if (wins.vm != vm)
		return;
	for (int k = 0; k < DEV_PMEM_MAX; k++)
		if (wins.w[k].used)
			pmem_file_close(&wins.w[k].file);
	memset(&wins, 0, sizeof(wins));
}

int pmem_window_free(void)
{
	for (int k = 0; k < DEV_PMEM_MAX; k++)
		if (!wins.w[k].used)
			return k;
	return -1;
}

int pmem_window_find(const char *id)
{
	for (int k = 0; k < DEV_PMEM_MAX; k++)
		if (wins.w[k].used && !strcmp(wins.w[k].id, id))
			return k;
	return -1;
}

struct virtio_dev *pmem_window_dev(int k)
{
	return k >= 0 && k < DEV_PMEM_MAX && wins.w[k].used ? wins.w[k].dev : NULL;
}

uint64_t pmem_window_gpa(int k)
{
	return k >= 0 && k < DEV_PMEM_MAX && wins.w[k].used ? wins.w[k].gpa : 0;
}

/* Window k's KVM slot over [gpa, gpa + size) of `host` (size 0 deletes it). */
static int set_slot(struct vm *vm, int k, uint64_t gpa, uint64_t size, void *host, bool ro)
{
	struct kvm_userspace_memory_region r = {
	    .slot = DEV_PMEM_FIRST_SLOT + (uint32_t)k,
	    .flags = ro && size ? KVM_MEM_READONLY : 0,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (vm->kvm.vm_fd < 0)
		return 0; /* vm_describe(): no KVM */
	return kvm_ioctl(vm->kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* Where the windows start: after the RAM and the region another device claims above it (the
 * virtio-mem region). */
static uint64_t windows_start(const struct vm_config *cfg)
{
	struct device_claim above = {0};

	device_table_claim_find(cfg, DEVICE_CLAIM_GUEST_RANGE, NULL, &above);
	return layout_pmem_start(cfg->mem_size, above.base, above.size);
}

/* The open window that [gpa, gpa + size) overlaps, or -1. */
static int overlap(uint64_t gpa, uint64_t size)
{
	for (int k = 0; k < DEV_PMEM_MAX; k++) {
		const struct window *w = &wins.w[k];
		if (w->used && gpa < w->gpa + w->file.size && w->gpa < gpa + size)
			return k;
	}
	return -1;
}

/* The lowest 2 MiB-aligned address from the windows' start where `size` bytes overlap no open
 * window (boot windows are opened in order, so each lands right after the one before), or 0
 * when none is below LAYOUT_MEM_MAX. */
static uint64_t first_fit(const struct vm_config *cfg, uint64_t size)
{
	uint64_t gpa = windows_start(cfg);
	for (int k; (k = overlap(gpa, size)) >= 0;)
		gpa = layout_align_up(wins.w[k].gpa + wins.w[k].file.size, LAYOUT_PMEM_ALIGN);
	return gpa + size <= LAYOUT_MEM_MAX ? gpa : 0;
}

/* The address the window of `size` bytes gets (`want`: the one it had, a restore's), 0 with
 * the reason in err. */
static uint64_t place(const struct vm_config *cfg, uint64_t want, uint64_t size, char *err,
		      size_t errlen)
{
	if (!want) {
		uint64_t gpa = first_fit(cfg, size);
		if (!gpa)
			snprintf(err, errlen,
				 "no room for %llu bytes below 1 TiB of guest addresses",
				 (unsigned long long)size);
		return gpa;
	}
	if (want % LAYOUT_PMEM_ALIGN || want < windows_start(cfg) || want + size > LAYOUT_MEM_MAX ||
	    overlap(want, size) >= 0) {
		snprintf(err, errlen,
			 "its window at 0x%llx (%llu bytes) does not fit this VM's guest addresses "
			 "(another window or the RAM has them)",
			 (unsigned long long)want, (unsigned long long)size);
		return 0;
	}
	return want;
}

/* The device over window k's mapping (its own descriptor of the file, for FLUSH). */
static int make_device(struct window *w, const struct virtio_pmem_opts *o, struct virtio_dev **dev,
		       char *err, size_t errlen)
{
	int fd = dup(w->file.fd);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		return -errno;
	}
	int rc = virtio_pmem_create(dev, fd, w->gpa, w->file.size, w->file.read_only);
	if (rc) {
		snprintf(err, errlen, "%s: cannot create the device: %s", o->path, strerror(-rc));
		return rc;
	}
	rc = virtio_pmem_set_rate_limiter(*dev, &o->rl);
	if (rc) {
		snprintf(err, errlen, "%s: bad rate limiter", o->path);
		virtio_dev_destroy(*dev);
		vm_virtio_dev_free(*dev);
		*dev = NULL;
	}
	return rc;
}

int pmem_window_open(struct vm *vm, int k, const char *id, const struct virtio_pmem_opts *o,
		     uint64_t gpa, uint64_t size, struct virtio_dev **dev, uint64_t *gpa_out,
		     char *err, size_t errlen)
{
	struct window *w = &wins.w[k];
	int rc = pmem_file_open(&w->file, o->path, o->read_only, err, errlen);
	if (rc)
		return rc;
	if (size && size != w->file.size) {
		snprintf(err, errlen, "size: %s has %llu bytes, not %llu (the window is the file)",
			 o->path, (unsigned long long)w->file.size, (unsigned long long)size);
		pmem_file_close(&w->file);
		return -EINVAL;
	}
	w->gpa = place(vm->cfg, gpa, w->file.size, err, errlen);
	if (!w->gpa) {
		pmem_file_close(&w->file);
		return -ENOSPC;
	}
	if ((rc = pmem_file_map(&w->file)) ||
	    (rc = set_slot(vm, k, w->gpa, w->file.size, w->file.host, w->file.read_only))) {
		snprintf(err, errlen, "cannot map %s: %s", o->path, strerror(-rc));
		pmem_file_close(&w->file);
		return rc;
	}
	w->used = true;
	snprintf(w->id, sizeof(w->id), "%s", id);
	rc = make_device(w, o, dev, err, errlen);
	if (rc) {
		pmem_window_close(vm, k);
		return rc;
	}
	w->dev = *dev;
	if (gpa_out)
		*gpa_out = w->gpa;
	return 0;
}

void pmem_window_close(struct vm *vm, int k)
{
	struct window *w = &wins.w[k];
	if (!w->used)
		return;
	/* KVM lets go of the pages first (the guest released the device: nothing maps them) */
	int rc = set_slot(vm, k, w->gpa, 0, NULL, false);
	if (rc) /* the mapping must stay: KVM may still map its pages */
		w->file.host = NULL;
	pmem_file_close(&w->file);
	*w = (struct window){0};
}
