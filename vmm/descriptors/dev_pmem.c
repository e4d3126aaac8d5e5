/* --pmem: virtio-pmem devices backed by host files. See vmm/descriptors/dev_pmem.h. */
#include "vmm/descriptors/dev_pmem.h"

#include <errno.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/layout.h"
#include "base/log.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/vm/pmem_file.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* The mappings, kept from create() to destroy() (one VM per process). */
static struct pmem_live {
	struct vm *vm;
	struct pmem_file files[DEV_PMEM_MAX];
	struct virtio_dev *devs[DEV_PMEM_MAX]; /* owned by their transports */
	int n;
	char *cmdline; /* the user's command line with the root entry, when one is root */
} live;

/* Adds or replaces (same id) one device in `cfg`. Returns 0, or -EINVAL / -ENOSPC / -ENOMEM with
 * the reason in `err` (a second root device, too many devices). */
static int add(struct vm_config *cfg, const char *id, const struct virtio_pmem_opts *o, char *err,
	       size_t errlen)
{
	struct dev_pmem_cfg *c = device_cfg(cfg, &device_pmem);
	int i;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (strlen(id) >= DEV_PMEM_ID_MAX || !*id) {
		snprintf(err, errlen, "bad id '%s'", id);
		return -EINVAL;
	}
	for (i = 0; i < c->n && strcmp(c->dev[i].id, id); i++)
		;
	if (i == DEV_PMEM_MAX) {
		snprintf(err, errlen, "at most %d pmem devices", DEV_PMEM_MAX);
		return -ENOSPC;
	}
	for (int k = 0; o->root && k < c->n; k++) {
		if (k != i && c->dev[k].opts.root) {
			snprintf(err, errlen, "'%s' is the root device already", c->dev[k].id);
			return -EINVAL;
		}
	}
	snprintf(c->dev[i].id, sizeof(c->dev[i].id), "%s", id);
	c->dev[i].opts = *o;
	c->dev[i].transport = cfg->transport;
	if (i == c->n)
		c->n++;
	return 0;
}

static int parse_pmem(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	struct virtio_pmem_opts *o = calloc(1, sizeof(*o));
	char id[16];
	int rc;

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(id, sizeof(id), "pmem%d", c ? c->n : 0);
	rc = virtio_pmem_opts_parse(arg, o, err, errlen);
	if (!rc) /* the API's id, which a snapshot's replayed option carries too */
		rc = add(cfg, o->id[0] ? o->id : id, o, err, errlen);
	free(o);
	return rc;
}

/* Each file opens as the device will use it and has a size a window can take. */
static int check_pmem(const struct vm_config *cfg)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	char err[VIRTIO_PMEM_PATH_MAX + 128];

	for (int i = 0; c && i < c->n; i++) {
		struct pmem_file f;
		int rc = pmem_file_open(&f, c->dev[i].opts.path, c->dev[i].opts.read_only, err,
					sizeof(err));

		if (rc) {
			log_error("--pmem: %s", err);
			return rc;
		}
		pmem_file_close(&f);
	}
	return 0;
}

/* The KVM slot of window i (read-only for a read-only file). */
static int map_slot(struct vm *vm, int i, uint64_t gpa, const struct pmem_file *f)
{
	struct kvm_userspace_memory_region r = {
	    .slot = DEV_PMEM_FIRST_SLOT + (uint32_t)i,
	    .flags = f->read_only ? KVM_MEM_READONLY : 0,
	    .guest_phys_addr = gpa,
	    .memory_size = f->size,
	    .userspace_addr = (uint64_t)(uintptr_t)f->host,
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

/* "root=/dev/pmemN rootflags=dax ro|rw" after the user's command line. */
static int set_root(struct vm *vm, int index, bool ro)
{
	const char *user = vm->cfg->append ? vm->cfg->append : "";

	if (asprintf(&live.cmdline, "%s%sroot=/dev/pmem%d rootflags=dax %s", user, *user ? " " : "",
		     index, ro ? "ro" : "rw") < 0) {
		live.cmdline = NULL;
		return -ENOMEM;
	}
	machine_set_cmdline(&vm->machine, live.cmdline);
	return 0;
}

static int create_one(struct vm *vm, int i, uint64_t gpa)
{
	const struct dev_pmem_cfg *c = device_cfg_find(vm->cfg, &device_pmem);
	struct pmem_file *f = &live.files[i];
	struct virtio_dev *dev = NULL;
	char err[VIRTIO_PMEM_PATH_MAX + 128];
	int fd,
	    rc = pmem_file_open(f, c->dev[i].opts.path, c->dev[i].opts.read_only, err, sizeof(err));

	if (rc) {
		log_error("--pmem: %s", err);
		return rc;
	}
	live.n = i + 1;
	if ((rc = pmem_file_map(f)) || (rc = map_slot(vm, i, gpa, f))) {
		log_error("--pmem: cannot map %s: %s", c->dev[i].opts.path, strerror(-rc));
		return rc;
	}
	fd = dup(f->fd); /* the device fsyncs its own descriptor */
	if (fd < 0)
		return -errno;
	rc = virtio_pmem_create(&dev, fd, gpa, f->size, f->read_only);
	if (rc)
		return rc;
	rc = virtio_pmem_set_rate_limiter(dev, &c->dev[i].opts.rl);
	if (rc) {
		log_error("--pmem: bad rate limiter");
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return rc;
	}
	rc = vm_virtio_init_and_place(vm, dev, c->dev[i].transport);
	live.devs[i] = rc ? NULL : dev;
	return rc;
}

struct virtio_dev *dev_pmem_device(struct vm *vm, int i)
{
	return live.vm == vm && i >= 0 && i < live.n ? live.devs[i] : NULL;
}

int dev_pmem_find(const struct vm_config *cfg, const char *id)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);

	for (int i = 0; c && i < c->n; i++)
		if (!strcmp(c->dev[i].id, id))
			return i;
	return -1;
}

static int create_pmem(struct vm *vm)
{
	const struct dev_pmem_cfg *c = device_cfg_find(vm->cfg, &device_pmem);
	uint64_t gpa;
	int rc = 0;

	if (!c || !c->n)
		return 0;
	memset(&live, 0, sizeof(live));
	live.vm = vm;
	gpa = windows_start(vm->cfg);
	for (int i = 0; !rc && i < c->n; i++) {
		rc = create_one(vm, i, gpa);
		if (!rc && c->dev[i].opts.root)
			rc = set_root(vm, i, c->dev[i].opts.read_only);
		gpa = layout_align_up(gpa + live.files[i].size, LAYOUT_PMEM_ALIGN);
		if (!rc && gpa > LAYOUT_PHYS_MAX) {
			log_error("--pmem: the files do not fit below 1 TiB of guest addresses");
			rc = -EINVAL;
		}
	}
	return rc;
}

static void destroy_pmem(struct vm *vm)
{
	if (live.vm != vm)
		return;
	for (int i = 0; i < live.n; i++)
		pmem_file_close(&live.files[i]);
	free(live.cmdline);
	memset(&live, 0, sizeof(live));
}

/* ---- PUT /pmem/{id} and the config file's "pmem" array: Firecracker's body {"id",
 * "path_on_host", "root_device"?, "read_only"?, "rate_limiter"?} ---- */

/* Sets the document's rate_limiter when `rl` limits something. */
static json_t *with_limits(json_t *doc, const struct rate_limiter_cfg *rl)
{
	json_t *v = api_rate_limiter_json(rl);
	if (doc && v && json_object_set_new(doc, "rate_limiter", v)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int api_check_pmem(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			  json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"id", API_JSON_STRING, true},
						  {"path_on_host", API_JSON_STRING, true},
						  {"root_device", API_JSON_BOOL, false},
						  {"read_only", API_JSON_BOOL, false},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	const char *path;
	struct rate_limiter_cfg rl;

	(void)ctx;
	if (api_json_check(body, f, err, errlen) ||
	    api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter", &rl, err,
				   errlen))
		return -EINVAL;
	path = api_json_str(body, "path_on_host", "");
	if (!*path || strchr(path, ',') || strlen(path) >= VIRTIO_PMEM_PATH_MAX) {
		snprintf(err, errlen,
			 "path_on_host must be a path without a comma, shorter than %d",
			 VIRTIO_PMEM_PATH_MAX);
		return -EINVAL;
	}
	*doc = json_pack("{s:s, s:s, s:b, s:b}", "id", id ? id : api_json_str(body, "id", ""),
			 "path_on_host", path, "root_device",
			 api_json_bool(body, "root_device", false), "read_only",
			 api_json_bool(body, "read_only", false));
	*doc = with_limits(*doc, &rl);
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* The id goes into the option: a snapshot replays it, and GET /vm/config shows it again. */
static int api_pmem_option(const json_t *doc, char *arg, size_t len)
{
	struct rate_limiter_cfg rl;
	int n = snprintf(arg, len, "path=%s%s%s,id=%s", api_json_str(doc, "path_on_host", ""),
			 api_json_bool(doc, "read_only", false) ? ",ro" : "",
			 api_json_bool(doc, "root_device", false) ? ",root" : "",
			 api_json_str(doc, "id", ""));
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (api_rate_limiter_parse(json_object_get(doc, "rate_limiter"), "rate_limiter", &rl, NULL,
				   0))
		return -ENAMETOOLONG; /* cannot happen: the document was checked */
	return api_rate_limiter_spec(arg + n, len - (size_t)n, "", &rl);
}

/* A configuration's devices by the ids they have ("pmemN" for --pmem without id=). */
static json_t *describe_pmem(const struct vm_config *cfg)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	json_t *list = c && c->n ? json_array() : NULL;

	for (int i = 0; list && i < c->n; i++) {
		const struct virtio_pmem_opts *o = &c->dev[i].opts;
		if (json_array_append_new(
			list, with_limits(json_pack("{s:s, s:s, s:b, s:b}", "id", c->dev[i].id,
						    "path_on_host", o->path, "root_device", o->root,
						    "read_only", o->read_only),
					  &o->rl))) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static const struct device_api pmem_api = {.section = "pmem",
					   .route = "/pmem/",
					   .id_field = "id",
					   .root_field = "root_device",
					   .check = api_check_pmem,
					   .to_option = api_pmem_option,
					   .describe = describe_pmem,
					   .live = &dev_pmem_live};

/* Each file (a host path a restore checks, with the device's id), and the root device. */
static int claims_pmem(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	int r = 0;

	for (int i = 0; !r && c && i < c->n; i++) {
		const struct virtio_pmem_opts *o = &c->dev[i].opts;
		struct device_claim file = {.kind = DEVICE_CLAIM_PATH,
					    .option = "pmem",
					    .value = o->path,
					    .what = "pmem file",
					    .id = c->dev[i].id,
					    .access = DEVICE_PATH_READ |
						      (o->read_only ? 0 : DEVICE_PATH_WRITE)};
		struct device_claim root = {
		    .kind = DEVICE_CLAIM_ROOT, .option = "pmem", .value = o->path};
		r = fn(&file, opaque);
		if (!r && o->root)
			r = fn(&root, opaque);
	}
	return r;
}

static const struct device_option pmem_options[] = {
    {"pmem", required_argument,
     "      --pmem path=FILE[,ro][,root][,id=NAME][,bw=S:R[:B]][,ops=S:R[:B]]\n"
     "                        a virtio-pmem device: FILE (a multiple of 2 MiB) mapped into the\n"
     "                        guest (DAX); ro maps it read-only, root boots from it\n"
     "                        (root=/dev/pmemN rootflags=dax); NAME its API id (default\n"
     "                        pmemN); bw=, ops= limit FLUSH requests (each one op and\n"
     "                        the file's size in bytes; buckets as --disk's); may be\n"
     "                        repeated\n",
     parse_pmem},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_pmem = {.name = "pmem",
					.options = pmem_options,
					.check = check_pmem,
					.create = create_pmem,
					.destroy = destroy_pmem,
					.cfg_size = sizeof(struct dev_pmem_cfg),
					.claims = claims_pmem,
					.api = &pmem_api};
