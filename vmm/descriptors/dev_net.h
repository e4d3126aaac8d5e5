/* --net: virtio-net NICs (dev_net.c), their configuration block and run-time devices, and their
 * Firecracker API bodies (dev_net_api.c). NIC i is the i-th --net that is not vhost-user
 * (those are dev_vhost_user.h's). */
#ifndef VMM_DEV_NET_H
#define VMM_DEV_NET_H

#include "virtio/net/options.h"
#include "vmm/descriptors/device_table.h"

/* The configuration block (device_cfg()). */
struct dev_net_cfg {
	int n;
	struct {
		struct virtio_net_opts opts;
		enum virtio_transport transport;
		int hotplug_slot; /* a hot-added NIC's PCI slot (dev_hotplug_slot.h); 0: boot */
	} nic[VM_MAX_NICS];
};

extern const struct device_desc device_net;
/* PUT /network-interfaces/{id} and the config file's "network-interfaces" (dev_net_api.c). */
extern const struct device_api dev_net_api;

/* How many NICs `cfg` has. */
int dev_net_count(const struct vm_config *cfg);
/* NIC i's options, or NULL when `cfg` has no NIC i. */
const struct virtio_net_opts *dev_net_opts(const struct vm_config *cfg, int i);
/* The same, to change in place: the running NIC's rate limits (vmm/descriptors/dev_net_live.c), the
 * MMDS it answers (vmm/api/control_config.c, vm_snapshot.c). */
struct virtio_net_opts *dev_net_opts_edit(struct vm_config *cfg, int i);
/* Takes the NIC whose id= is `id` out of `cfg`, the later ones moving down (a hot-added NIC
 * removed: only those come after the boot NICs, whose indexes stay). */
void dev_net_forget(struct vm_config *cfg, const char *id);
/* The NIC named `id` (its id=), or -1: none ("" names none). */
int dev_net_find_id(const struct vm_config *cfg, const char *id);

/* An API body's "egress" value (dev_net_api.c): an array of --net egress= rule strings into
 * *rules (turned on; [] as ["none"]), or JSON null: *rules off (a PATCH's "no policy"). Returns
 * 0, or -EINVAL with the client's message in err; *rules is then cleared. */
int dev_net_api_parse_egress(const json_t *list, struct egress_rules *rules, char *err,
			     size_t errlen);
/* The rules as a document's "egress" (canonical text), replacing any; off: none. */
void dev_net_api_egress_json(json_t *doc, const struct egress_rules *rules);
/* NIC `nic` has the egress policy `rules` (its block's, which its record is). */
int dev_net_live_record_egress(struct vm_config *cfg, int nic, const struct egress_rules *rules);

/* NIC i's id in the API: its id=, or net<i>. */
void dev_net_api_id(const struct vm_config *cfg, int i, char *id, size_t len);

struct vm;
struct virtio_dev;
/* Boot NIC i of `cfg` (vm's configuration; on PCI, at device number `slot`) recorded as a
 * hotplug-slot= NIC from now on, as dev_disk_pin() does for a disk. 0, or -EINVAL (no NIC i). */
int dev_net_pin(struct vm_config *cfg, struct vm *vm, int i, int slot);
/* NIC i's virtio-net device in `vm` (owned by its transport), or NULL: none created. */
struct virtio_dev *dev_net_device(struct vm *vm, int i);
/* Whether NIC i's device took its tapfd= (the fd is closed with the device, or already was: a
 * device that could not be placed): a caller that handed it over must not close it. */
bool dev_net_took_tapfd(struct vm *vm, int i);

#endif
