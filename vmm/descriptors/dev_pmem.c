/* --pmem: virtio-pmem devices backed by host files. See vmm/descriptors/dev_pmem.h. */
#include "vmm/descriptors/dev_pmem.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_hot_body.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_hotplug_slot.h"
#include "vmm/descriptors/dev_pmem_window.h"
#include "vmm/descriptors/device_paths.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/pmem_file.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* The command line with the root entry, when a device is root (one VM per process). */
static char *root_cmdline;

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

/* The refusal of gpa=`v` (NULL: the item without a value). -EINVAL. */
static int bad_gpa(const char *v, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "%s%s: a 2 MiB-aligned guest address below 768 GiB (in decimal), once",
		 DEV_PMEM_GPA_KEY, v ? v : "");
	return -EINVAL;
}

/* Takes the gpa=ADDR item (decimal) out of `l`: the guest address a hot-added device's window
 * had, which its record keeps (0: none). 0, or -EINVAL with the reason in err (a bad ADDR, the
 * item given twice). */
static int take_gpa(struct opt_items *l, uint64_t *gpa, char *err, size_t errlen)
{
	char *v = NULL;
	int r = 0;
	*gpa = 0;
	if (!opt_items_take(l, DEV_PMEM_GPA_ITEM, &v))
		return 0;
	if (!v || strlen(v) >= 24 || parse_uint(v, 1, LAYOUT_MEM_MAX - 1, gpa) ||
	    *gpa % LAYOUT_PMEM_ALIGN)
		r = bad_gpa(v, err, errlen);
	free(v);
	v = NULL;
	if (!r && opt_items_take(l, DEV_PMEM_GPA_ITEM, &v))
		r = bad_gpa(v, err, errlen); /* the second one */
	free(v);
	return r;
}

/* The hotplug-slot=N and gpa= items of a hot-added device's record, taken out of `l`. */
static int take_hotplug(struct opt_items *l, int transport, int *slot, uint64_t *gpa, char *err,
			size_t errlen)
{
	int r = dev_hotplug_slot_take(l, transport, false, slot, err, errlen);
	if (!r)
		r = take_gpa(l, gpa, err, errlen);
	if (!r && *gpa && !*slot) {
		snprintf(err, errlen, "gpa= is a hot-added device's (with hotplug-slot=)");
		r = -EINVAL;
	}
	return r;
}

/* The record's add: one device from `items` (its option's, with hotplug-slot= and gpa=), with
 * every check of --pmem, on cfg->transport. */
static int add_pmem(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	struct virtio_pmem_opts *o = calloc(1, sizeof(*o));
	struct opt_items rest = {0};
	char id[16];
	uint64_t gpa = 0;
	int rc = o ? opt_items_copy(&rest, items) : -ENOMEM, slot = 0;

	if (rc) {
		free(o);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(id, sizeof(id), "pmem%d", c ? c->n : 0);
	rc = take_hotplug(&rest, cfg->transport, &slot, &gpa, err, errlen);
	if (!rc)
		rc = virtio_pmem_opts_from_items(&rest, o, err, errlen);
	if (!rc && slot && (o->root || !o->id[0])) {
		snprintf(err, errlen,
			 "hotplug-slot: a hot-added pmem device has an id= and is no root");
		rc = -EINVAL;
	}
	if (!rc) /* the API's id, which a snapshot's replayed option carries too */
		rc = add(cfg, o->id[0] ? o->id : id, o, err, errlen);
	if (!rc) {
		struct dev_pmem_cfg *w = device_cfg(cfg, &device_pmem);
		int i = dev_pmem_find(cfg, o->id[0] ? o->id : id);
		w->dev[i].hotplug_slot = slot;
		w->dev[i].gpa = gpa;
	}
	opt_items_free(&rest);
	free(o);
	return rc;
}

static int parse_pmem(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_pmem, cfg, arg, err, errlen);
}

static int pmem_count(const struct vm_config *cfg)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	return c ? c->n : 0;
}

/* Device i as its option's items: an id not given (opts.id "") is pmemI again when the record
 * is read back in order, so only another one (a device added after an earlier one went) is
 * written as id=. */
static int pmem_items(const struct vm_config *cfg, int i, struct opt_items *out,
		      enum virtio_transport *t)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);
	char derived[16];
	int r = virtio_pmem_opts_to_items(&c->dev[i].opts, out);
	*t = c->dev[i].transport;
	snprintf(derived, sizeof(derived), "pmem%d", i);
	if (!r && !c->dev[i].opts.id[0] && strcmp(c->dev[i].id, derived))
		r = opt_items_add(out, "id", c->dev[i].id);
	if (!r)
		r = dev_hotplug_slot_put(out, c->dev[i].hotplug_slot);
	if (!r && c->dev[i].gpa)
		r = opt_items_addf(out, DEV_PMEM_GPA_ITEM, "%llu",
				   (unsigned long long)c->dev[i].gpa);
	return r;
}

void dev_pmem_forget(struct vm_config *cfg, const char *id)
{
	int i = dev_pmem_find(cfg, id);
	struct dev_pmem_cfg *c = i >= 0 ? device_cfg(cfg, &device_pmem) : NULL;
	if (!c)
		return;
	memmove(&c->dev[i], &c->dev[i + 1], (size_t)(c->n - i - 1) * sizeof(c->dev[0]));
	memset(&c->dev[--c->n], 0, sizeof(c->dev[0]));
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

/* "root=/dev/pmemN rootflags=dax ro|rw" after the user's command line. */
static int set_root(struct vm *vm, int index, bool ro)
{
	const char *user = vm->cfg->append ? vm->cfg->append : "";

	free(root_cmdline);
	if (asprintf(&root_cmdline, "%s%sroot=/dev/pmem%d rootflags=dax %s", user, *user ? " " : "",
		     index, ro ? "ro" : "rw") < 0) {
		root_cmdline = NULL;
		return -ENOMEM;
	}
	machine_set_cmdline(&vm->machine, root_cmdline);
	return 0;
}

/* Device i of the configuration in window i: a boot device placed with the others, a
 * hot-added one (hotplug-slot=) put back in its PCI hotplug slot at its own address. */
static int create_one(struct vm *vm, int i)
{
	const struct dev_pmem_cfg *c = device_cfg_find(vm->cfg, &device_pmem);
	struct virtio_dev *dev = NULL;
	char err[VIRTIO_PMEM_PATH_MAX + 128] = "";
	int rc = pmem_window_open(vm, i, c->dev[i].id, &c->dev[i].opts, c->dev[i].gpa, 0, &dev,
				  NULL, err, sizeof(err));

	if (rc) {
		log_error("--pmem: %s", err);
		return rc;
	}
	if (!c->dev[i].hotplug_slot) {
		rc = vm_virtio_init_and_place(vm, dev,
					      c->dev[i].transport); /* frees it on failure */
		if (!rc && !c->dev[i].opts.root && c->dev[i].transport == TRANSPORT_PCI)
			vm_hotplug_boot_removable(vm, c->dev[i].id, dev_pmem_hotplug.kind,
						  dev); /* docs/hotplug.md */
		return rc;
	}
	rc = virtio_dev_init(dev, &vm->mem);
	if (rc) {
		virtio_dev_destroy(dev);
		vm_virtio_dev_free(dev);
		return rc;
	}
	return vm_hotplug_boot_device(vm, c->dev[i].id, dev_pmem_hotplug.kind, dev,
				      c->dev[i].hotplug_slot);
}

struct virtio_dev *dev_pmem_device(struct vm *vm, int i)
{
	const struct dev_pmem_cfg *c = device_cfg_find(vm->cfg, &device_pmem);
	if (!c || i < 0 || i >= c->n)
		return NULL;
	if (c->dev[i].hotplug_slot) /* hot-added: hotplug.c has it */
		return vm_hotplug_device(vm, c->dev[i].id, dev_pmem_hotplug.kind);
	return pmem_window_dev(pmem_window_find(c->dev[i].id));
}

int dev_pmem_pin(struct vm_config *cfg, int i, int slot, uint64_t gpa)
{
	struct dev_pmem_cfg *c =
	    device_cfg_find(cfg, &device_pmem) ? device_cfg(cfg, &device_pmem) : NULL;
	if (!c || i < 0 || i >= c->n || slot < 1 || slot > 31)
		return -EINVAL;
	_Static_assert(sizeof(c->dev[i].opts.id) >= DEV_PMEM_ID_MAX, "a pmem id fits its id=");
	if (!c->dev[i].opts.id[0])
		memcpy(c->dev[i].opts.id, c->dev[i].id, strlen(c->dev[i].id) + 1);
	c->dev[i].hotplug_slot = slot;
	c->dev[i].gpa = gpa;
	return 0;
}

uint64_t dev_pmem_gpa(const char *id)
{
	return pmem_window_gpa(pmem_window_find(id));
}

int dev_pmem_find(const struct vm_config *cfg, const char *id)
{
	const struct dev_pmem_cfg *c = device_cfg_find(cfg, &device_pmem);

	for (int i = 0; c && i < c->n; i++)
		if (!strcmp(c->dev[i].id, id))
			return i;
	return -1;
}

/* The boot devices first, in order (each window right after the one before, as always), then
 * the hot-added ones at the addresses they had. */
static int create_pmem(struct vm *vm)
{
	const struct dev_pmem_cfg *c = device_cfg_find(vm->cfg, &device_pmem);
	int rc = 0;

	if (!c || !c->n)
		return 0;
	rc = pmem_windows_begin(vm);
	for (int hot = 0; hot < 2; hot++) {
		for (int i = 0; !rc && i < c->n; i++) {
			if (!c->dev[i].hotplug_slot != !hot)
				continue;
			rc = create_one(vm, i);
			if (!rc && c->dev[i].opts.root)
				rc = set_root(vm, i, c->dev[i].opts.read_only);
		}
	}
	return rc;
}

static void destroy_pmem(struct vm *vm)
{
	pmem_windows_end(vm);
	free(root_cmdline);
	root_cmdline = NULL;
}

int dev_pmem_hot_create(struct vm *vm, const struct opt_items *record, uint64_t size,
			struct virtio_dev **dev, uint64_t *gpa, char *err, size_t errlen)
{
	struct virtio_pmem_opts *o = calloc(1, sizeof(*o));
	int rc = o ? virtio_pmem_opts_from_items(record, o, err, errlen) : -ENOMEM;
	int k = pmem_window_free();

	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else if (!rc && k < 0) {
		snprintf(err, errlen, "the VM has as many pmem devices as it may have (%d)",
			 DEV_PMEM_MAX);
		rc = -ENOSPC;
	} else if (!rc && !sandbox_landlock_allows(
			      o->path, LANDLOCK_READ | (o->read_only ? 0 : LANDLOCK_WRITE))) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may open (Landlock: start it with "
			 "--landlock-rules DIR:%s for the file's directory)",
			 o->path, o->read_only ? "ro" : "rw");
		rc = -EACCES;
	}
	if (!rc)
		rc = pmem_windows_begin(vm);
	if (!rc)
		rc = pmem_window_open(vm, k, o->id, o, 0, size, dev, gpa, err, errlen);
	if (!rc) {
		rc = virtio_dev_init(*dev, &vm->mem);
		if (rc) {
			snprintf(err, errlen, "%s: cannot start the device", o->path);
			virtio_dev_destroy(*dev);
			vm_virtio_dev_free(*dev);
			pmem_window_close(vm, k);
		}
	}
	free(o);
	return rc;
}

void dev_pmem_hot_release(struct vm *vm, const char *id)
{
	int k = pmem_window_find(id);
	if (k >= 0)
		pmem_window_close(vm, k);
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
	if (!*path || strlen(path) >= VIRTIO_PMEM_PATH_MAX) {
		snprintf(err, errlen, "path_on_host must be a path of 1 to %d bytes",
			 VIRTIO_PMEM_PATH_MAX - 1);
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
static int api_pmem_items(const json_t *doc, struct opt_items *out,
			  const struct device_desc **owner)
{
	struct rate_limiter_cfg rl;
	(void)owner;
	if (api_rate_limiter_parse(json_object_get(doc, "rate_limiter"), "rate_limiter", &rl, NULL,
				   0))
		rl = (struct rate_limiter_cfg){0}; /* cannot happen: the document was checked */
	int r = opt_items_add(out, "path", api_json_str(doc, "path_on_host", ""));
	if (!r && api_json_bool(doc, "read_only", false))
		r = opt_items_add(out, "ro", NULL);
	if (!r && api_json_bool(doc, "root_device", false))
		r = opt_items_add(out, "root", NULL);
	if (!r)
		r = opt_items_add(out, "id", api_json_str(doc, "id", ""));
	return r ? r : api_rate_limiter_items(out, "", &rl);
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
					   .to_items = api_pmem_items,
					   .describe = describe_pmem,
					   .live = &dev_pmem_live,
					   .ext = &dev_pmem_api_ext};

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
     "                        repeated; hotplug-slot=N[,gpa=ADDR] (with id=) puts it in PCI\n"
     "                        hotplug slot N, its window at ADDR, removable (how a\n"
     "                        hot-added device is recorded: docs/hotplug.md)\n",
     parse_pmem},
    {NULL, 0, NULL, NULL},
};

/* The file, written unless ro. */
static const struct device_path_field pmem_path_fields[] = {
    {"path", DEVICE_PATH_KIND_WRITE, "pmem file", "ro", NULL, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, NULL},
};
static const struct device_paths pmem_paths = {"id", "pmem", pmem_path_fields};

const struct device_desc device_pmem = {.name = "pmem",
					.options = pmem_options,
					.check = check_pmem,
					.create = create_pmem,
					.destroy = destroy_pmem,
					.cfg_size = sizeof(struct dev_pmem_cfg),
					.claims = claims_pmem,
					.api = &pmem_api,
					.record_count = pmem_count,
					.record_items = pmem_items,
					.hotplug = &dev_pmem_hotplug,
					.record_add = add_pmem,
					.paths = &pmem_paths};
