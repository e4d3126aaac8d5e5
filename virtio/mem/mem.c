/* virtio-mem (virtio 1.2 section 5.15): the device, its queue and its creation. See
 * virtio/mem/mem.h. */
#include <sys/syscall.h>

#include "virtio/mem/internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "virtio/core/serve.h"

#define REQ_BUDGET 32 /* requests per wakeup: each may be a backend call (mprotect, KVM ioctl) */

struct vmem *to_vmem(struct virtio_dev *dev)
{
	return dev->priv;
}

uint64_t vmem_usable_for(const struct vmem *m, uint64_t requested)
{
	uint64_t slot = m->opts.slot_size;
	uint64_t want = (requested + slot - 1) / slot * slot + slot; /* <= 1 TiB + slot: no wrap */

	return want < m->opts.total ? want : m->opts.total;
}

void vmem_sync_plugged(struct vmem *m)
{
	m->config.plugged_size = htole64(m->plugged * m->opts.block_size);
}

static void vmem_queue_notify(struct virtio_dev *dev, uint16_t q)
{
	struct vmem *m = to_vmem(dev);
	struct virtio_server s = {
	    .chain = &m->chain, .max_chains = REQ_BUDGET, .handle = vmem_handle};

	if (q == 0)
		virtio_serve_queue(dev, q, &s);
}

/* A new requested_size set by the API: the driver rereads the config (5.15.4). */
void virtio_mem_poll(struct virtio_dev *dev)
{
	struct vmem *m = to_vmem(dev);

	if (!m->requested_changed)
		return;
	m->requested_changed = false;
	virtio_dev_config_changed(dev);
}

static void ctl_ready(struct virtio_dev *dev, int fd, uint32_t revents)
{
	uint64_t v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("virtio-mem: read: %s", strerror(errno));
	virtio_mem_poll(dev);
}

static int vmem_activate(struct virtio_dev *dev)
{
	struct vmem *m = to_vmem(dev);

	if (!m->fd_added) {
		int err = virtio_dev_add_fd(dev, m->ctl_fd, EPOLLIN, ctl_ready);

		if (err) {
			log_error("virtio-mem: cannot watch its eventfd: %s", strerror(-err));
			return err;
		}
		m->fd_added = true;
	}
	m->requested_changed = false; /* the driver reads the config now anyway */
	vmem_queue_notify(dev, 0);
	return 0;
}

/* 5.15.5: the driver may not run without UNPLUGGED_INACCESSIBLE (the VMM makes unplugged blocks
 * inaccessible, a driver that reads them would fault). */
static bool vmem_features_ok(struct virtio_dev *dev, uint64_t features)
{
	(void)dev;
	if (features & 1ull << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE)
		return true;
	log_guest_warn("virtio-mem: the driver refused UNPLUGGED_INACCESSIBLE; device refused");
	return false;
}

static void vmem_destroy(struct virtio_dev *dev)
{
	struct vmem *m = to_vmem(dev);

	if (m->ctl_fd >= 0)
		close(m->ctl_fd);
	m->ctl_fd = -1;
	free(m->bitmap);
	m->bitmap = NULL;
}

/* No ops->reset: 5.15.5 forbids changing a block's state at a device reset, and the request in
 * service is always finished before the lock is let go. No ops->quiesce: nothing is held. */
static const struct virtio_dev_ops vmem_ops = {
    .activate = vmem_activate,
    .queue_notify = vmem_queue_notify,
    .features_ok = vmem_features_ok,
    .destroy = vmem_destroy,
    .save = vmem_save,
    .restore = vmem_restore,
    .save_size = vmem_save_size,
};

/* The VMM's plug and unplug (vmm/vm/memhp.h): KVM memory slots, releasing pages (sandbox.h).
 */
static const struct sandbox_rule vmem_rules[] = {
    SB_ALLOW(SYS_madvise),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION),
    /* beside a passed-through device, each plugged block is mapped for its DMA and unmapped
     * when unplugged (the backend's memhp_dma, vmm/vm/vm_vfio.c) */
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_IOMMU_MAP_DMA),
    SB_ARG_EQ(SYS_ioctl, 1, VFIO_IOMMU_UNMAP_DMA),
};
static const struct sandbox_list vmem_sandbox = SANDBOX_LIST("virtio-mem", vmem_rules);

bool virtio_mem_is(const struct virtio_dev *dev)
{
	return dev && dev->ops == &vmem_ops;
}

static void describe(struct vmem *m, uint64_t addr)
{
	m->config.block_size = htole64(m->opts.block_size);
	m->config.addr = htole64(addr);
	m->config.region_size = htole64(m->opts.total);
	m->config.requested_size = htole64(m->opts.requested);
	m->config.usable_region_size = htole64(vmem_usable_for(m, m->opts.requested));
	m->dev = (struct virtio_dev){
	    .name = "virtio-mem",
	    .device_id = VIRTIO_ID_MEM,
	    .host_features = VIRTIO_DEV_RING_FEATURES | 1ull << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE,
	    .num_queues = 1,
	    .queue_max_size = VIRTIO_MEM_QUEUE_SIZE,
	    .config = &m->config,
	    .config_len = sizeof(m->config),
	    .ops = &vmem_ops,
	    .sandbox = &vmem_sandbox,
	    .priv = m,
	};
}

int virtio_mem_create(struct virtio_dev **out, const struct virtio_mem_opts *o, uint64_t addr,
		      const struct virtio_mem_backend *backend)
{
	struct virtio_mem_opts chk = *o;
	struct vmem *m;
	char err[160] = "";

	if (virtio_mem_check_opts(&chk, err, sizeof(err)) == 0 &&
	    (addr % chk.block_size || addr + chk.total < addr))
		snprintf(err, sizeof(err), "not block-aligned or wrapping around");
	else if (!err[0] && (!backend || !backend->plug || !backend->unplug))
		snprintf(err, sizeof(err), "no backend");
	if (err[0]) {
		log_error("virtio-mem: bad region at 0x%llx: %s", (unsigned long long)addr, err);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->opts = chk;
	m->backend = *backend;
	m->nblocks = chk.total / chk.block_size;
	m->words = (m->nblocks + 63) / 64;
	m->bitmap = calloc(m->words, sizeof(uint64_t));
	m->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!m->bitmap || m->ctl_fd < 0) {
		int e = m->bitmap ? -errno : -ENOMEM;

		m->dev.priv = m;
		vmem_destroy(&m->dev);
		free(m);
		return e;
	}
	describe(m, addr);
	*out = &m->dev;
	return 0;
}
