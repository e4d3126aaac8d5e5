/* The NICs' part in saving, forking and moving a VM (struct device_save): their ids, the taps a
 * migration on this host hands over, and what a snapshot keeps besides the device models: the
 * MMDS store the NICs answer with, and the MACs a restore gives them (device_save.h). */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>

#include "virtio/core/device.h"
#include "virtio/net/net.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/mmds/mmds_config.h"
#include "vmm/mmds/mmds_state.h"
#include "vmm/vm/vm.h"

/* A version-1 snapshot's --net ARG: its id=. */
static int option_id(const char *arg, char *id, size_t len)
{
	struct virtio_net_opts opts;
	char why[160];
	if (virtio_net_opts_parse(arg, &opts, why, sizeof(why)))
		return -EINVAL;
	snprintf(id, len, "%s", opts.id);
	return 0;
}

/* The single-queue taps of the in-process NICs, which the destination on this host cannot open
 * by name while this VMM holds them (handed over with TAPFD frames). */
static int host_fds(struct vm *vm, int *fds, int max)
{
	int n = 0;
	for (int i = 0; i < dev_net_count(vm->cfg) && i < max; i++)
		fds[n++] = virtio_net_tap_fd(dev_net_device(vm, i));
	return n;
}

/* A NIC given its tap as an fd cannot be reopened by name on another host (one that a
 * migration handed over keeps its name, and its record's tap=NAME). */
static int remote_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < dev_net_count(cfg); i++) {
		const struct virtio_net_opts *o = dev_net_opts(cfg, i);
		if (o->kind != VIRTIO_NET_TAPFD || o->ifname[0])
			continue;
		snprintf(err, errlen,
			 "NIC %d has its tap as tapfd=, which another host cannot open: migrate it "
			 "over a unix: socket on this host",
			 i);
		return -ENOTSUP;
	}
	return 0;
}

/* The source's tap replaces the replayed NIC's name (a single-queue tap takes one process at a
 * time): NIC i is built on the received fd, which its record still names by its tap. */
static int use_fd(struct vm_config *cfg, int i, int fd, char *err, size_t errlen)
{
	struct virtio_net_opts *o = dev_net_opts_edit(cfg, i);
	if (!o || (o->kind != VIRTIO_NET_TAP && o->kind != VIRTIO_NET_TAPFD) || o->queues > 1) {
		snprintf(err, errlen,
			 "the source handed over a tap for NIC %d, which is not a single-queue tap "
			 "NIC in its configuration",
			 i);
		return -EINVAL;
	}
	o->kind = VIRTIO_NET_TAPFD;
	o->tapfd = fd;
	return 0;
}

const struct device_save dev_net_save = {.option_id = option_id,
					 .api_id = dev_net_api_id,
					 .host_fds = host_fds,
					 .remote_check = remote_check,
					 .use_fd = use_fd,
					 .took_fd = dev_net_took_tapfd};

/* ---- what a snapshot keeps of the NICs besides their models (device_save.h) ---- */

json_t *device_save_mmds(const struct vm_config *cfg)
{
	return mmds_state_save(cfg->mmds);
}

int device_save_mmds_check(struct vm_config *cfg, const json_t *state, char *err, size_t errlen)
{
	struct mmds_config mc;
	bool has_cfg;
	int r = mmds_state_check(cfg->mmds, state, &mc, &has_cfg, err, errlen);
	for (int i = 0; !r && has_cfg && i < dev_net_count(cfg); i++) {
		struct virtio_net_opts *nic = dev_net_opts_edit(cfg, i);
		char fallback[16];
		snprintf(fallback, sizeof(fallback), "net%d", i);
		if (!mmds_config_has_iface(&mc, nic->id[0] ? nic->id : fallback))
			continue;
		nic->mmds = cfg->mmds;
		nic->mmds_ipv4 = mc.ipv4;
	}
	return r;
}

int device_save_mmds_load(const struct vm_config *cfg, const json_t *state, char *err,
			  size_t errlen)
{
	return mmds_state_load(cfg->mmds, state, err, errlen);
}

struct mac_walk {
	const bool *set;
	const uint8_t (*mac)[6];
	int n;
	int nic; /* NICs seen so far, in --net order */
};

static int apply_mac(struct virtio_dev *dev, void *opaque)
{
	struct mac_walk *m = opaque;

	if (dev->device_id != VIRTIO_ID_NET || m->nic >= m->n)
		return 0;
	if (m->set[m->nic])
		virtio_net_set_mac(dev, m->mac[m->nic]);
	m->nic++;
	return 0;
}

void device_save_set_macs(struct vm *vm, const bool *set, const uint8_t (*mac)[6], int n)
{
	struct mac_walk m = {set, mac, n, 0};
	vm_for_each_virtio_dev(vm, apply_mac, &m);
}
