/* The host resources a device's record names (issue 65): its descriptor's path fields
 * (device_desc.paths, vmm/descriptors/device_table.h) read from the record's items, so that
 * whoever must know them (a restore, vmm/snapshot/restore_paths.h) asks every device the same
 * way and no device's knowledge lives outside its descriptor. */
#ifndef VMM_DEVICE_PATHS_H
#define VMM_DEVICE_PATHS_H

#include "vmm/descriptors/device_table.h"

/* ---- The fields (issue 65): the items of a device's record that name host resources, each
 * with what the device does with it. Written once per descriptor (device_desc.paths), read by
 * device_record_paths() (vmm/descriptors/device_paths.h) for whoever must know them: a restore
 * checks every one (vmm/snapshot/restore_paths.h). ---- */

/* What a device does with the resource an item names. */
enum device_path_kind {
	DEVICE_PATH_KIND_READ,	 /* a file it opens for reading only (a read-only disk) */
	DEVICE_PATH_KIND_WRITE,	 /* a file it opens for reading and writing (a writable disk) */
	DEVICE_PATH_KIND_CREATE, /* a file it creates or replaces and writes (a console file) */
	DEVICE_PATH_KIND_SOCKET, /* a unix socket it connects to (a vhost-user back-end's) */
	DEVICE_PATH_KIND_LISTEN, /* a unix socket it creates and listens on (vsock's uds) */
	DEVICE_PATH_KIND_FOLDER, /* a folder it reads files in (a disk's backing_dirs) */
	DEVICE_PATH_KIND_TAP,	 /* not a path: a host network interface's name (a tap) */
};

/* One item of a record that names a host resource. */
struct device_path_field {
	const char *item; /* the record's item ("path", "uds"); NULL ends the table */
	enum device_path_kind kind;
	const char *what; /* in messages: "disk", "console file" */
	/* A flag item that makes a READ-WRITE file read-only ("ro": "write unless ro"): when the
	 * record has it (alone or "on"), the kind is DEVICE_PATH_KIND_READ. NULL: none. */
	const char *ro_item;
	/* The text the value starts with when it names a path ("file:" of a console's
	 * kind=file:PATH), dropped from the path; a value without it names none. NULL: the whole
	 * value is the path. */
	const char *prefix;
	/* The value is a list of paths separated by this character (backing_dirs' ':'), or 0. */
	char separator;
	/* How an operator names another one for a restore besides the snapshot's folder and
	 * --landlock-rules ("--disk PATH,id=ID (API: drive_overrides)"), or NULL. */
	const char *hint;
};

/* The path fields of a descriptor's record, and how its instances are named in messages. */
struct device_paths {
	/* The item that names an instance ("id", a share's "tag"), or NULL. */
	const char *id_item;
	/* An instance without that item is <stem><N>, N its index ("drive0"); NULL: unnamed. */
	const char *id_stem;
	const struct device_path_field *fields; /* ends with a {NULL} entry */
};

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
