/* The devices' PATCH hooks (struct device_patch_hooks, vmm/descriptors/device_api_ext.h): the
 * body checked against the model's document, the changes it asks for in order, each written
 * into the document; a hot-added instance's body. The API's one handler
 * (vmm/api/api_routes_patch.c) and its answers are tested through the routes
 * (tests/unit/vmm/api). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_table.h"

static char err[256];

static const struct device_patch_hooks *hooks(const char *section)
{
	const struct device_desc *d = device_table_section(section);
	cr_assert(d && d->api->ext && d->api->ext->patch, "%s has PATCH hooks", section);
	return d->api->ext->patch;
}

static json_t *body(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	return j;
}

Test(dev_patch, only_the_firecracker_hot_added_sections_take_a_patch)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_api *api = device_table[i]->api;
		if (!api || !api->ext || !api->ext->patch)
			continue;
		cr_assert(api->id_field, "%s: a PATCH names its instance", api->section);
		cr_assert(api->live && api->live->set, "%s: a PATCH changes the running device",
			  api->section);
		cr_assert(api->ext->patch->check && api->ext->patch->changes &&
			  api->ext->patch->record);
	}
	hooks("drives"), hooks("pmem");
	cr_assert_str_eq(hooks("network-interfaces")->kept_null, "egress", "null: no policy");
	cr_assert_null(hooks("drives")->kept_null);
}

Test(dev_patch, a_drive_changes_its_limits_then_its_file)
{
	const struct device_patch_hooks *h = hooks("drives");
	json_t *doc = body("{\"drive_id\": \"d\", \"path_on_host\": \"/a.img\"}");
	json_t *b = body("{\"drive_id\": \"d\", \"path_on_host\": \"/b.img\", \"rate_limiter\": "
			 "{\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}}");
	struct device_patch p = {0};

	cr_assert_eq(h->check(doc, "d", b, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(h->changes("d", b, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.n, 2);
	cr_assert_str_eq(p.step[0].set.member, "rate_limiter");
	cr_assert_str_eq(p.step[0].unavailable, "rate limiters cannot be changed here");
	cr_assert_str_eq(p.step[1].set.member, "path_on_host");
	cr_assert_str_eq(p.step[1].set.str, "/b.img");
	cr_assert_null(p.step[1].unavailable, "no backend: the change fails");
	p.now[0] = p.rl[0].cfg; /* what the device would have in force */
	h->record(doc, &p.step[0].set);
	h->record(doc, &p.step[1].set);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "path_on_host")), "/b.img");
	cr_assert_not_null(json_object_get(doc, "rate_limiter"));
	json_decref(b);
	json_decref(doc);
}

Test(dev_patch, a_drive_body_is_checked_before_its_id)
{
	const struct device_patch_hooks *h = hooks("drives");
	json_t *b = body("{\"drive_id\": \"d\", \"bogus\": 1}");
	json_t *ok = body("{\"drive_id\": \"d\"}");
	json_t *vu = body("{\"drive_id\": \"d\", \"socket\": \"/s\"}");
	struct device_patch p = {0};

	cr_assert_eq(h->check(NULL, "d", b, &p, err, sizeof(err)), -EINVAL);
	cr_assert_eq(h->check(NULL, "d", ok, &p, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "no drive with id `d`");
	cr_assert_eq(h->check(vu, "d", ok, &p, err, sizeof(err)), -EINVAL, "a vhost-user disk");
	cr_assert_eq(h->changes("d", ok, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.n, 0, "nothing to change");
	json_decref(b);
	json_decref(ok);
	json_decref(vu);
}

Test(dev_patch, a_nic_changes_its_egress_then_its_limits)
{
	const struct device_patch_hooks *h = hooks("network-interfaces");
	json_t *doc = body("{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\"}");
	json_t *b = body("{\"iface_id\": \"n\", \"egress\": [], \"tx_rate_limiter\": "
			 "{\"ops\": {\"size\": 10, \"refill_time\": 100}}}");
	struct device_patch p = {0};

	cr_assert_eq(h->check(doc, "n", b, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(h->changes("n", b, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n, 2);
	cr_assert_str_eq(p.step[0].set.member, "egress");
	cr_assert_not_null(p.step[0].set.egress);
	cr_assert_str_eq(p.step[1].set.member, "rate_limiters");
	cr_assert(p.step[1].set.rl[1]->has_ops);
	p.now[1] = p.rl[1].cfg;
	h->record(doc, &p.step[1].set);
	cr_assert_null(json_object_get(doc, "rx_rate_limiter"), "rx limits nothing");
	cr_assert_not_null(json_object_get(doc, "tx_rate_limiter"));
	json_decref(b);
	json_decref(doc);
}

Test(dev_patch, a_hot_added_nic_names_its_failure_by_what_the_body_has)
{
	const struct device_patch_hooks *h = hooks("network-interfaces");
	json_t *b = body("{\"iface_id\": \"n\", \"egress\": null}");
	json_t *other = body("{\"iface_id\": \"m\"}");
	struct device_patch p = {0};

	cr_assert_eq(h->hot_check("n", b, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n, 1, "egress alone: no limits step");
	cr_assert_str_eq(p.step[0].failed, "cannot update the network interface");
	memset(&p, 0, sizeof(p));
	cr_assert_eq(h->hot_check("n", other, &p, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "The iface_id in the body differs from the path's.");
	json_decref(b);
	json_decref(other);
}

Test(dev_patch, pmem_names_its_instance_by_id_and_its_unknown_id_after_the_state)
{
	const struct device_patch_hooks *h = hooks("pmem");
	json_t *b = body("{\"id\": \"p\", \"rate_limiter\": {\"ops\": {\"size\": 5, "
			 "\"refill_time\": 10}}}");
	struct device_patch p = {0};

	cr_assert(h->id_after_state);
	cr_assert_null(h->hot_check);
	cr_assert_eq(h->check(NULL, "p", b, &p, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "no pmem device with id `p`");
	cr_assert_eq(h->changes("p", b, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.step[0].set.str, "p");
	json_decref(b);
}
