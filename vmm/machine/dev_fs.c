/* --fs tag=NAME,socket=PATH[,num-queues=N,queue-size=N]: virtio-fs over vhost-user
 * (virtio/fs/fs.h). Guest RAM becomes a shared memfd when one is configured (shares_memory). */
#include "vmm/machine/dev_fs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "virtio/vhost_user/vu_frontend.h"
#include "vmm/base/log.h"
#include "vmm/machine/dev_memhp.h"
#include "vmm/machine/vm.h"
#include "vmm/machine/vm_virtio.h"

static int parse_fs(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_fs_cfg *c = device_cfg(cfg, &device_fs);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (c->n == DEV_FS_MAX) {
		snprintf(err, errlen, "at most %d shared folders", DEV_FS_MAX);
		return -EINVAL;
	}
	struct virtio_fs_opts o;
	int rc = virtio_fs_parse_opts(arg, &o, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < c->n; i++) {
		if (!strcmp(c->fs[i].opts.tag, o.tag)) {
			snprintf(err, errlen, "tag %s is given twice", o.tag);
			return -EINVAL;
		}
	}
	c->fs[c->n].opts = o;
	c->fs[c->n].transport = cfg->transport;
	c->n++;
	return 0;
}

/* Before KVM: the back-end's socket must exist (virtiofsd creates it at start). */
static int check_fs(const struct vm_config *cfg)
{
	const struct dev_fs_cfg *c = device_cfg_find(cfg, &device_fs);
	struct stat st;
	if (c && c->n && device_cfg_find(cfg, &device_memhp)) {
		/* the back-end sees only the memory table of boot RAM: buffers the guest places in
		 * plugged memory would be out of its reach */
		log_error("--fs cannot be combined with --memory-hotplug yet: hotplugged memory is "
			  "not shared with vhost-user back-ends");
		return -EINVAL;
	}
	for (int i = 0; c && i < c->n; i++) {
		const char *path = c->fs[i].opts.socket;
		if (stat(path, &st) < 0) {
			log_error("--fs tag=%s: %s: %s (start the vhost-user back-end first, e.g. "
				  "virtiofsd --socket-path=%s -o source=DIR)",
				  c->fs[i].opts.tag, path, strerror(errno), path);
			return -errno;
		}
		if (!S_ISSOCK(st.st_mode)) {
			log_error("--fs tag=%s: %s is not a socket", c->fs[i].opts.tag, path);
			return -EINVAL;
		}
	}
	return 0;
}

static int create_one(struct vm *vm, const struct virtio_fs_opts *o, enum virtio_transport t)
{
	struct virtio_dev *dev = NULL;
	int err = virtio_fs_create(&dev, o, VU_DEFAULT_TIMEOUT_MS);
	if (err)
		return err; /* logged */
	err = virtio_dev_init(dev, &vm->mem);
	if (!err)
		err = virtio_fs_attach(dev);
	if (err) {
		log_error("--fs tag=%s: device init failed: %s", o->tag, strerror(-err));
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return err;
	}
	return vm_virtio_place(vm, dev, t);
}

static int create_fs(struct vm *vm)
{
	const struct dev_fs_cfg *c = device_cfg_find(vm->cfg, &device_fs);
	for (int i = 0; c && i < c->n; i++) {
		int err = create_one(vm, &c->fs[i].opts, c->fs[i].transport);
		if (err)
			return err;
	}
	return 0;
}

static const struct device_option fs_options[] = {
    {"fs", required_argument,
     "      --fs tag=NAME,socket=PATH[,num-queues=N,queue-size=N]\n"
     "                        share a host folder over virtio-fs, served by the vhost-user\n"
     "                        back-end listening on PATH (virtiofsd --socket-path=PATH\n"
     "                        -o source=DIR); in the guest: mount -t virtiofs NAME /mnt.\n"
     "                        Repeatable; guest RAM becomes a shared memfd\n",
     parse_fs},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_fs = {.name = "fs",
				      .options = fs_options,
				      .check = check_fs,
				      .create = create_fs,
				      .cfg_size = sizeof(struct dev_fs_cfg),
				      .shares_memory = true};
