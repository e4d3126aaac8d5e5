/* --device vfio=/sys/bus/pci/devices/DDDD:BB:DD.F: a host PCI function bound to vfio-pci,
 * passed through to the guest on PCI bus 0 (docs/vfio.md; vmm/vm/vm_vfio.h does the work). */
#include "vmm/descriptors/dev_vfio.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "virtio/balloon/balloon.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_hotplug.h"
#include "vmm/descriptors/dev_memhp.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

#define KIND_VFIO "vfio="
#define ITEM_PATH "vfio" /* the items of the option: vfio=PATH, id=ID */
#define ITEM_ID	  "id"
#define NOT_VFIO  "unknown device kind (expected vfio=/sys/bus/pci/devices/DDDD:BB:DD.F)"

bool dev_vfio_has_id(const struct vm_config *cfg, const char *id)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	for (int i = 0; c && id[0] && i < c->n; i++)
		if (!strcmp(c->id[i], id))
			return true;
	return false;
}

/* Refuses item `it` of a device's items: only its vfio= path and one id= are known. */
static int unknown_item(const struct opt_item *it, char *err, size_t errlen)
{
	return fail_rc(-EINVAL, err, errlen, "unknown item %s%s%s (only id=ID follows the path)",
		       it->key, it->value ? "=" : "", it->value ? it->value : "");
}

/* The vfio= item's value and the id= item's ("" when none) of `l`: 0, or -EINVAL with the
 * reason in err (no vfio=, an unknown item, a second vfio= or id=, a bad ID). */
static int pick_items(const struct opt_items *l, const char **path, const char **id, char *err,
		      size_t errlen)
{
	const char *v = NULL;
	*path = NULL;
	*id = "";
	for (size_t i = 0; i < l->n; i++) {
		const struct opt_item *it = &l->v[i];
		if (!strcmp(it->key, ITEM_PATH) && it->value && !*path)
			*path = it->value;
		else if (!strcmp(it->key, ITEM_ID) && it->value && !v)
			v = it->value;
		else
			return unknown_item(it, err, errlen);
	}
	*id = v ? v : "";
	if (!*path)
		return fail_rc(-EINVAL, err, errlen, "%s", NOT_VFIO);
	if (strlen(*path) >= DEV_VFIO_PATH_MAX + 16)
		return fail_rc(-EINVAL, err, errlen, "not a PCI device's sysfs path");
	if (v && (strlen(v) >= DEV_VFIO_ID_MAX || !v[0] || strpbrk(v, ", /")))
		return fail_rc(-EINVAL, err, errlen,
			       "id=%s: 1 to %d characters, without ',', '/' or space", v,
			       DEV_VFIO_ID_MAX - 1);
	return 0;
}

/* One device from `l` (its vfio= path, its id=) added to `c`, with every check of the option;
 * `c` is left as it was on failure. 0, or -EINVAL with the reason in err. */
static int add_items(struct dev_vfio_cfg *c, const struct opt_items *l, char *err, size_t errlen)
{
	char bdf[VFIO_BDF_LEN];
	const char *path, *id;
	int rc = pick_items(l, &path, &id, err, errlen);
	if (!rc)
		rc = vfio_parse_pci_path(path, bdf, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < c->n; i++) {
		if (strstr(c->path[i], bdf))
			return fail_rc(-EINVAL, err, errlen, "%s is given twice", bdf);
		if (id[0] && !strcmp(c->id[i], id))
			return fail_rc(-EINVAL, err, errlen, "id %s is given twice", id);
	}
	if (c->n == VM_VFIO_MAX_DEVICES)
		return fail_rc(-EINVAL, err, errlen, "at most %d passed-through devices",
			       VM_VFIO_MAX_DEVICES);
	/* kept in the one spelling every other path is built from */
	snprintf(c->id[c->n], DEV_VFIO_ID_MAX, "%s", id);
	snprintf(c->path[c->n++], DEV_VFIO_PATH_MAX, "%s%s", VFIO_SYSFS_PCI_DEV, bdf);
	return 0;
}

/* The option string begins with its kind: vfio=. 0, or -EINVAL with the reason in err. */
static int check_kind(const char *arg, char *err, size_t errlen)
{
	return strncmp(arg, KIND_VFIO, strlen(KIND_VFIO))
		   ? fail_rc(-EINVAL, err, errlen, "%s", NOT_VFIO)
		   : 0;
}

int dev_vfio_parse(struct dev_vfio_cfg *c, const char *arg, char *err, size_t errlen)
{
	struct opt_items items;
	int rc = check_kind(arg, err, errlen);
	if (rc)
		return rc;
	rc = opts_split(arg, NULL, &items, err, errlen);
	if (!rc)
		rc = add_items(c, &items, err, errlen);
	opt_items_free(&items);
	return rc;
}

void dev_vfio_forget(struct vm_config *cfg, const char *id)
{
	struct dev_vfio_cfg *c = (struct dev_vfio_cfg *)device_cfg_find(cfg, &device_vfio);
	for (int i = 0; c && id[0] && i < c->n; i++) {
		if (strcmp(c->id[i], id))
			continue;
		memmove(c->path[i], c->path[i + 1], (size_t)(c->n - i - 1) * sizeof(c->path[0]));
		memmove(c->id[i], c->id[i + 1], (size_t)(c->n - i - 1) * sizeof(c->id[0]));
		c->n--;
		return;
	}
}

/* The record's add: the devices so far and this one, kept only when it is taken. */
static int add_vfio(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	const struct dev_vfio_cfg *has = device_cfg_find(cfg, &device_vfio);
	struct dev_vfio_cfg one = has ? *has : (struct dev_vfio_cfg){0};
	int rc = add_items(&one, items, err, errlen);
	struct dev_vfio_cfg *c = rc ? NULL : device_cfg(cfg, &device_vfio);
	if (!rc && !c)
		rc = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (c)
		*c = one;
	return rc;
}

static int parse_device(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int rc = check_kind(arg, err, errlen);
	return rc ? rc : device_record_parse(&device_vfio, cfg, arg, err, errlen);
}

static int vfio_count(const struct vm_config *cfg)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	return c ? c->n : 0;
}

/* Device i as vfio=PATH[,id=ID]; always on PCI bus 0, whatever the VM's transport. */
static int vfio_items(const struct vm_config *cfg, int i, struct opt_items *out,
		      enum virtio_transport *t)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	int r = opt_items_add(out, ITEM_PATH, c->path[i]);
	*t = TRANSPORT_PCI;
	return r || !c->id[i][0] ? r : opt_items_add(out, ITEM_ID, c->id[i]);
}

/* One device opened in `con` as the VM will open it, then closed. */
static int check_one(struct vfio_container *con, const char *path, char *err, size_t errlen)
{
	struct vfio_group g;
	struct vfio_device d;
	char bdf[VFIO_BDF_LEN];
	int rc = vfio_group_open(con, path, &g, bdf, err, errlen);
	if (rc)
		return rc;
	rc = vfio_device_open(con, &g, bdf, &d, err, errlen);
	if (!rc)
		vfio_device_close(&d);
	vfio_group_close(con, &g);
	return rc;
}

/* Each device opened as the VM will open it, then closed: a device on another driver, a group
 * that is not viable, no IOMMU group, no reset: told before KVM, in the option's words. */
static int check_vfio(const struct vm_config *cfg)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	char err[512];
	for (int i = 0; c && i < c->n; i++) {
		struct vfio_container con;
		int rc = vfio_container_open(&con, &vfio_sys_ops, NULL, err, sizeof(err));
		if (!rc) {
			rc = check_one(&con, c->path[i], err, sizeof(err));
			vfio_container_close(&con);
		}
		if (rc) {
			log_error("--device vfio=%s: %s", c->path[i], err);
			return rc;
		}
	}
	return 0;
}

struct dev_vfio_state {
	struct vm_vfio *v;
	struct vm *vm;
	const char *hot_path; /* the device dev_vfio_hot_add() plugs */
};

/* The VM's set of passed-through devices, made on first use (at start, or by the first
 * hot-add); the balloon told to keep its pages from then on. NULL: out of memory. */
static struct dev_vfio_state *state_of(struct vm *vm)
{
	struct dev_vfio_state *s = device_state(vm, &device_vfio);
	if (!s || s->v)
		return s;
	struct vm_vfio_host h = {&vm->kvm, &vm->mem,	  &vm->pio, &vm->mmio,
				 vm->pci,  &vfio_sys_ops, NULL,	    dev_memhp_region(vm)};
	s->vm = vm;
	s->v = vm_vfio_create(&h);
	if (!s->v)
		return NULL;
	/* inflated pages stay: guest RAM is pinned for DMA (balloon.h says why) */
	struct virtio_dev *balloon = dev_balloon_find(vm);
	if (balloon) {
		virtio_balloon_keep_pages(balloon);
		log_info("--balloon: inflated pages stay in guest RAM, pinned for the "
			 "passed-through device's DMA (counted, not given back to the host)");
	}
	return s;
}

static int create_vfio(struct vm *vm)
{
	const struct dev_vfio_cfg *c = device_cfg_find(vm->cfg, &device_vfio);
	if (!c || !c->n)
		return 0;
	int rc = vm_pci_ensure(vm);
	if (rc)
		return rc;
	struct dev_vfio_state *s = state_of(vm);
	if (!s)
		return -ENOMEM;
	char err[512];
	for (int i = 0; i < c->n; i++) {
		rc = vm_vfio_add(s->v, c->path[i], err, sizeof(err));
		if (rc < 0) {
			log_error("--device vfio=%s: %s", c->path[i], err);
			return rc;
		}
		log_info("--device vfio=%s: PCI 0000:00:%02x.0", c->path[i], rc);
		const struct vm_vfio_dev *d = s->v->devs[s->v->ndevs - 1];
		/* its INTx line in the machine's description (MP table, _PRT), as virtio-pci's */
		rc = d->intx_irqfd ? machine_add_pci_intx(&vm->machine, (uint8_t)d->slot,
							  (uint8_t)(d->intx_pin - 1), d->intx_gsi)
				   : 0;
		if (rc)
			return rc;
	}
	return 0;
}

static void destroy_vfio(struct vm *vm)
{
	struct dev_vfio_state *s = device_state_find(vm, &device_vfio);
	if (s) {
		vm_vfio_destroy(s->v);
		s->v = NULL;
	}
}

/* ---- hotplug (PUT /vmm/vm.add-device on a running VM, vmm/api/control_hotplug.c) ---- */

static int hot_plug(void *opaque, int slot, char *err, size_t errlen)
{
	struct dev_vfio_state *s = opaque;
	int rc = vm_vfio_add_at(s->v, s->hot_path, slot, err, errlen);
	return rc < 0 ? rc : 0;
}

/* The guest released it (its _EJ0): the device goes. */
static void hot_unplug(void *opaque, int slot)
{
	struct dev_vfio_state *s = opaque;
	vm_vfio_remove(s->v, vm_vfio_find_slot(s->v, slot));
}

int dev_vfio_hot_add(struct vm *vm, const struct opt_items *record, const char *id, int *slot,
		     char *err, size_t errlen)
{
	if (!vm_vfio_may_hot_add(vm))
		return fail_rc(
		    -EPERM, err, errlen,
		    "start the VM with --vfio-hotplug to add a passed-through device while "
		    "it runs (its threads' seccomp filters are fixed at start)");
	/* parsed beside the configuration's devices: a device given twice, or a fifth, is refused
	 * before anything is opened */
	const struct dev_vfio_cfg *has = device_cfg_find(vm->cfg, &device_vfio);
	struct dev_vfio_cfg one = has ? *has : (struct dev_vfio_cfg){0};
	int rc = opt_items_find(record, "vfio") == 0
		     ? add_items(&one, record, err, errlen)
		     : fail_rc(-EINVAL, err, errlen, "%s", NOT_VFIO);
	if (rc)
		return rc;
	const char *path = one.path[one.n - 1];
	struct dev_vfio_state *s = vm->pci ? state_of(vm) : NULL;
	if (!s)
		return fail_rc(vm->pci ? -ENOMEM : -ENODEV, err, errlen,
			       vm->pci ? "out of memory" : "the VM has no PCI bus");
	s->hot_path = path;
	struct vm_hotplug_func f = {hot_plug, hot_unplug, s};
	rc = vm_hotplug_add_func(vm, id, dev_vfio_hotplug.kind, &f, slot, err, errlen);
	s->hot_path = NULL;
	if (!rc)
		log_info("--device vfio=%s: hot-added as %s, PCI 0000:00:%02x.0", path, id, *slot);
	return rc;
}

/* A passed-through device makes the VM unsaveable (device_table_unsaveable(): its state is the
 * hardware's). Memory that moves is kept in step (vm_vfio.h), so it stands beside
 * --memory-hotplug and --balloon. */
static int claims_vfio(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	struct device_claim pinned = {.kind = DEVICE_CLAIM_PINNED_RAM,
				      .option = "--device vfio",
				      .what = "guest RAM is pinned for the passed-through device's "
					      "DMA"};
	return c && c->n ? fn(&pinned, opaque) : 0;
}

/* ---- PUT /vmm/vm.add-device and the config file's "vfio": Cloud Hypervisor's DeviceConfig
 * {"path", "id"?, "iommu"?, "pci_segment"?}; before InstanceStart each PUT adds one device to
 * the configuration (the config file's "vfio" is an array of them; a path or id given twice,
 * or a fifth device, is refused by the option's parser in the trial), after it a hot-add
 * (vmm/api/api_routes_hotplug.c). ---- */

static int api_check_vfio(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			  json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"path", API_JSON_STRING, true},
						  {"id", API_JSON_STRING, false},
						  {"iommu", API_JSON_BOOL, false},
						  {"pci_segment", API_JSON_UINT, false},
						  {NULL, 0, false}};
	struct dev_vfio_cfg c = {0};
	(void)id, (void)ctx;
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	if (api_json_bool(body, "iommu", false))
		return fail_rc(-EINVAL, err, errlen,
			       "iommu: a virtual IOMMU in front of the device is not supported");
	if (api_json_uint(body, "pci_segment", 0))
		return fail_rc(-EINVAL, err, errlen, "pci_segment: only segment 0 exists");
	const char *bid = api_json_str(body, "id", "");
	if (bid[0] && (r = api_json_check_id(bid, err, errlen)))
		return r;
	struct opt_items items = {0}; /* the body's path as the record's item: any text */
	r = opt_items_add(&items, "vfio", api_json_str(body, "path", ""));
	r = r ? fail_rc(r, err, errlen, "out of memory") : add_items(&c, &items, err, errlen);
	opt_items_free(&items);
	if (r)
		return r;
	*doc = bid[0] ? json_pack("{s:s, s:s}", "path", c.path[0], "id", bid)
		      : json_pack("{s:s}", "path", c.path[0]);
	return *doc ? 0 : fail_rc(-ENOMEM, err, errlen, "out of memory");
}

static int api_vfio_items(const json_t *doc, struct opt_items *out,
			  const struct device_desc **owner)
{
	const char *id = api_json_str(doc, "id", "");
	(void)owner;
	int r = opt_items_add(out, "vfio", api_json_str(doc, "path", ""));
	return r || !id[0] ? r : opt_items_add(out, "id", id);
}

/* Every device of the configuration, in order (GET /vm/config's "vfio" array). */
static json_t *describe_vfio(const struct vm_config *cfg)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	json_t *all = c && c->n ? json_array() : NULL;
	for (int i = 0; all && i < c->n; i++) {
		json_t *doc = c->id[i][0]
				  ? json_pack("{s:s, s:s}", "path", c->path[i], "id", c->id[i])
				  : json_pack("{s:s}", "path", c->path[i]);
		if (!doc || json_array_append_new(all, doc)) {
			json_decref(all);
			return NULL;
		}
	}
	return all;
}

/* On a running VM, PUT /vmm/vm.add-device hot-adds one (dev_vfio_hotplug.c). */
static const struct device_api_ext vfio_ext = {.running_put_adds = true};

static const struct device_api vfio_api = {.section = "vfio",
					   .route = "/vmm/vm.add-device",
					   .each_put_adds = true,
					   .check = api_check_vfio,
					   .to_items = api_vfio_items,
					   .describe = describe_vfio,
					   .ext = &vfio_ext};

static const struct device_option vfio_options[] = {
    {"device", required_argument,
     "      --device vfio=/sys/bus/pci/devices/DDDD:BB:DD.F[,id=ID]\n"
     "                        pass a host PCI device bound to vfio-pci through to the guest\n"
     "                        (its IOMMU group viable, guest RAM locked for its DMA; at most\n"
     "                        4; a --balloon then keeps its pages; docs/vfio.md)\n",
     parse_device},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_vfio = {.name = "vfio",
					.options = vfio_options,
					.check = check_vfio,
					.create = create_vfio,
					.destroy = destroy_vfio,
					.cfg_size = sizeof(struct dev_vfio_cfg),
					.state_size = sizeof(struct dev_vfio_state),
					.claims = claims_vfio,
					.api = &vfio_api,
					.record_count = vfio_count,
					.record_items = vfio_items,
					.hotplug = &dev_vfio_hotplug,
					.record_add = add_vfio};
