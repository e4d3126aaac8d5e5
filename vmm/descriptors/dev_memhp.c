/* --memory-hotplug total=SIZE[,block=SIZE][,slot=SIZE]: a virtio-mem device whose region the API
 * resizes (PATCH /hotplug/memory). See vmm/descriptors/dev_memhp.h. */
#include "vmm/descriptors/dev_memhp.h"

#include <errno.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/layout.h"
#include "base/log.h"
#include "base/parse.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_save.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/vm/memhp.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_virtio.h"

/* The host side, kept from create() to destroy(). One per VM: a second option replaces the
 * first at parse time. */
static struct memhp_state {
	struct memhp hp;
	struct vm *vm;
} * live;

/* Given again (a second --memory-hotplug, or PUT /hotplug/memory), the last one wins; a refused
 * one leaves the block as it was. */
static int add_memhp(struct vm_config *cfg, const struct opt_items *items, char *err, size_t errlen)
{
	struct dev_memhp_cfg c = {.transport = cfg->transport};
	int rc = virtio_mem_opts_from_items(items, &c.opts, err, errlen);
	struct dev_memhp_cfg *block = rc ? NULL : device_cfg(cfg, &device_memhp);

	if (!rc && !block)
		rc = fail_rc(-ENOMEM, err, errlen, "out of memory");
	if (!rc)
		*block = c;
	return rc;
}

static int parse_memhp(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	return device_record_parse(&device_memhp, cfg, arg, err, errlen);
}

static int memhp_count(const struct vm_config *cfg)
{
	const struct dev_memhp_cfg *c = device_cfg_find(cfg, &device_memhp);
	return c && c->opts.total ? 1 : 0;
}

static int memhp_items(const struct vm_config *cfg, int i, struct opt_items *out,
		       enum virtio_transport *t)
{
	const struct dev_memhp_cfg *c = device_cfg_find(cfg, &device_memhp);
	(void)i;
	*t = c->transport;
	return virtio_mem_opts_to_items(&c->opts, out);
}

/* Where the region of `c` goes in a guest of `ram` bytes (0: it does not fit). */
static uint64_t region_base(const struct dev_memhp_cfg *c, uint64_t ram)
{
	return layout_hotplug_base(ram, c->opts.total, c->opts.slot_size);
}

/* KVM_SET_USER_MEMORY_REGION for one slot-sized piece (size 0 deletes it). */
static int kvm_set_slot(void *opaque, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	struct vm *vm = opaque;
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (vm->kvm.vm_fd < 0)
		return -ENODEV; /* vm_describe(): no KVM, nothing can be plugged */
	return kvm_ioctl(vm->kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static int create_memhp(struct vm *vm)
{
	const struct dev_memhp_cfg *c = device_cfg_find(vm->cfg, &device_memhp);
	uint64_t base;
	struct virtio_dev *dev = NULL;
	int err;

	if (!c)
		return 0;
	base = region_base(c, vm->cfg->mem_size);
	if (!base) {
		log_error("--memory-hotplug: %llu MiB do not fit above the guest's RAM",
			  (unsigned long long)(c->opts.total >> 20));
		return -EINVAL;
	}
	live = calloc(1, sizeof(*live));
	if (!live)
		return -ENOMEM;
	live->vm = vm;
	err =
	    memhp_init(&live->hp, &vm->mem, base,
		       &(struct memhp_region){c->opts.total, c->opts.block_size, c->opts.slot_size},
		       DEV_MEMHP_FIRST_SLOT, &(struct memhp_slots){kvm_set_slot, vm});
	if (err) {
		log_error("--memory-hotplug: cannot reserve %llu MiB: %s",
			  (unsigned long long)(c->opts.total >> 20), strerror(-err));
		free(live);
		live = NULL;
		return err;
	}
	err = virtio_mem_create(&dev, &c->opts, base,
				&(struct virtio_mem_backend){memhp_plug, memhp_unplug, &live->hp});
	return err ? err : vm_virtio_init_and_place(vm, dev, c->transport);
}

/* After the transports destroyed the device: nothing calls the backend any more. */
static void destroy_memhp(struct vm *vm)
{
	if (!live || live->vm != vm)
		return;
	memhp_free(&live->hp);
	free(live);
	live = NULL;
}

static int pick_memhp(struct virtio_dev *dev, void *opaque)
{
	if (!virtio_mem_is(dev))
		return 0;
	*(struct virtio_dev **)opaque = dev;
	return 1;
}

struct virtio_dev *dev_memhp_find(struct vm *vm)
{
	struct virtio_dev *found = NULL;

	vm_for_each_virtio_dev(vm, pick_memhp, &found);
	return found;
}

struct memhp *dev_memhp_region(struct vm *vm)
{
	return live && live->vm == vm ? &live->hp : NULL;
}

/* ---- PUT /hotplug/memory and the config file's "memory-hotplug": Firecracker's
 * {"total_size_mib", "block_size_mib"?, "slot_size_mib"?} ---- */

#define MAX_MIB (VIRTIO_MEM_MAX_REGION >> 20)

/* What GET /vm/config shows: the configuration alone, a valid config file section (the sizes
 * plugged and requested are GET /hotplug/memory's, once the VM runs). */
static json_t *memhp_doc(uint64_t total, uint64_t slot, uint64_t block)
{
	return json_pack("{s:I, s:I, s:I}", "total_size_mib", (json_int_t)total, "slot_size_mib",
			 (json_int_t)slot, "block_size_mib", (json_int_t)block);
}

static int api_check_memhp(const json_t *body, const char *id, const struct device_api_ctx *ctx,
			   json_t **doc, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"total_size_mib", API_JSON_UINT, true},
						  {"block_size_mib", API_JSON_UINT, false},
						  {"slot_size_mib", API_JSON_UINT, false},
						  {NULL, 0, false}};
	(void)id, (void)ctx;
	if (api_json_check(body, f, err, errlen))
		return -EINVAL;
	uint64_t total = api_json_uint(body, "total_size_mib", 0);
	uint64_t block = api_json_uint(body, "block_size_mib", VIRTIO_MEM_DEFAULT_BLOCK >> 20);
	uint64_t slot = api_json_uint(body, "slot_size_mib", VIRTIO_MEM_DEFAULT_SLOT >> 20);
	if (total > MAX_MIB || block > MAX_MIB || slot > MAX_MIB) {
		snprintf(err, errlen, "sizes must be at most %llu MiB",
			 (unsigned long long)MAX_MIB);
		return -EINVAL;
	}
	struct virtio_mem_opts o = {
	    .total = total << 20, .block_size = block << 20, .slot_size = slot << 20};
	if (!block || !slot) {
		snprintf(err, errlen, "block_size_mib and slot_size_mib must not be 0");
		return -EINVAL;
	}
	if (virtio_mem_check_opts(&o, err, errlen))
		return -EINVAL;
	*doc = memhp_doc(total, slot, block);
	if (*doc)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int api_memhp_items(const json_t *doc, struct opt_items *out,
			   const struct device_desc **owner)
{
	static const char *const keys[][2] = {
	    {"total", "total_size_mib"}, {"block", "block_size_mib"}, {"slot", "slot_size_mib"}};
	int r = 0;
	(void)owner;
	for (size_t i = 0; !r && i < sizeof(keys) / sizeof(keys[0]); i++)
		r = opt_items_addf(out, keys[i][0], "%lluM",
				   (unsigned long long)api_json_uint(doc, keys[i][1], 0));
	return r;
}

static json_t *describe_memhp(const struct vm_config *cfg)
{
	const struct dev_memhp_cfg *c = device_cfg_find(cfg, &device_memhp);
	return c ? memhp_doc(c->opts.total >> 20, c->opts.slot_size >> 20, c->opts.block_size >> 20)
		 : NULL;
}

static const struct device_api memhp_api = {.section = "memory-hotplug",
					    .route = "/hotplug/memory",
					    .check = api_check_memhp,
					    .to_items = api_memhp_items,
					    .describe = describe_memhp,
					    .live = &dev_memhp_live};

/* The region above the RAM, and memory a vhost-user back-end cannot reach: it sees only the
 * memory table of boot RAM, and plugged memory is not in it. */
static int claims_memhp(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	const struct dev_memhp_cfg *c = device_cfg_find(cfg, &device_memhp);
	if (!c || !c->opts.total || !c->opts.slot_size)
		return 0; /* not given, or its option was refused (the block stays zero) */
	struct device_claim region = {.kind = DEVICE_CLAIM_GUEST_RANGE,
				      .option = "--memory-hotplug",
				      .base = region_base(c, cfg->mem_size),
				      .size = c->opts.total};
	struct device_claim private = {
	    .kind = DEVICE_CLAIM_PRIVATE_RAM,
	    .option = "--memory-hotplug",
	    .what = "hotplugged memory is not shared with vhost-user back-ends"};
	int r = fn(&region, opaque);
	return r ? r : fn(&private, opaque);
}

static const struct device_option memhp_options[] = {
    {"memory-hotplug", required_argument,
     "      --memory-hotplug total=SIZE[,block=SIZE][,slot=SIZE][,requested=SIZE]\n"
     "                        a virtio-mem region of SIZE above the RAM (blocks of 2 MiB, KVM\n"
     "                        slots of 128 MiB by default), REQUESTED of it asked for at boot;\n"
     "                        PATCH /hotplug/memory asks the guest to plug or unplug (sizes\n"
     "                        take K/M/G; a bare number is MiB)\n",
     parse_memhp},
    {NULL, 0, NULL, NULL},
};

const struct device_desc device_memhp = {.name = "memory-hotplug",
					 .options = memhp_options,
					 .create = create_memhp,
					 .destroy = destroy_memhp,
					 .cfg_size = sizeof(struct dev_memhp_cfg),
					 .claims = claims_memhp,
					 .api = &memhp_api,
					 .built_beside_source = true,
					 .record_count = memhp_count,
					 .record_items = memhp_items,
					 .record_add = add_memhp,
					 .save = &dev_memhp_save};
