/* The devices the config file and the API know through their descriptors' hooks
 * (vmm/descriptors/device_table.h, struct device_api): the model keeps, per config file section,
 * the document each accepted body gave (an object, or an array for a device with an {id}),
 * GET /vm/config shows them, and InstanceStart turns them into the devices' options. Nothing
 * here names a device. */
#ifndef VMM_API_DEVICES_H
#define VMM_API_DEVICES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_table.h"

struct api_model;

/* PUT on device `d`'s route (`id`: the path's {id}, NULL without one): checks the body with the
 * device's hook, then the device's option parser over every document of that device (so a
 * duplicate or one too many is refused now, with the parser's message), and keeps the
 * document (replacing the one with the same id). Returns 0, or -EINVAL / -ENOMEM with the
 * message in err. */
int api_devices_put(struct api_model *m, const struct device_desc *d, const char *id,
		    const json_t *body, char *err, size_t errlen);

/* Everything api_devices_put() checks, the trial included, without keeping it: sets *doc (a new
 * reference) to the document it would keep, to look at what it names on the host before the
 * model takes it. Returns 0, or -EINVAL / -ENOMEM with the message in err (*doc NULL). */
int api_devices_try(const struct api_model *m, const struct device_desc *d, const char *id,
		    const json_t *body, json_t **doc, char *err, size_t errlen);

/* One accepted document (api_devices_try()) as device d's option into `cfg` (a configuration of
 * its own, vm_config_init()), to check what it names on the host with the device's check hook.
 * Returns 0, or -errno with "ID: reason" in err. */
int api_devices_apply(struct vm_config *cfg, const struct device_desc *d, const json_t *doc,
		      char *err, size_t errlen);

/* Adds each device section to a config file's field list `f` (with room for `max` entries
 * plus the terminator, *n used so far): an object, or an array for a device with an {id}. */
void api_devices_fields(struct api_json_field *f, int *n, int max);

/* The config file's device sections, in table order: each as its PUTs (errors name the section,
 * and the element of an array: "fs[1]: ..."); those of the core devices (device_api.core) or
 * the others. */
int api_devices_load(struct api_model *m, const json_t *root, bool core, char *err, size_t errlen);

/* The id (or, for a device without ids, the section) of the device document in m that makes its
 * device the guest's root (device_api.root_field), other than device `except`'s document
 * `except_id` (NULL, NULL: any); NULL when none does. *dev (when not NULL) gets its device. */
const char *api_devices_root(const struct api_model *m, const struct device_desc *except,
			     const char *except_id, const struct device_desc **dev);

/* The section's value in m (borrowed): the document of a device without ids, the array of
 * documents of one with ids; NULL when none was put. */
const json_t *api_devices_doc(const struct api_model *m, const char *section);
/* Sets `member` of that document to `value` (taken; dropped when there is no document): a live
 * change the API made (PATCH /balloon) shows in GET /vm/config. */
void api_devices_doc_set(struct api_model *m, const char *section, const char *member,
			 json_t *value);

/* Sets GET /vm/config's device members in `j`: those of the core devices (each shown, [] when
 * empty) or the others. Returns 0 or -ENOMEM. */
int api_devices_json(const struct api_model *m, json_t *j, bool core);

/* The device sections of a configuration (command line, snapshot) into m. 0 or -ENOMEM. */
int api_devices_describe(struct api_model *m, const struct vm_config *cfg);

/* Adds every document's record to `cfg` (its device's block), in table order. Returns 0, or
 * -errno with "ID: reason" in err; the caller undoes (device_cfg_restore()). */
int api_devices_build(struct vm_config *cfg, const struct api_model *m, char *err, size_t errlen);

#endif
