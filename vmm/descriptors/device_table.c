/* The device table (see vmm/descriptors/device_table.h): one line per device, in the order the
 * guest sees them. */
#include "vmm/descriptors/device_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vm/vm.h"

/* Each defined in its vmm/descriptors/dev_<name>.c. */
extern const struct device_desc device_disk, device_net, device_console, device_rng, device_display,
    device_vsock, device_balloon, device_memhp, device_pmem, device_fs, device_vu_blk,
    device_vu_net, device_vfio;

/* The entries, then NULL up to the end: room for the one a unit test adds
 * (device_table_add_for_test()). */
static const struct device_desc *table[VM_MAX_DEVICE_KINDS + 1] = {
    &device_disk,    /* /dev/vda, /dev/vdb, ... */
    &device_net,     /* eth0, ... */
    &device_console, /* hvc0 with --console virtio */
    &device_rng,     /* /dev/hwrng */
    &device_display, /* gpu, keyboard, tablet */
    &device_vsock,   /* AF_VSOCK to a host socket */
    &device_balloon, /* memory the guest gives back */
    &device_fs,	     /* shared folders (vhost-user) */
    &device_vu_blk,  /* vhost-user disks: after every --disk PATH */
    &device_vu_net,  /* vhost-user NICs: after every other --net */
    &device_memhp,   /* memory the guest plugs and unplugs */
    &device_pmem,    /* /dev/pmem0, ... */
    &device_vfio,    /* passed-through PCI devices: after every virtio-pci device */
};

/* struct vm_config has a device_cfg slot per entry: the initializer above refuses more. */
const struct device_desc *const *const device_table = table;

int device_table_add_for_test(const struct device_desc *d)
{
	for (int i = 0; i < VM_MAX_DEVICE_KINDS; i++)
		if (!table[i]) {
			table[i] = d;
			return 0;
		}
	return -ENOSPC;
}

static int index_of(const struct device_desc *d)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i] == d)
			return i;
	return -1;
}

void *device_cfg(struct vm_config *cfg, const struct device_desc *d)
{
	int i = index_of(d);
	if (i < 0 || !d->cfg_size)
		return NULL;
	if (!cfg->device_cfg[i])
		cfg->device_cfg[i] = calloc(1, d->cfg_size);
	return cfg->device_cfg[i];
}

const void *device_cfg_find(const struct vm_config *cfg, const struct device_desc *d)
{
	int i = index_of(d);
	return i < 0 ? NULL : cfg->device_cfg[i];
}

/* Frees block `b` of device table entry `i` and what it owns. */
static void free_block(int i, void *b)
{
	if (b && device_table[i]->cfg_free)
		device_table[i]->cfg_free(b);
	free(b);
}

void device_cfg_free_all(struct vm_config *cfg)
{
	for (int i = 0; device_table[i]; i++) {
		free_block(i, cfg->device_cfg[i]);
		cfg->device_cfg[i] = NULL;
	}
}

void *device_state(struct vm *vm, const struct device_desc *d)
{
	int i = index_of(d);
	if (i < 0 || !d->state_size)
		return NULL;
	if (!vm->device_state[i])
		vm->device_state[i] = calloc(1, d->state_size);
	return vm->device_state[i];
}

void *device_state_find(const struct vm *vm, const struct device_desc *d)
{
	int i = index_of(d);
	return i < 0 ? NULL : vm->device_state[i];
}

void device_state_free_all(struct vm *vm)
{
	for (int i = 0; i < VM_MAX_DEVICE_KINDS; i++) {
		free(vm->device_state[i]);
		vm->device_state[i] = NULL;
	}
}

int device_table_check(const struct vm_config *cfg)
{
	int err = device_table_claims_check(cfg);
	for (int i = 0; !err && device_table[i]; i++)
		err = device_table[i]->check ? device_table[i]->check(cfg) : 0;
	return err;
}

bool device_table_shares_memory(const struct vm_config *cfg)
{
	return device_table_claim_find(cfg, DEVICE_CLAIM_SHARED_RAM, NULL, NULL);
}

/* Whether entry `o` of descriptor `d` is the one for --`name` `arg` in round `with_takes` (the
 * descriptors with takes() first, then the one without). */
static bool option_for(const struct device_desc *d, const struct device_option *o, const char *name,
		       const char *arg, bool with_takes)
{
	if (strcmp(o->name, name) || !d->takes != !with_takes)
		return false;
	return !d->takes || (arg && d->takes(arg));
}

const struct device_option *device_table_option(const char *name, const char *arg)
{
	for (int round = 1; round >= 0; round--)
		for (int i = 0; device_table[i]; i++)
			for (const struct device_option *o = device_table[i]->options; o->name; o++)
				if (option_for(device_table[i], o, name, arg, round))
					return o;
	return NULL;
}

const struct device_desc *device_table_option_owner(const char *name, const char *arg)
{
	for (int round = 1; round >= 0; round--)
		for (int i = 0; device_table[i]; i++)
			for (const struct device_option *o = device_table[i]->options; o->name; o++)
				if (option_for(device_table[i], o, name, arg, round))
					return device_table[i];
	return NULL;
}

bool device_table_built_beside_source(const struct vm_config *cfg)
{
	for (int i = 0; device_table[i]; i++) {
		if (!device_table[i]->built_beside_source && device_cfg_find(cfg, device_table[i]))
			return false;
	}
	return true;
}

const struct device_desc *device_table_route(const char *path, const char **id)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api *api = device_table[i]->api;
		size_t n = api ? strlen(api->route) : 0;
		if (!api || strncmp(path, api->route, n))
			continue;
		bool has_id = api->route[n - 1] == '/';
		if (!has_id && !path[n]) {
			*id = NULL;
			return device_table[i];
		}
		if (has_id && path[n] && !strchr(path + n, '/')) {
			*id = path + n;
			return device_table[i];
		}
	}
	return NULL;
}

const struct device_desc *device_table_section(const char *section)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i]->api && !strcmp(device_table[i]->api->section, section))
			return device_table[i];
	return NULL;
}

const struct device_desc *device_table_hotplug_kind(const struct vm_hotplug_kind *kind)
{
	for (int i = 0; device_table[i]; i++)
		if (device_table[i]->hotplug && device_table[i]->hotplug->kind == kind)
			return device_table[i];
	return NULL;
}

/* A copy of block `b` of device table entry `i` that owns its own heap memory, or NULL when
 * out of memory. */
static void *copy_block(int i, const void *b)
{
	const struct device_desc *d = device_table[i];
	void *copy = malloc(d->cfg_size);
	if (!copy)
		return NULL;
	memcpy(copy, b, d->cfg_size);
	if (d->cfg_copy && d->cfg_copy(copy, b)) {
		free_block(i, copy);
		return NULL;
	}
	return copy;
}

/* Whether the API adds instances of `d`: its own section's, or another's that lists them too
 * (device_hotplug.model: a vhost-user disk among the drives). */
static bool api_added(const struct device_desc *d)
{
	return d->api || (d->hotplug && d->hotplug->model);
}

int device_cfg_save(const struct vm_config *cfg, struct device_cfg_saved *s)
{
	*s = (struct device_cfg_saved){0};
	for (int i = 0; device_table[i]; i++) {
		const void *b = cfg->device_cfg[i];
		if (!api_added(device_table[i]) || !b)
			continue;
		s->had[i] = true;
		s->block[i] = copy_block(i, b);
		if (!s->block[i]) {
			device_cfg_saved_free(s);
			return -ENOMEM;
		}
	}
	return 0;
}

void device_cfg_restore(struct vm_config *cfg, struct device_cfg_saved *s)
{
	for (int i = 0; device_table[i]; i++) {
		if (!api_added(device_table[i]))
			continue;
		free_block(i, cfg->device_cfg[i]);
		cfg->device_cfg[i] = s->had[i] ? s->block[i] : NULL;
		s->block[i] = NULL;
	}
	device_cfg_saved_free(s);
}

void device_cfg_saved_free(struct device_cfg_saved *s)
{
	for (int i = 0; device_table[i]; i++) {
		free_block(i, s->block[i]);
		s->block[i] = NULL;
		s->had[i] = false;
	}
}
