/* --disk vhost-user=PATH[,...] (vhost-user-blk) and --net vhost-user=PATH[,...]
 * (vhost-user-net): see dev_vhost_user.h. */
#include "vmm/descriptors/dev_vhost_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "virtio/vhost_user/vu_blk.h"
#include "virtio/vhost_user/vu_device.h"
#include "virtio/vhost_user/vu_net.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_fs.h"
#include "vmm/descriptors/dev_memhp.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* An id given twice (the API finds a device by its id), among the in-process devices of the
 * same kind too. */
static bool id_taken(const struct vm_config *cfg, const struct dev_vu_cfg *c, const char *id,
		     bool blk)
{
	for (int i = 0; id[0] && i < c->n; i++)
		if (!strcmp(c->dev[i].opts.id, id))
			return true;
	if (blk)
		return dev_disk_find_id(cfg, id) >= 0;
	for (int i = 0; id[0] && i < dev_net_count(cfg); i++)
		if (!strcmp(dev_net_opts(cfg, i)->id, id))
			return true;
	return false;
}

bool dev_vu_blk_id_taken(const struct vm_config *cfg, const char *id)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, &device_vu_blk);
	for (int i = 0; c && id[0] && i < c->n; i++)
		if (!strcmp(c->dev[i].opts.id, id))
			return true;
	return false;
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

/* Every vhost-user socket of the VM, with the option that gave it: a back-end connection
 * serves one device, so no two may share one. */
struct vu_socket {
	const char *path, *option;
};

static int all_sockets(const struct vm_config *cfg, struct vu_socket *out)
{
	int n = 0;
	const struct dev_vu_cfg *b = device_cfg_find(cfg, &device_vu_blk);
	const struct dev_vu_cfg *nic = device_cfg_find(cfg, &device_vu_net);
	const struct dev_fs_cfg *fs = device_cfg_find(cfg, &device_fs);
	for (int i = 0; b && i < b->n; i++)
		out[n++] = (struct vu_socket){b->dev[i].opts.socket, "--disk vhost-user"};
	for (int i = 0; nic && i < nic->n; i++)
		out[n++] = (struct vu_socket){nic->dev[i].opts.socket, "--net vhost-user"};
	for (int i = 0; fs && i < fs->n; i++)
		out[n++] = (struct vu_socket){fs->fs[i].opts.socket, "--fs socket"};
	return n;
}

#define VU_SOCKETS_MAX (2 * DEV_VU_MAX + DEV_FS_MAX)

/* The option of another vhost-user device on `path` (the same string), else NULL. */
static const char *socket_taken(const struct vm_config *cfg, const char *path)
{
	struct vu_socket s[VU_SOCKETS_MAX];
	int n = all_sockets(cfg, s);
	for (int i = 0; i < n; i++)
		if (!strcmp(s[i].path, path))
			return s[i].option;
	return NULL;
}

/* Two sockets are one when their names are, or they are the same file (another spelling). */
static bool same_socket(const char *a, const char *b)
{
	struct stat sa, sb;
	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Before KVM, every kind at once (a --fs may come after the disk that shares its socket). */
static int sockets_unique(const struct vm_config *cfg)
{
	struct vu_socket s[VU_SOCKETS_MAX];
	int n = all_sockets(cfg, s);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (same_socket(s[i].path, s[j].path)) {
				log_error("%s=%s and %s=%s: the same vhost-user socket; a back-end "
					  "connection serves one device, give each its own",
					  s[i].option, s[i].path, s[j].option, s[j].path);
				return -EINVAL;
			}
	return 0;
}

static int parse(const struct device_desc *d, enum vu_opts_kind kind, struct vm_config *cfg,
		 const char *arg, char *err, size_t errlen)
{
	struct dev_vu_cfg *c = device_cfg(cfg, d);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (c->n == DEV_VU_MAX) {
		snprintf(err, errlen, "at most %d vhost-user %s", DEV_VU_MAX,
			 kind == VU_OPTS_BLK ? "disks" : "NICs");
		return -E2BIG;
	}
	struct vu_opts o;
	int r = vu_opts_parse(arg, kind, &o, err, errlen);
	if (r)
		return r;
	if (id_taken(cfg, c, o.id, kind == VU_OPTS_BLK)) {
		snprintf(err, errlen, "id=%s is taken already", o.id);
		return -EINVAL;
	}
	const char *other = socket_taken(cfg, o.socket);
	if (other) {
		snprintf(err, errlen,
			 "vhost-user=%s: %s= uses that socket already; a back-end connection "
			 "serves one device",
			 o.socket, other);
		return -EINVAL;
	}
	c->dev[c->n].opts = o;
	c->dev[c->n].transport = cfg->transport;
	c->n++;
	return 0;
}

int dev_vu_blk_parse(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return parse(&device_vu_blk, VU_OPTS_BLK, cfg, arg, err, errlen);
}

int dev_vu_net_parse(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return parse(&device_vu_net, VU_OPTS_NET, cfg, arg, err, errlen);
}

/* Before KVM: each back-end's socket exists (the back-end creates it when it starts), and no
 * memory hotplug (the back-end sees only the memory table of boot RAM: buffers the guest places
 * in plugged memory would be out of its reach). */
static int check(const struct vm_config *cfg, const struct device_desc *d, const char *option)
{
	const struct dev_vu_cfg *c = device_cfg_find(cfg, d);
	struct stat st;
	if (c && c->n && device_cfg_find(cfg, &device_memhp)) {
		log_error(
		    "--%s vhost-user= cannot be combined with --memory-hotplug yet: hotplugged "
		    "memory is not shared with vhost-user back-ends",
		    option);
		return -EINVAL;
	}
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
	int err = sockets_unique(cfg); /* here once, for every kind */
	return err ? err : check(cfg, &device_vu_blk, "disk");
}

static int check_net(const struct vm_config *cfg)
{
	return check(cfg, &device_vu_net, "net");
}

/* The device's I/O thread's call fds and health timer, then its place on the transport. */
static int init_and_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t)
{
	int err = virtio_dev_init(dev, &vm->mem);
	if (!err)
		err = vu_device_attach(dev);
	if (err) {
		log_error("%s %s: device init failed: %s", dev->name, vu_device_of(dev)->socket,
			  strerror(-err));
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	return vm_virtio_place(vm, dev, t);
}

static int create(struct vm *vm, const struct device_desc *d, bool blk)
{
	const struct dev_vu_cfg *c = device_cfg_find(vm->cfg, d);
	for (int i = 0; c && i < c->n; i++) {
		struct virtio_dev *dev = NULL;
		int err = blk ? vu_blk_create(&dev, &c->dev[i].opts, VU_DEFAULT_TIMEOUT_MS)
			      : vu_net_create(&dev, &c->dev[i].opts, VU_DEFAULT_TIMEOUT_MS);
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

/* No options of their own: --disk and --net (dev_disk.c, dev_net.c) hand "vhost-user=" here;
 * their usage text is in those options' help. */
static const struct device_option no_options[] = {{NULL, 0, NULL, NULL}};

const struct device_desc device_vu_blk = {.name = "vhost-user-blk",
					  .options = no_options,
					  .check = check_blk,
					  .create = create_blk,
					  .cfg_size = sizeof(struct dev_vu_cfg),
					  .shares_memory = true};

const struct device_desc device_vu_net = {.name = "vhost-user-net",
					  .options = no_options,
					  .check = check_net,
					  .create = create_net,
					  .cfg_size = sizeof(struct dev_vu_cfg),
					  .shares_memory = true};
