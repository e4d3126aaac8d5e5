/* A device's record: its configuration as typed items, read and written the same way by every
 * front end (issue 65). A descriptor with record hooks (device_desc.record_*) parses its option
 * string by splitting it into items (opts_split()) and adding an instance from them
 * (record_add), and writes each instance back as items (record_items); here those items become
 * JSON and come back:
 *   one instance   {"transport": "pci", "path": "/img,1.raw", "ro": true, "id": "rootfs"}
 *   a device       [instance, ...] in the order of its instances
 *   the VM         {"disk": [...], "rng": [...]}: every configured device with a record, by its
 *                  descriptor's name, in table order
 * Written then read back, a record makes the same configuration (the unit tests check each
 * descriptor), and a value may hold any text, commas included. */
#ifndef VMM_DEVICE_RECORD_H
#define VMM_DEVICE_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/descriptors/device_table.h"

/* True when device `d` has record hooks. */
bool device_record_known(const struct device_desc *d);

/* --OPTION ARG of device `d` through its record: ARG split into items (d->record_head naming
 * its first element), then one instance added. For the descriptors' option parsers. Returns 0 or
 * -errno with the reason in err. */
int device_record_parse(const struct device_desc *d, struct vm_config *cfg, const char *arg,
			char *err, size_t errlen);

/* Instance `i` of device `d` in `cfg` as its JSON record (a new reference), or NULL when out of
 * memory. */
json_t *device_record_instance(const struct vm_config *cfg, const struct device_desc *d, int i);

/* Instance `i` of device `d` in `cfg` in the option's string form (what follows --OPTION), for
 * messages and tests. Returns 0, -ENAMETOOLONG or -ENOMEM. */
int device_record_spec(const struct vm_config *cfg, const struct device_desc *d, int i, char *arg,
		       size_t len);

/* The instances of device `d` in `cfg` as an array (a new reference; [] when it has none), or
 * NULL when out of memory. */
json_t *device_record_to_json(const struct vm_config *cfg, const struct device_desc *d);

/* Adds the instance that JSON record `rec` describes to `cfg` through the device's checks; a
 * "transport" member ("pci" or "mmio") picks its transport, else cfg->transport. Returns 0, or
 * -errno with the reason in err. */
int device_record_from_json(struct vm_config *cfg, const struct device_desc *d, const json_t *rec,
			    char *err, size_t errlen);

/* The record an accepted API document `doc` of device `d` stands for (device_api.to_items):
 * its items into *out (the caller frees them) and the descriptor whose record they are into
 * *owner. Returns 0 or -ENOMEM. */
int device_record_of_doc(const struct device_desc *d, const json_t *doc, struct opt_items *out,
			 const struct device_desc **owner);

/* The same record in the option's string form (--OPTION ARG's ARG, a comma in a value written
 * ",,"), for messages that quote it and tests. Returns 0, -ENAMETOOLONG or -ENOMEM. */
int device_record_doc_spec(const struct device_desc *d, const json_t *doc, char *arg, size_t len);

/* The first device after `after` (NULL: from the start), in table order, that has a record and
 * instances in `cfg`, or NULL: no more. What a configuration has besides its recorded core
 * options (struct vm_config.recorded[]). */
const struct device_desc *device_records_next(const struct vm_config *cfg,
					      const struct device_desc *after);

/* Every configured device with a record: {"NAME": [instance, ...], ...} in table order (a new
 * reference), or NULL when out of memory. */
json_t *device_records(const struct vm_config *cfg);

/* Adds every instance of `doc` (what device_records() wrote) to `cfg`, devices in table order;
 * a member that names no device with a record is refused. Returns 0, or -errno with the reason
 * in err ("disk[1]: ..."). */
int device_records_load(struct vm_config *cfg, const json_t *doc, char *err, size_t errlen);

#endif
