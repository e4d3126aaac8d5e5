/* --disk vhost-user=PATH[,...] (vhost-user-blk) and --net vhost-user=PATH[,...]
 * (vhost-user-net): see dev_vhost_user.h. */
#include "vmm/descriptors/dev_vhost_user.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "virtio/vhost_user/vu_blk.h"
#include "virtio/vhost_user/vu_device.h"
#include "virtio/vhost_user/vu_net.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* The API's name space of a kind's ids: a vhost-user disk's id is a drive_id, a NIC's an
 * iface_id, shared with the in-process disks and NICs. */
static const char *id_space(enum vu_opts_kind kind)
{
	return kind == VU_OPTS_BLK ? "drive" : "iface";
}

int dev_vu_count(const struct vm_config *cfg, const struct device_desc *d)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	return c ? c->n : 0;
}

void dev_vu_truncate(struct vm_config *cfg, const struct device_desc *d, int n)
{
	struct dev_vu_cfg *c = (struct dev_vu_cfg *)device_cfg_find(cfg, d);
	if (!c || c->n < n)
		return;
	c->n = n;
	for (int i = 0; !n && device_table[i]; i++) {
		if (device_table[i] == d) {
			free(cfg->device_cfg[i]);
			cfg->device_cfg[i] = NULL;
		}
	}
}

bool dev_vu_forget(struct vm_config *cfg, const struct device_desc *d, const char *id)
{
	struct dev_vu_cfg *c = (struct dev_vu_cfg *)device_cfg_find(cfg, d);
	for (int i = 0; c && i < c->n; i++) {
		if (strcmp(c->dev[i].opts.id, id))
			continue;
		memmove(&c->dev[i], &c->dev[i + 1], (size_t)(c->n - i - 1) * sizeof(c->dev[0]));
		memset(&c->dev[--c->n], 0, sizeof(c->dev[0]));
		return true;
	}
	return false;
}

/* One device of kind `d` from its items: the limit, its options, its id and socket not another
 * device's; then appended on cfg->transport. */
static int add(const struct device_desc *d, enum vu_opts_kind kind, struct vm_config *cfg,
	       const struct opt_items *items, char *err, size_t errlen)
{
	if (dev_vu_count(cfg, d) == DEV_VU_MAX) {
		snprintf(err, errlen, "at most %d vhost-user %s", DEV_VU_MAX,
			 kind == VU_OPTS_BLK ? "disks" : "NICs");
		return -E2BIG;
	}
	struct vu_opts o;
	int r = vu_opts_from_items(items, kind, &o, err, errlen);
	if (r)
		return r;
	if (device_table_id_claimed(cfg, id_space(kind), o.id, NULL)) {
		snprintf(err, errlen, "id=%s is taken already", o.id);
		return -EINVAL;
	}
	struct device_claim other;
	if (device_table_claim_find(cfg, DEVICE_CLAIM_SOCKET, o.socket, &other)) {
		snprintf(err, errlen,
			 "vhost-user=%s: %s= uses that socket already; a back-end connection "
			 "serves one device",
			 o.socket, other.option);
		return -EINVAL;
	}
	struct dev_vu_cfg *c = device_cfg(cfg, d);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->dev[c->n].opts = o;
	c->dev[c->n].transport = cfg->transport;
	c->n++;
	return 0;
}

static int add_blk(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	return add(&device_vu_blk, VU_OPTS_BLK, cfg, items, err, errlen);
}

static int add_net(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	return add(&device_vu_net, VU_OPTS_NET, cfg, items, err, errlen);
}

static int parse_blk(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_vu_blk, cfg, arg, err, errlen);
}

static int parse_net(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_vu_net, cfg, arg, err, errlen);
}

static int count_blk(const struct vm_config *cfg)
{
	return dev_vu_count(cfg, &device_vu_blk);
}

static int count_net(const struct vm_config *cfg)
{
	return dev_vu_count(cfg, &device_vu_net);
}

/* Device i of kind `d`: its transport and options. */
static int items_of(const struct device_desc *d, enum vu_opts_kind kind,
		    const struct vm_config *cfg, int i, struct opt_items *out,
		    enum virtio_transport *t)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	*t = c->dev[i].transport;
	return vu_opts_to_items(&c->dev[i].opts, kind, out);
}

static int items_blk(const struct vm_config *cfg, int i, struct opt_items *out,
		     enum virtio_transport *t)
{
	return items_of(&device_vu_blk, VU_OPTS_BLK, cfg, i, out, t);
}

static int items_net(const struct vm_config *cfg, int i, struct opt_items *out,
		     enum virtio_transport *t)
{
	return items_of(&device_vu_net, VU_OPTS_NET, cfg, i, out, t);
}

/* Before KVM: each back-end's socket exists (the back-end creates it when it starts). One
 * device per socket, and no memory hotplug, are the claims' rules (device_claims.c). */
static int check(const struct vm_config *cfg, const struct device_desc *d, const char *option)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	struct stat st;
	for (int i = 0; c && i < c->n; i++) {
		const char *path = c->dev[i].opts.socket;
		if (stat(path, &st) < 0) {
			log_error("--%s vhost-user=%s: %s (start the vhost-user back-end first)",
				  option, path, strerror(errno));
			return -errno;
		}
		if (!S_ISSOCK(st.st_mode)) {
			log_error("--%s vhost-user=%s: not a socket", option, path);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_blk(const struct vm_config *cfg)
{
	return check(cfg, &device_vu_blk, "disk");
}

static int check_net(const struct vm_config *cfg)
{
	return check(cfg, &device_vu_net, "net");
}

/* The device's I/O thread's call fds and health timer (freed on failure). */
static int init_one(struct vm *vm, struct virtio_dev *dev)
{
	int err = virtio_dev_init(dev, &vm->mem);
	if (!err)
		err = vu_device_attach(dev);
	if (err) {
		log_error("%s %s: device init failed: %s", dev->name, vu_device_of(dev)->socket,
			  strerror(-err));
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
	}
	return err;
}

/* ... then its place on the transport. */
static int init_and_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t)
{
	int err = init_one(vm, dev);
	return err ? err : vm_virtio_place(vm, dev, t);
}

static int create(struct vm *vm, const struct device_desc *d, bool blk)
{
	const struct dev_vu_cfg *c = device_cfg_find(vm->cfg, d);
	for (int i = 0; c && i < c->n; i++) {
		struct virtio_dev *dev = NULL;
		int ms = vm_vu_timeout_ms(vm->cfg);
		int err = blk ? vu_blk_create(&dev, &c->dev[i].opts, ms)
			      : vu_net_create(&dev, &c->dev[i].opts, ms);
		if (!err)
			err = init_and_place(vm, dev, c->dev[i].transport);
		if (err)
			return err; /* logged */
	}
	return 0;
}

static int create_blk(struct vm *vm)
{
	return create(vm, &device_vu_blk, true);
}

static int create_net(struct vm *vm)
{
	return create(vm, &device_vu_net, false);
}

/* Guest RAM as a back-end must see it: every region in a file it is handed (a memfd), and no
 * memory outside them (virtio-mem's plugged blocks are private). */
static bool ram_shareable(const struct vm *vm)
{
	for (int i = 0; i < vm->mem.nregions; i++)
		if (vm->mem.regions[i].fd < 0)
			return false;
	return vm->mem.nregions > 0 && !vm->mem.hotplug.region.size;
}

int dev_vu_hot_check_ram(const struct vm *vm, const char *what, char *err, size_t errlen)
{
	/* the vCPU threads' filters allow a vhost-user device's calls only then (vcpu.c) */
	bool may_share = vm->cfg->mem_shared || device_table_shares_memory(vm->cfg);
	if (may_share && ram_shareable(vm))
		return 0;
	snprintf(err, errlen,
		 "guest RAM is private to this VMM: a %s back-end could not map it (start the "
		 "VM with --mem-shared, or with a vhost-user device, and without "
		 "--memory-hotplug)",
		 what);
	return -EINVAL;
}

/* The hot-added device's socket: there, a socket, and no other device's. */
static int hot_check_socket(const struct vm *vm, const struct vu_opts *o, char *err, size_t errlen)
{
	struct stat st;
	struct device_claim other;
	if (device_table_claim_find(vm->cfg, DEVICE_CLAIM_SOCKET, o->socket, &other)) {
		/* a back-end connection serves one device (device_claims.c's rule at boot) */
		snprintf(err, errlen,
			 "%s: the %s of %s already uses it: a back-end serves one device",
			 o->socket, other.what ? other.what : "socket",
			 other.id ? other.id : "a device");
		return -EEXIST;
	}
	if (stat(o->socket, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "vhost_socket %s: %s (start the vhost-user back-end first)",
			 o->socket, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "vhost_socket %s: not a socket", o->socket);
		return -EINVAL;
	}
	return 0;
}

int dev_vu_hot_create(struct vm *vm, const struct opt_items *record, bool blk,
		      struct virtio_dev **dev, char *err, size_t errlen)
{
	struct vu_opts o;
	int r = vu_opts_from_items(record, blk ? VU_OPTS_BLK : VU_OPTS_NET, &o, err, errlen);
	if (r)
		return r < 0 ? r : -EINVAL;
	r = dev_vu_hot_check_ram(vm, blk ? "vhost-user disk's" : "vhost-user NIC's", err, errlen);
	if (!r)
		r = hot_check_socket(vm, &o, err, errlen);
	if (r)
		return r;
	/* the handshake, here on the hotplug thread, as a boot device's on the main thread */
	r = blk ? vu_blk_create(dev, &o, vm_vu_timeout_ms(vm->cfg))
		: vu_net_create(dev, &o, vm_vu_timeout_ms(vm->cfg));
	if (!r)
		r = init_one(vm, *dev);
	if (r && !err[0])
		snprintf(err, errlen, "%s", log_last_error());
	return r;
}

/* Each device's socket (a host path too), its id among the drives' or the NICs', and guest
 * RAM shared with its back-end. */
static int claims(const struct vm_config *cfg, const struct device_desc *d, enum vu_opts_kind kind,
		  device_claim_fn fn, void *opaque)
{
	bool blk = kind == VU_OPTS_BLK;
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	int r = 0;
	for (int i = 0; !r && c && i < c->n; i++) {
		const struct vu_opts *o = &c->dev[i].opts;
		struct device_claim sock = {
		    .kind = DEVICE_CLAIM_SOCKET,
		    .option = blk ? "--disk vhost-user" : "--net vhost-user",
		    .value = o->socket,
		    .what = blk ? "vhost-user disk socket" : "vhost-user NIC socket",
		    .id = o->id,
		    .access = DEVICE_PATH_READ | DEVICE_PATH_WRITE};
		struct device_claim id = {.kind = DEVICE_CLAIM_ID,
					  .option = sock.option,
					  .value = o->id,
					  .what = blk ? "a vhost-user disk" : "a vhost-user NIC",
					  .space = id_space(kind)};
		struct device_claim ram = {.kind = DEVICE_CLAIM_SHARED_RAM,
					   .option =
					       blk ? "--disk vhost-user=" : "--net vhost-user="};
		r = fn(&sock, opaque);
		if (!r)
			r = fn(&id, opaque);
		if (!r)
			r = fn(&ram, opaque);
	}
	return r;
}

static int claims_blk(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	return claims(cfg, &device_vu_blk, VU_OPTS_BLK, fn, opaque);
}

static int claims_net(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	return claims(cfg, &device_vu_net, VU_OPTS_NET, fn, opaque);
}

/* --disk and --net are the in-process devices' options too (dev_disk.c, dev_net.c): these
 * entries take the arguments that start with "vhost-user=" (device_desc.takes), and --help
 * prints their usage after those options'. */
static const struct device_option blk_options[] = {
    {"disk", required_argument,
     "      --disk vhost-user=PATH[,num-queues=N][,queue-size=N][,id=NAME]\n"
     "                        a virtio-blk disk served by the vhost-user back-end on\n"
     "                        PATH (qemu-storage-daemon --export type=vhost-user-blk);\n"
     "                        size and limits from the back-end; after the disks above;\n"
     "                        guest RAM becomes a shared memfd\n",
     parse_blk},
    {NULL, 0, NULL, NULL},
};

static const struct device_option net_options[] = {
    {"net", required_argument,
     "      --net vhost-user=PATH[,mac=MAC][,id=NAME]\n"
     "                        a virtio-net NIC served by the vhost-user back-end on PATH\n"
     "                        (dpdk-testpmd, OVS-DPDK); one queue pair; after the NICs\n"
     "                        above; guest RAM becomes a shared memfd\n",
     parse_net},
    {NULL, 0, NULL, NULL},
};

/* The back-end's socket, which the device connects to. */
static const struct device_path_field vu_blk_path_fields[] = {
    {"vhost-user", DEVICE_PATH_KIND_SOCKET, "vhost-user disk socket", NULL, NULL, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths vu_blk_paths = {"id", NULL, vu_blk_path_fields};

const struct device_desc device_vu_blk = {.name = "vhost-user-blk",
					  .options = blk_options,
					  .takes = vu_opts_is_spec,
					  .check = check_blk,
					  .create = create_blk,
					  .cfg_size = sizeof(struct dev_vu_cfg),
					  .claims = claims_blk,
					  .record_count = count_blk,
					  .record_items = items_blk,
					  .hotplug = &dev_vu_blk_hotplug,
					  .record_add = add_blk,
					  .paths = &vu_blk_paths};

static const struct device_path_field vu_net_path_fields[] = {
    {"vhost-user", DEVICE_PATH_KIND_SOCKET, "vhost-user NIC socket", NULL, NULL, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths vu_net_paths = {"id", NULL, vu_net_path_fields};

const struct device_desc device_vu_net = {.name = "vhost-user-net",
					  .options = net_options,
					  .takes = vu_opts_is_spec,
					  .check = check_net,
					  .create = create_net,
					  .cfg_size = sizeof(struct dev_vu_cfg),
					  .claims = claims_net,
					  .record_count = count_net,
					  .record_items = items_net,
					  .hotplug = &dev_vu_net_hotplug,
					  .record_add = add_net,
					  .paths = &vu_net_paths};
