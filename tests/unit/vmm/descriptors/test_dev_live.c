/* The descriptors' live hooks (vmm/descriptors/dev_live.h) without a VM: the balloon's and
 * virtio-mem's PATCH bodies
 * (struct device_live.check) and their documents (dev_balloon_live_doc(),
 * dev_memhp_live_doc()). The record keeping of each device is test_live_config.c's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/balloon/balloon.h"
#include "virtio/mem/mem.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/descriptors/dev_memhp.h"

static char err[256];

static json_t *body(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	return j;
}

Test(dev_live, balloon_bodies)
{
	const struct device_live *l = device_balloon.api->live;
	struct device_live_set s;
	json_t *b = body("{\"amount_mib\": 64}");

	cr_assert_eq(l->check("", b, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(s.member, "amount_mib");
	cr_assert_eq(s.num, 64);
	json_decref(b);
	b = body("{\"stats_polling_interval_s\": 0}");
	cr_assert_eq(l->check("statistics", b, &s, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "stats_polling_interval_s must be 1 to 86400");
	json_decref(b);
	b = body("{\"stats_polling_interval_s\": 5}");
	cr_assert_eq(l->check("statistics", b, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(s.member, "stats_polling_interval_s");
	cr_assert_eq(s.num, 5);
	json_decref(b);
	b = body("{\"amount_mib\": 1, \"more\": 2}");
	cr_assert_eq(l->check("", b, &s, err, sizeof(err)), -EINVAL, "unknown fields are refused");
	json_decref(b);
	cr_assert(l->recorded, "a balloon change is in its option: refused while migrating");
}

Test(dev_live, balloon_documents)
{
	struct virtio_balloon_info i = {.target_pages = 512, .actual_pages = 256};
	json_t *doc;

	cr_assert_eq(dev_balloon_live_doc(&i, "", &doc), 0);
	cr_assert_eq(json_integer_value(json_object_get(doc, "amount_mib")), 2);
	cr_assert_eq(json_integer_value(json_object_get(doc, "actual_mib")), 1);
	json_decref(doc);
	cr_assert_eq(dev_balloon_live_doc(&i, "statistics", &doc), -ENODATA,
		     "no interval: no statistics");
	i.stats_interval_s = 1;
	i.stat_valid[VIRTIO_BALLOON_S_MEMFREE] = true;
	i.stats[VIRTIO_BALLOON_S_MEMFREE] = 4096;
	cr_assert_eq(dev_balloon_live_doc(&i, "statistics", &doc), 0);
	cr_assert_eq(json_integer_value(json_object_get(doc, "target_pages")), 512);
	cr_assert_eq(json_integer_value(json_object_get(doc, "free_memory")), 4096);
	cr_assert_null(json_object_get(doc, "swap_in"), "only what the driver sent");
	json_decref(doc);
}

Test(dev_live, memhp_body_and_document)
{
	const struct device_live *l = device_memhp.api->live;
	struct device_live_set s;
	json_t *b = body("{\"requested_size_mib\": 2000000}");

	cr_assert_eq(l->check("", b, &s, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "requested_size_mib must be at most total_size_mib");
	json_decref(b);
	b = body("{\"requested_size_mib\": 128}");
	cr_assert_eq(l->check("", b, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.num, 128);
	json_decref(b);
	cr_assert_not(l->recorded, "the plugged size is the device's state, not its option");

	struct virtio_mem_info i = {.region_size = 1024ull << 20,
				    .slot_size = 128ull << 20,
				    .block_size = 2ull << 20,
				    .plugged_size = 64ull << 20,
				    .requested_size = 128ull << 20};
	json_t *doc;
	cr_assert_eq(dev_memhp_live_doc(&i, "", &doc), 0);
	cr_assert_eq(json_integer_value(json_object_get(doc, "total_size_mib")), 1024);
	cr_assert_eq(json_integer_value(json_object_get(doc, "block_size_mib")), 2);
	cr_assert_eq(json_integer_value(json_object_get(doc, "plugged_size_mib")), 64);
	cr_assert_eq(json_integer_value(json_object_get(doc, "requested_size_mib")), 128);
	json_decref(doc);
}

Test(dev_live, drives_and_nics_have_live_hooks)
{
	cr_assert_eq(device_table_section("drives")->api->live, &dev_disk_live);
	cr_assert_eq(device_table_section("network-interfaces")->api->live, &dev_net_live);
	cr_assert_str_eq(dev_disk_live.opens_file, "path_on_host",
			 "a new file is opened on the broker");
	cr_assert_null(dev_net_live.opens_file);
}
