/* The host resources a device's record names (issue 65): its descriptor's path fields
 * (device_desc.paths, vmm/descriptors/device_table.h) read from the record's items, so that
 * whoever must know them (a restore, vmm/snapshot/restore_paths.h) asks every device the same
 * way and no device's knowledge lives outside its descriptor. */
#ifndef VMM_DEVICE_PATHS_H
#define VMM_DEVICE_PATHS_H

#include "vmm/descriptors/device_table.h"

/* One host resource an instance's record names. */
struct device_path {
	const struct device_path_field *field; /* the item it comes from */
	const char *path;	    /* the path (a tap's name); lives while the call runs */
	enum device_path_kind kind; /* the field's; READ for a WRITE one made read-only */
	unsigned access;	    /* DEVICE_PATH_* bits of `kind` (0 for a tap) */
	const char *id;		    /* the instance's name, or "" */
};

typedef int (*device_path_fn)(const struct device_path *p, void *ctx);

/* The DEVICE_PATH_* bits of `kind`: READ, FOLDER: read; WRITE, SOCKET: read and write;
 * CREATE, LISTEN: write and create; TAP: none. */
unsigned device_path_access(enum device_path_kind kind);

/* Calls cb() for every host resource that `items`, a record of device `d`, names: its path
 * fields in their order, a list's paths in theirs. `index` is the instance's place among the
 * device's (its default name <id_stem><index>), or -1: unknown. Stops at and returns cb()'s
 * first non-zero value; else 0, or -ENOMEM. A device without path fields names none. */
int device_record_paths(const struct device_desc *d, const struct opt_items *items, int index,
			device_path_fn cb, void *ctx);

/* device_record_paths() of every instance of every configured device in `cfg`, devices in
 * table order, instances in theirs (each written as its record, device_desc.record_items).
 * Stops at and returns cb()'s first non-zero value; else 0, or -ENOMEM. */
int device_config_paths(const struct vm_config *cfg, device_path_fn cb, void *ctx);

#endif
