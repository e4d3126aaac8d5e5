/* The optional devices, each declared once (Solo5 hvt's module table): its command-line
 * options with their usage text and parser, and the function that creates it in a VM.
 * vmm/machine/cli.c builds its option list and --help from this table and
 * vmm/machine/vm_virtio_devices.c creates the devices by walking it; neither names a device.
 *
 * Adding a virtio device: write its descriptor (vmm/machine/dev_<name>.c: options, parser, create,
 * and a configuration block kept with device_cfg(), declared in vmm/machine/dev_<name>.h for its
 * tests) and add its line to device_table[] in vmm/machine/device_table.c. vmm/machine/dev_rng.c is
 * the model; nothing else changes (the device model itself lives in virtio/). The table's order is
 * the order the guest sees the devices in (disks first, so the first --disk is /dev/vda; then NICs,
 * console, rng, display, balloon).
 *
 * Error convention (vmm/base/errors.h): parsers fill `err` and return -errno, never log; the CLI
 * prints "vmm: --OPTION ARG: <err>" once. create() functions log what failed (they are at the
 * edge, they know the file or tap) and return -errno; the errno class picks the exit status. */
#ifndef VMM_DEVICE_TABLE_H
#define VMM_DEVICE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/machine/cli.h"

struct vm;
struct virtio_dev;

/* One long option of a device. */
struct device_option {
	const char *name;  /* without "--" */
	int has_arg;	   /* getopt's no_argument, required_argument or optional_argument */
	const char *usage; /* the option's --help lines, each ending in "\n" */
	/* Parses one occurrence into `cfg` (cfg->transport is the transport in effect). Returns
	 * 0, or -errno with a message in `err` (what follows "--OPTION ARG: "). */
	int (*parse)(struct vm_config *cfg, const char *arg, char *err, size_t errlen);
};

struct device_desc {
	const char *name;
	const struct device_option *options; /* ends with a {NULL} entry */
	/* Checks what the options name on the host (files opened in the mode the device will
	 * use, locks, taps, directories), before the VM and KVM exist, so each problem of the
	 * user's gets its own message even where KVM is unusable. Returns 0 or -errno (logged).
	 * NULL: nothing to check. */
	int (*check)(const struct vm_config *cfg);
	/* Creates every instance `vm->cfg` asks for and places each with vm_virtio_place().
	 * Returns 0 or -errno (logged). NULL: nothing to create (option-only entry). */
	int (*create)(struct vm *vm);
	/* Once the virtio devices run, before the vCPUs (e.g. opens a window). 0 or -errno.
	 * NULL: nothing to do. */
	int (*start)(struct vm *vm);
	/* The host terminal changed size (SIGWINCH), on the main thread while the VM runs: pass it
	 * on without blocking and without taking a device lock (e.g. wake the device's I/O
	 * thread). NULL: the device does not care. */
	void (*terminal_resized)(struct vm *vm);
	/* Frees what create() made besides the virtio devices (the transports own and destroy
	 * those first). Runs in reverse table order, also after a failed create. NULL: nothing. */
	void (*destroy)(struct vm *vm);
	/* Frees what the parser allocated in `cfg` (cli_free()). NULL: nothing. */
	void (*release)(struct vm_config *cfg);
	/* Size of the device's own configuration block (device_cfg()); 0: it has fields in
	 * struct vm_config instead (the older devices). */
	size_t cfg_size;
	/* The device hands guest RAM to another process (a vhost-user back-end): when the device
	 * is configured, RAM is one shared memfd (guest_mem_alloc_shared()). */
	bool shares_memory;
};

/* The table, in the order the devices are created; NULL-terminated. */
extern const struct device_desc *const device_table[];

/* Runs every device's check() in table order; the first failure's -errno, else 0. */
int device_table_check(const struct vm_config *cfg);

/* True when a configured device has shares_memory. */
bool device_table_shares_memory(const struct vm_config *cfg);

/* The configuration block of device `d` in `cfg` (d->cfg_size bytes), allocated zeroed on first
 * use: for parsers. NULL when out of memory. */
void *device_cfg(struct vm_config *cfg, const struct device_desc *d);
/* The block if the device's option was given, else NULL: for create(). */
const void *device_cfg_find(const struct vm_config *cfg, const struct device_desc *d);
/* Frees every block (cli_free()). */
void device_cfg_free_all(struct vm_config *cfg);

/* Puts an initialised virtio device on transport `t`, creating the PCI bus when the first
 * device asks for it. Takes ownership of `dev` (freed with the VM, also on failure). Returns 0
 * or -errno (logged). (vmm/machine/vm_virtio_devices.c) */
int vm_virtio_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t);

/* Initialises a device created without guest memory (virtio_dev_init()), then places it.
 * Takes ownership of `dev` in every case. Returns 0 or -errno (logged). */
int vm_virtio_init_and_place(struct vm *vm, struct virtio_dev *dev, enum virtio_transport t);

#endif
