/* --device vfio=/sys/bus/pci/devices/DDDD:BB:DD.F: a host PCI function bound to vfio-pci,
 * passed through to the guest on PCI bus 0 (docs/vfio.md; vmm/vm/vm_vfio.h does the work). */
#include "vmm/descriptors/dev_vfio.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/parse.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/vm/vm.h"

#define KIND_VFIO "vfio="

int dev_vfio_parse(struct dev_vfio_cfg *c, const char *arg, char *err, size_t errlen)
{
	char bdf[VFIO_BDF_LEN];
	if (strncmp(arg, KIND_VFIO, strlen(KIND_VFIO)))
		return fail_rc(-EINVAL, err, errlen,
			       "unknown device kind (expected vfio=/sys/bus/pci/devices/"
			       "DDDD:BB:DD.F)");
	const char *path = arg + strlen(KIND_VFIO);
	int rc = vfio_parse_pci_path(path, bdf, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < c->n; i++)
		if (strstr(c->path[i], bdf))
			return fail_rc(-EINVAL, err, errlen, "%s is given twice", bdf);
	if (c->n == VM_VFIO_MAX_DEVICES)
		return fail_rc(-EINVAL, err, errlen, "at most %d passed-through devices",
			       VM_VFIO_MAX_DEVICES);
	/* kept in the one spelling every other path is built from */
	snprintf(c->path[c->n++], DEV_VFIO_PATH_MAX, "%s%s", VFIO_SYSFS_PCI_DEV, bdf);
	return 0;
}

static int parse_device(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct dev_vfio_cfg *c = device_cfg(cfg, &device_vfio);
	if (!c)
		return fail_rc(-ENOMEM, err, errlen, "out of memory");
	return dev_vfio_parse(c, arg, err, errlen);
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
};

static int create_vfio(struct vm *vm)
{
	const struct dev_vfio_cfg *c = device_cfg_find(vm->cfg, &device_vfio);
	if (!c || !c->n)
		return 0;
	struct dev_vfio_state *s = device_state(vm, &device_vfio);
	int rc = s ? vm_pci_ensure(vm) : -ENOMEM;
	if (rc)
		return rc;
	struct vm_vfio_host h = {&vm->kvm, &vm->mem,	  &vm->pio, &vm->mmio,
				 vm->pci,  &vfio_sys_ops, NULL};
	s->v = vm_vfio_create(&h);
	if (!s->v)
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

static int claims_vfio(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	struct device_claim pinned = {
	    .kind = DEVICE_CLAIM_PINNED_RAM,
	    .option = "--device vfio",
	    .what = "guest RAM is mapped for the passed-through device's DMA once, at start, and "
		    "memory that is plugged, unplugged or given back later would not be in step "
		    "with the IOMMU"};
	return c && c->n ? fn(&pinned, opaque) : 0;
}

/* ---- PUT /vmm/vm.add-device and the config file's "vfio": Cloud Hypervisor's DeviceConfig
 * {"path", "iommu"?, "pci_segment"?}, before InstanceStart (a running VM's is refused with the
 * router's 400: no hotplug of a passed-through device yet). One object, so one device through
 * the API; the command line takes VM_VFIO_MAX_DEVICES. ---- */

static int api_check_vfio(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			  json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"path", API_JSON_STRING, true},
						  {"iommu", API_JSON_BOOL, false},
						  {"pci_segment", API_JSON_UINT, false},
						  {NULL, 0, false}};
	struct dev_vfio_cfg c = {0};
	char arg[DEV_VFIO_PATH_MAX + sizeof(KIND_VFIO) + 64];
	(void)id, (void)ctx;
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	if (api_json_bool(body, "iommu", false))
		return fail_rc(-EINVAL, err, errlen,
			       "iommu: a virtual IOMMU in front of the device is not supported");
	if (api_json_uint(body, "pci_segment", 0))
		return fail_rc(-EINVAL, err, errlen, "pci_segment: only segment 0 exists");
	snprintf(arg, sizeof(arg), KIND_VFIO "%s", api_json_str(body, "path", ""));
	r = dev_vfio_parse(&c, arg, err, errlen);
	if (r)
		return r;
	*doc = json_pack("{s:s}", "path", c.path[0]);
	return *doc ? 0 : fail_rc(-ENOMEM, err, errlen, "out of memory");
}

static int api_vfio_option(const json_t *doc, char *arg, size_t len)
{
	int n = snprintf(arg, len, KIND_VFIO "%s", api_json_str(doc, "path", ""));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The command line's first device (GET /vm/config; the section holds one). */
static json_t *describe_vfio(const struct vm_config *cfg)
{
	const struct dev_vfio_cfg *c = device_cfg_find(cfg, &device_vfio);
	return c && c->n ? json_pack("{s:s}", "path", c->path[0]) : NULL;
}

static const struct device_api vfio_api = {.section = "vfio",
					   .route = "/vmm/vm.add-device",
					   .check = api_check_vfio,
					   .to_option = api_vfio_option,
					   .describe = describe_vfio};

static const struct device_option vfio_options[] = {
    {"device", required_argument,
     "      --device vfio=/sys/bus/pci/devices/DDDD:BB:DD.F\n"
     "                        pass a host PCI device bound to vfio-pci through to the guest\n"
     "                        (its IOMMU group viable, guest RAM locked for its DMA; at most\n"
     "                        4; not with --memory-hotplug or --balloon; docs/vfio.md)\n",
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
					.api = &vfio_api};
