/* PATCH /network-interfaces/{id} on a running NIC (struct device_live): new rx and tx rate
 * limits, or a new egress policy, written into its --net option, whose syntax (rx-bw=, rx-ops=,
 * tx-bw=, tx-ops=, egress=) is --net's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/net/egress.h"
#include "virtio/net/net.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_net.h"

int dev_net_live_record_limits(struct vm_config *cfg, int nic, const struct rate_limiter_cfg *rx,
			       const struct rate_limiter_cfg *tx)
{
	struct virtio_net_opts *o = dev_net_opts_edit(cfg, nic);

	if (!o)
		return -ENOENT;
	o->rx_rl = *rx;
	o->tx_rl = *tx;
	return 0;
}

int dev_net_live_record_egress(struct vm_config *cfg, int nic, const struct egress_rules *rules)
{
	struct virtio_net_opts *o = dev_net_opts_edit(cfg, nic);

	if (!o)
		return -ENOENT;
	o->egress = *rules;
	return 0;
}

/* A new egress policy (s->egress), swapped in whole on the transmit path. */
static int net_live_egress(struct virtio_dev *dev, struct vm_config *cfg, int nic,
			   const struct egress_rules *rules, char *err, size_t errlen)
{
	int r = virtio_net_set_egress(dev, rules);

	if (r) {
		snprintf(err, errlen,
			 "the egress policy could not be replaced (the old one stays)");
		return r;
	}
	live_record_warn(dev_net_live_record_egress(cfg, nic, rules),
			 "the network interface's egress policy");
	return 0;
}

/* Its changes: the egress policy (s->egress), or the rate limiters of both directions (s->rl,
 * s->rl_now). */
static int net_live_set(struct vm *vm, struct vm_config *cfg, int nic, struct device_live_set *s,
			char *err, size_t errlen)
{
	struct virtio_dev *dev = dev_net_device(vm, nic);

	if (!dev) {
		snprintf(err, errlen, "the network interface has no device");
		return -ENODEV;
	}
	if (s->egress)
		return net_live_egress(dev, cfg, nic, s->egress, err, errlen);
	int r = virtio_net_patch_rate_limiters(dev, s->rl[0], s->rl[1], s->rl_now[0], s->rl_now[1]);
	if (!r)
		live_record_warn(dev_net_live_record_limits(cfg, nic, s->rl_now[0], s->rl_now[1]),
				 "the network interface's rate limits");
	return r;
}

const struct device_live dev_net_live = {
    .set = net_live_set,
    .recorded = true,
};
