/* For the descriptors' record tests (vmm/descriptors/device_record.h): an option given as on the
 * command line, its device's records written, read into a new configuration and written again.
 * The two documents must be equal, and the second configuration's block is there for the test's
 * own look at its fields. Include once per test file. */
#ifndef TESTS_RECORD_ROUNDTRIP_H
#define TESTS_RECORD_ROUNDTRIP_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "vmm/config/vm_config.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"

struct roundtrip {
	struct vm_config a, b; /* the command line's, the record's */
	json_t *doc;	       /* device_records(&a) */
};

/* --`option` args[0], args[1] ... (NULL-terminated; an entry NULL-valued for an option without
 * its argument is not supported here) on transport `t` into rt->a, and its records into rt->b. */
static inline void roundtrip_run(struct roundtrip *rt, enum virtio_transport t, const char *option,
				 const char *const *args)
{
	char err[512] = "";
	vm_config_init(&rt->a);
	vm_config_init(&rt->b);
	rt->a.transport = t;
	for (int i = 0; args[i]; i++) {
		const struct device_option *o = device_table_option(option, args[i]);
		cr_assert(o, "--%s %s: no such option", option, args[i]);
		cr_assert_eq(o->parse(&rt->a, args[i], err, sizeof(err)), 0, "--%s %s: %s", option,
			     args[i], err);
	}
	rt->doc = device_records(&rt->a);
	cr_assert(rt->doc);
	char *text = json_dumps(rt->doc, JSON_SORT_KEYS);
	rt->b.transport = t == TRANSPORT_PCI ? TRANSPORT_MMIO : TRANSPORT_PCI; /* the record says */
	cr_assert_eq(device_records_load(&rt->b, rt->doc, err, sizeof(err)), 0, "%s: %s", text,
		     err);
	json_t *again = device_records(&rt->b);
	char *text2 = json_dumps(again, JSON_SORT_KEYS);
	cr_assert_str_eq(text2, text, "written, read and written again");
	free(text);
	free(text2);
	json_decref(again);
}

/* The record's first instance of device `name`, borrowed from rt->doc. */
static inline const json_t *roundtrip_instance(const struct roundtrip *rt, const char *name, int i)
{
	const json_t *rec = json_array_get(json_object_get(rt->doc, name), (size_t)i);
	cr_assert(rec, "no %s[%d] in the record", name, i);
	return rec;
}

static inline void roundtrip_free(struct roundtrip *rt)
{
	json_decref(rt->doc);
	device_cfg_free_all(&rt->a);
	device_cfg_free_all(&rt->b);
}

/* A record read into a new configuration: 0, or the reason in err. */
static inline int record_load_one(const struct device_desc *d, const char *json, char *err,
				  size_t errlen, struct vm_config *cfg)
{
	json_error_t je;
	json_t *rec = json_loads(json, 0, &je);
	cr_assert(rec, "%s: %s", json, je.text);
	vm_config_init(cfg);
	int r = device_record_from_json(cfg, d, rec, err, errlen);
	json_decref(rec);
	return r;
}

/* Each of the `n` records of `bad` ({JSON text, a piece of the message it must get}) refused for
 * device `d`, with that message and no block left behind. */
static inline void records_refused(const struct device_desc *d, const char *const (*bad)[2],
				   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vm_config cfg;
		char err[512] = "";
		cr_assert_neq(record_load_one(d, bad[i][0], err, sizeof(err), &cfg), 0,
			      "%s accepted", bad[i][0]);
		cr_assert(strstr(err, bad[i][1]), "%s: '%s', want '%s'", bad[i][0], err, bad[i][1]);
		cr_assert_null(device_cfg_find(&cfg, d), "%s: a block left", bad[i][0]);
		device_cfg_free_all(&cfg);
	}
}

#endif
