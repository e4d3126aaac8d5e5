/* --disk: virtio-blk disks (virtio/blk/blk.h), created first so the first --disk is /dev/vda. */
#include "vmm/descriptors/dev_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/qcow2.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

static const struct dev_disk_cfg *disks_of(const struct vm_config *cfg)
{
	return device_cfg_find(cfg, &device_disk);
}

int dev_disk_count(const struct vm_config *cfg)
{
	const struct dev_disk_cfg *c = disks_of(cfg);
	return c ? c->n : 0;
}

const struct virtio_blk_opts *dev_disk_opts(const struct vm_config *cfg, int i)
{
	const struct dev_disk_cfg *c = disks_of(cfg);
	return c && i >= 0 && i < c->n ? &c->disk[i].opts : NULL;
}

struct virtio_blk_opts *dev_disk_opts_edit(struct vm_config *cfg, int i)
{
	struct dev_disk_cfg *c = disks_of(cfg) ? device_cfg(cfg, &device_disk) : NULL;
	return c && i >= 0 && i < c->n ? &c->disk[i].opts : NULL;
}

void dev_disk_forget(struct vm_config *cfg, int i)
{
	struct dev_disk_cfg *c = disks_of(cfg) ? device_cfg(cfg, &device_disk) : NULL;
	if (!c || i < 0 || i >= c->n)
		return;
	virtio_blk_opts_free(&c->disk[i].opts);
	memmove(&c->disk[i], &c->disk[i + 1], (size_t)(c->n - i - 1) * sizeof(c->disk[0]));
	memset(&c->disk[--c->n], 0, sizeof(c->disk[0]));
}

void dev_disk_api_id(const struct vm_config *cfg, int i, char *id, size_t len)
{
	const struct virtio_blk_opts *o = dev_disk_opts(cfg, i);
	if (o && o->id[0])
		snprintf(id, len, "%s", o->id);
	else
		snprintf(id, len, "drive%d", i);
}

int dev_disk_find_id(const struct vm_config *cfg, const char *id)
{
	for (int i = 0; id[0] && i < dev_disk_count(cfg); i++)
		if (!strcmp(dev_disk_opts(cfg, i)->id, id))
			return i;
	return -1;
}

/* Whether `o`, parsed after the disks of `cfg`, may join them: the API finds a drive by its id,
 * and one disk at most is the root. */
static int check_new_disk(const struct vm_config *cfg, const struct virtio_blk_opts *o, char *err,
			  size_t errlen)
{
	int same_id = dev_disk_find_id(cfg, o->id);
	if (same_id >= 0) {
		snprintf(err, errlen, "id=%s: disk %d has that id already", o->id, same_id);
		return -EINVAL;
	}
	for (int i = 0; o->root && i < dev_disk_count(cfg); i++) {
		if (dev_disk_opts(cfg, i)->root) {
			snprintf(err, errlen, "root: disk %d is the root device already", i);
			return -EINVAL;
		}
	}
	struct device_claim other; /* another descriptor's drive (a vhost-user disk) */
	if (device_table_id_claimed(cfg, "drive", o->id, &other)) {
		snprintf(err, errlen, "id=%s: %s has that id already", o->id, other.what);
		return -EINVAL;
	}
	return 0;
}

/* The disk `items` describe into *o (its own path) and its hotplug slot into *slot, with every
 * check against the disks `cfg` has. 0, or -errno with the reason in err (*o then empty). */
static int disk_from_items(const struct vm_config *cfg, const struct opt_items *items,
			   struct virtio_blk_opts *o, int *slot, char *err, size_t errlen)
{
	struct opt_items rest;
	memset(o, 0, sizeof(*o));
	int r = opt_items_copy(&rest, items);
	if (r)
		return fail_rc(r, err, errlen, "out of memory");
	r = dev_hotplug_slot_take(&rest, cfg->transport, false, slot, err, errlen);
	if (!r)
		r = virtio_blk_opts_from_items(&rest, o, err, errlen);
	opt_items_free(&rest);
	if (r)
		return r < 0 ? r : -EINVAL;
	r = check_new_disk(cfg, o, err, errlen);
	if (!r && *slot && (o->root || !o->id[0])) {
		snprintf(err, errlen, "hotplug-slot: a hot-added disk has an id= and is no root");
		r = -EINVAL;
	}
	if (r)
		virtio_blk_opts_free(o);
	return r;
}

/* device_desc.record_add: one more disk, on cfg->transport. */
static int add_disk(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	struct virtio_blk_opts o;
	int slot;
	if (dev_disk_count(cfg) == VM_MAX_DISKS) {
		snprintf(err, errlen, "at most %d disks", VM_MAX_DISKS);
		return -E2BIG;
	}
	int r = disk_from_items(cfg, items, &o, &slot, err, errlen);
	if (r)
		return r;
	struct dev_disk_cfg *c = device_cfg(cfg, &device_disk);
	if (!c) {
		virtio_blk_opts_free(&o);
		return fail_rc(-ENOMEM, err, errlen, "out of memory");
	}
	c->disk[c->n].opts = o;
	c->disk[c->n].hotplug_slot = slot;
	c->disk[c->n++].transport = cfg->transport;
	return 0;
}

static int parse_disk(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int r = virtio_blk_opts_check_spec(arg, err, errlen); /* the string's own messages */
	return r ? r : device_record_parse(&device_disk, cfg, arg, err, errlen);
}

/* device_desc.record_items: disk `i`'s options, then its hotplug slot. */
static int disk_items(const struct vm_config *cfg, int i, struct opt_items *out,
		      enum virtio_transport *t)
{
	const struct dev_disk_cfg *c = disks_of(cfg);
	*t = c->disk[i].transport;
	int r = virtio_blk_opts_to_items(&c->disk[i].opts, out);
	return r ? r : dev_hotplug_slot_put(out, c->disk[i].hotplug_slot);
}

/* A file the user marked read-only (no write bit) is not written behind their back, even by
 * root, whom open() would let: without ,ro it is refused. */
static int check_mode(const struct virtio_blk_opts *o, const struct stat *st)
{
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		log_error("disk %s: not a regular file or a block device", o->path);
		return -EINVAL;
	}
	if (!o->ro && S_ISREG(st->st_mode) && !(st->st_mode & 0222)) {
		log_error("disk %s: the file is read-only (mode %03o): add ,ro or make it writable",
			  o->path, (unsigned)(st->st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

/* A qcow2 image's header, as the open will take it: one that names a backing file is refused
 * here already when backing files are off (backing_files=, virtio/blk/qcow2.h), the same line
 * the open would say. The chain itself is opened (and checked) with the disk. */
static int check_qcow2(const struct virtio_blk_opts *o, int fd, const struct stat *st)
{
	char err[HOST_PATH_ERR_MAX] = "";
	if (o->format == VIRTIO_BLK_FORMAT_RAW || !S_ISREG(st->st_mode) || !qcow2_probe(fd))
		return 0;
	struct qcow2_open_opts q = {.ro = o->ro,
				    .backing_files = o->backing_files,
				    .backing_dirs = o->backing_dirs[0] ? o->backing_dirs : NULL,
				    .path = o->path};
	int r = qcow2_check_header(fd, &q, err, sizeof(err));
	if (!r && o->backing_files) { /* the whole chain, by its rules, before KVM or at PUT */
		struct qcow2 *img = NULL;
		q.ro = true;
		r = qcow2_open(&img, fd, &q, err, sizeof(err));
		qcow2_close(img);
	}
	if (r)
		log_error("disk %s", err[0] ? err : strerror(-r));
	return r;
}

/* Disk `i` opened in the mode and with the lock virtio-blk takes (disk.c), then closed:
 * its problems are the user's and are said before KVM is opened. `st` gets its identity. */
static int check_one(const struct virtio_blk_opts *o, struct stat *st)
{
	/* host_path_open(): a FIFO, a character device or a file of /proc is refused at once. */
	char msg[HOST_PATH_ERR_MAX];
	int fd = host_path_open(o->path, o->ro ? O_RDONLY : O_RDWR, 0,
				HOST_PATH_REGULAR | HOST_PATH_BLOCK, msg, sizeof(msg)),
	    err = 0;
	if (fd < 0) {
		bool ro_hint = !o->ro && (fd == -EACCES || fd == -EROFS || fd == -EPERM) &&
			       !strstr(msg, "never opens");
		log_error("disk %s%s%s", msg, o->ro ? " (opening it read-only)" : "",
			  ro_hint ? " (add ,ro to use it read-only)" : "");
		return fd;
	}
	if (fstat(fd, st) < 0)
		err = -errno;
	if (!err)
		err = check_mode(o, st);
	if (!err && !o->unlocked && flock(fd, (o->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		log_error("disk %s: cannot lock it (%s): is another VMM using it?", o->path,
			  strerror(errno));
		err = -EBUSY;
	}
	if (!err)
		err = check_qcow2(o, fd, st);
	close(fd);
	return err;
}

int dev_disk_check_file(const struct virtio_blk_opts *o)
{
	struct stat st;
	return check_one(o, &st);
}

/* Every disk opens and locks, and no file is given twice where one of them is writable (two
 * writers, or a writer under a reader, would corrupt it: the guest does not know they are one).
 * One root device across the descriptors is the claims' rule (device_claims.c). */
static int check_disks(const struct vm_config *cfg)
{
	struct stat st[VM_MAX_DISKS];
	for (int i = 0; i < dev_disk_count(cfg); i++) {
		const struct virtio_blk_opts *o = dev_disk_opts(cfg, i);
		int err = check_one(o, &st[i]);
		if (err)
			return err;
		for (int j = 0; j < i; j++) {
			const struct virtio_blk_opts *other = dev_disk_opts(cfg, j);
			if (st[j].st_dev != st[i].st_dev || st[j].st_ino != st[i].st_ino ||
			    (o->ro && other->ro))
				continue;
			log_error("disk %s: the same file as disk %d (%s), given twice", o->path, j,
				  other->path);
			return -EINVAL;
		}
	}
	return 0;
}

/* What create_disks() made, kept with the VM (device_state()). */
struct disk_state {
	struct virtio_dev *dev[VM_MAX_DISKS]; /* owned by their transports */
	char *root_cmdline;		      /* the command line with a root disk's root= added */
};

struct virtio_dev *dev_disk_device(struct vm *vm, int i)
{
	struct disk_state *s = device_state_find(vm, &device_disk);
	const struct dev_disk_cfg *c = disks_of(vm->cfg);
	if (c && i >= 0 && i < c->n && c->disk[i].hotplug_slot) /* hot-added: hotplug.c has it */
		return vm_hotplug_device(vm, c->disk[i].opts.id, dev_disk_hotplug.kind);
	return s && i >= 0 && i < VM_MAX_DISKS ? s->dev[i] : NULL;
}

int dev_disk_pin(struct vm_config *cfg, struct vm *vm, int i, int slot)
{
	struct dev_disk_cfg *c = disks_of(cfg) ? device_cfg(cfg, &device_disk) : NULL;
	struct disk_state *s = device_state_find(vm, &device_disk);
	if (!c || i < 0 || i >= c->n || slot < 1 || slot > 31)
		return -EINVAL;
	if (!c->disk[i].opts.id[0])
		dev_disk_api_id(cfg, i, c->disk[i].opts.id, sizeof(c->disk[i].opts.id));
	c->disk[i].hotplug_slot = slot;
	if (s)
		s->dev[i] = NULL; /* found through the hotplug slots from now on */
	return 0;
}

void dev_disk_open_unlocked(struct vm_config *cfg)
{
	for (int i = 0; i < dev_disk_count(cfg); i++)
		dev_disk_opts_edit(cfg, i)->unlocked = true;
}

int dev_disk_take_locks(struct vm *vm)
{
	for (int i = 0; i < VM_MAX_DISKS; i++) {
		struct virtio_dev *dev = dev_disk_device(vm, i);
		int r = dev ? virtio_blk_take_back(dev) : 0; /* flock() again: no change */
		if (r)
			return r;
	}
	return 0;
}

void dev_disk_release_locks(struct vm *vm)
{
	for (int i = 0; i < VM_MAX_DISKS; i++) {
		struct virtio_dev *dev = dev_disk_device(vm, i);
		if (dev)
			virtio_blk_hand_over(dev); /* logged */
	}
}

/* A root disk (`,root`) is named on the kernel command line as root=/dev/vdX, unless the
 * command line names a root= itself (the API's is_root_device writes one, PARTUUID= or not). */
static int add_root(struct vm *vm, struct disk_state *s, int i)
{
	const char *user = vm->cfg->append ? vm->cfg->append : "";
	if (strstr(user, "root="))
		return 0;
	free(s->root_cmdline);
	if (asprintf(&s->root_cmdline, "%s%sroot=/dev/vd%c %s", user, *user ? " " : "", 'a' + i,
		     dev_disk_opts(vm->cfg, i)->ro ? "ro" : "rw") < 0) {
		s->root_cmdline = NULL;
		return -ENOMEM;
	}
	machine_set_cmdline(&vm->machine, s->root_cmdline);
	return 0;
}

static int create_disk(struct vm *vm, struct disk_state *s, const struct dev_disk_cfg *c, int i)
{
	struct virtio_dev *dev;
	if (c->disk[i].opts.root) { /* harmless on a restore: no kernel is loaded */
		int err = add_root(vm, s, i);
		if (err)
			return err;
	}
	int err = virtio_blk_create(&dev, &c->disk[i].opts, &vm->mem);
	if (err == -EWOULDBLOCK)
		err = -EBUSY; /* flock(): another VMM holds the disk, the user's call */
	if (err)
		return err;
	if (c->disk[i].hotplug_slot) /* placed with the hotplug slots (vm_hotplug_setup()) */
		return vm_hotplug_boot_device(vm, c->disk[i].opts.id, dev_disk_hotplug.kind, dev,
					      c->disk[i].hotplug_slot);
	err = vm_virtio_place(vm, dev, c->disk[i].transport);
	s->dev[i] = err ? NULL : dev; /* a failed place freed it */
	if (!err && !c->disk[i].opts.root && c->disk[i].transport == TRANSPORT_PCI) {
		char id[VIRTIO_BLK_DRIVE_ID_MAX];
		dev_disk_api_id(vm->cfg, i, id, sizeof(id));
		vm_hotplug_boot_removable(vm, id, dev_disk_hotplug.kind, dev); /* docs/hotplug.md */
	}
	return err;
}

static int create_disks(struct vm *vm)
{
	const struct dev_disk_cfg *c = disks_of(vm->cfg);
	if (!c || !c->n)
		return 0;
	struct disk_state *s = device_state(vm, &device_disk);
	if (!s) {
		log_error("disk: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < c->n; i++) {
		int err = create_disk(vm, s, c, i);
		if (err)
			return err;
	}
	return 0;
}

static void destroy_disks(struct vm *vm)
{
	struct disk_state *s = device_state_find(vm, &device_disk);
	if (s) {
		free(s->root_cmdline);
		s->root_cmdline = NULL;
	}
}

/* The block's paths are its own (device_desc.cfg_copy, cfg_free). */
static int copy_disks(void *dst, const void *src)
{
	struct dev_disk_cfg *to = dst;
	const struct dev_disk_cfg *from = src;
	int err = 0;
	for (int i = 0; i < to->n; i++) {
		const char *path = from->disk[i].opts.path;
		to->disk[i].opts.path = path && !err ? strdup(path) : NULL;
		if (path && !to->disk[i].opts.path)
			err = -ENOMEM;
	}
	return err;
}

static void free_disks(void *block)
{
	struct dev_disk_cfg *c = block;
	for (int i = 0; i < c->n; i++)
		virtio_blk_opts_free(&c->disk[i].opts);
}

/* Each disk's file (a host path a restore checks, with its id as the API knows it), its id
 * among the drives, and the root disk. */
static int claim_disk(const struct virtio_blk_opts *o, int i, device_claim_fn fn, void *opaque)
{
	char id[VIRTIO_BLK_DRIVE_ID_MAX + 16];
	if (o->id[0])
		snprintf(id, sizeof(id), "%s", o->id);
	else
		snprintf(id, sizeof(id), "drive%d", i);
	struct device_claim path = {.kind = DEVICE_CLAIM_PATH,
				    .option = "disk",
				    .value = o->path,
				    .what = "disk",
				    .id = id,
				    .access = DEVICE_PATH_READ | (o->ro ? 0 : DEVICE_PATH_WRITE),
				    .hint = "--disk PATH,id=ID (API: drive_overrides)"};
	struct device_claim drive = {.kind = DEVICE_CLAIM_ID,
				     .option = "disk",
				     .value = o->id,
				     .what = "a disk",
				     .space = "drive"};
	struct device_claim root = {.kind = DEVICE_CLAIM_ROOT, .option = "disk", .value = o->path};
	int r = fn(&path, opaque);
	/* backing_dirs=: folders it reads backing files in (a restore checks them too) */
	for (const char *d = o->backing_dir_list; !r && *d; d += strlen(d) + 1) {
		struct device_claim dir = {.kind = DEVICE_CLAIM_PATH,
					   .option = "disk",
					   .value = d,
					   .what = "disk backing folder",
					   .id = id,
					   .access = DEVICE_PATH_READ};
		r = fn(&dir, opaque);
	}
	if (!r)
		r = fn(&drive, opaque);
	if (!r && o->root)
		r = fn(&root, opaque);
	return r;
}

static int claims_disks(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	int r = 0;
	for (int i = 0; !r && i < dev_disk_count(cfg); i++)
		r = claim_disk(dev_disk_opts(cfg, i), i, fn, opaque);
	return r;
}

static const struct device_option disk_options[] = {
    {"disk", required_argument,
     "      --disk PATH[,ro][,root][,serial=ID][,cache=...][,flush=...][,discard=...]\n"
     "             [,aio=...] [,bw=...] [,ops=...] [,num-queues=N] [,id=NAME]\n"
     "             [,format=...] [,backing_files=on|off] [,backing_dirs=DIR[:DIR...]]\n"
     "                        a virtio-blk disk on a raw or qcow2 file or a block device;\n"
     "                        repeatable (up to 8): /dev/vda, /dev/vdb, ... in order\n"
     "                          ro           read-only: guest writes fail, the file is\n"
     "                                       never written\n"
     "                          root         the guest's root device: root=/dev/vdX\n"
     "                                       ro|rw is added to the kernel command line\n"
     "                                       unless it has a root= (one disk at most)\n"
     "                          serial=ID    what GET_ID returns (at most 20 bytes)\n"
     "                          cache=none   O_DIRECT (bypass the host page cache);\n"
     "                                       default writeback\n"
     "                          flush=off    offer no FLUSH, sync nothing (the API's\n"
     "                                       cache_type Unsafe; a host crash may lose\n"
     "                                       writes); default on\n"
     "                          discard=on   DISCARD / WRITE_ZEROES punch holes\n"
     "                          aio=auto|io_uring|sync  I/O engine; default auto\n"
     "                          bw=SIZE:REFILL_MS[:BURST]  rate limit: SIZE bytes per\n"
     "                                       REFILL_MS ms (token bucket), BURST bytes\n"
     "                                       once more; e.g. bw=2M:1000 = 2 MiB/s\n"
     "                          ops=SIZE:REFILL_MS[:BURST] the same for requests\n"
     "                          num-queues=N  1..8 request queues, one I/O thread each\n"
     "                          iothread-cpus=LIST  pin those threads, round-robin\n"
     "                                       (LIST: CPUs or ranges joined by ':')\n"
     "                          id=NAME      the drive's id in the API (drive_id);\n"
     "                                       default driveN\n"
     "                          format=raw|qcow2  default: qcow2 if the file starts\n"
     "                                       with its magic; give raw for a raw disk\n"
     "                          backing_files=on  follow a qcow2 image's backing file\n"
     "                                       (its format recorded: qemu-img -F), only\n"
     "                                       beneath the image's folder, no symlink;\n"
     "                                       default off: such an image is refused\n"
     "                          backing_dirs=DIR[:DIR...]  more folders backing files\n"
     "                                       may be beneath (with backing_files=on)\n"
     "                          hotplug-slot=N  in PCI hotplug slot N, removable (how a\n"
     "                                       snapshot records a hot-added disk)\n",
     parse_disk},
    {NULL, 0, NULL, NULL},
};

/* The host paths a disk's record names: its file, written unless ro, and the folders it reads
 * backing files in. */
static const struct device_path_field disk_path_fields[] = {
    {"path", DEVICE_PATH_KIND_WRITE, "disk", "ro", NULL, 0,
     "--disk PATH,id=ID (API: drive_overrides)"},
    {"backing_dirs", DEVICE_PATH_KIND_FOLDER, "disk backing folder", NULL, NULL, ':', NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths disk_paths = {"id", "drive", disk_path_fields};

const struct device_desc device_disk = {.name = "disk",
					.options = disk_options,
					.check = check_disks,
					.create = create_disks,
					.destroy = destroy_disks,
					.cfg_size = sizeof(struct dev_disk_cfg),
					.cfg_copy = copy_disks,
					.cfg_free = free_disks,
					.state_size = sizeof(struct disk_state),
					.claims = claims_disks,
					.api = &dev_disk_api,
					.built_beside_source = true,
					.record_head = "path",
					.record_count = dev_disk_count,
					.record_items = disk_items,
					.hotplug = &dev_disk_hotplug,
					.record_add = add_disk,
					.paths = &disk_paths,
					.save = &dev_disk_save};
