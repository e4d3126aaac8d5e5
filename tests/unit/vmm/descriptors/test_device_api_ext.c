/* The API's further device hooks (struct device_api_ext, vmm/descriptors/device_api_ext.h), which
 * let vmm/api name no device: Cloud Hypervisor's add routes found in the table, each with its
 * body hook; the vhost-user descriptor a section lists besides its own; the instance a model
 * document stands for; the drives' fork hooks; a NIC's --restore override. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_table.h"

static const struct device_api_ext *ext_of(const struct device_desc *d)
{
	return d && d->api ? d->api->ext : NULL;
}

Test(device_api_ext, each_add_route_is_one_devices_with_its_body_hook)
{
	static const char *const routes[] = {"/vmm/vm.add-disk", "/vmm/vm.add-net",
					     "/vmm/vm.add-vsock", "/vmm/vm.add-pmem",
					     "/vmm/vm.add-fs"};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct device_desc *d = device_table_add_route(routes[i]);
		cr_assert_not_null(d, "%s has its device", routes[i]);
		cr_assert_not_null(d->hotplug, "%s: a device that is hot-added", routes[i]);
		cr_assert_str_eq(ext_of(d)->add_route, routes[i]);
		cr_assert_not_null(ext_of(d)->add_body);
	}
	cr_assert_null(device_table_add_route("/vmm/vm.add-"));
	cr_assert_null(device_table_add_route("/vmm/vm.add-device"), "the vfio route is its PUT");
	cr_assert_null(device_table_add_route("/vmm/vm.add-disk/"));
	for (int i = 0; device_table[i]; i++) /* one device per route */
		for (int j = i + 1; ext_of(device_table[i]) && ext_of(device_table[i])->add_route &&
				    device_table[j];
		     j++)
			cr_assert(!ext_of(device_table[j]) || !ext_of(device_table[j])->add_route ||
				      strcmp(ext_of(device_table[i])->add_route,
					     ext_of(device_table[j])->add_route),
				  "%s and %s share a route", device_table[i]->name,
				  device_table[j]->name);
}

Test(device_api_ext, a_vhost_user_body_is_the_alternative_descriptors_record)
{
	const struct device_desc *disk = device_table_add_route("/vmm/vm.add-disk");
	const struct device_desc *alt = device_table_hotplug_alt(disk);
	struct opt_items items = {0};
	struct device_hot_body b = {.owner = disk, .items = &items};
	char err[256] = "";
	json_t *body = json_pack("{s:b, s:s, s:s}", "vhost_user", 1, "vhost_socket", "/tmp/b.sock",
				 "id", "vb");

	cr_assert_not_null(alt);
	cr_assert_neq(alt, disk);
	cr_assert_eq(alt->hotplug->model, disk->api, "the drives list its instances");
	cr_assert_eq(ext_of(disk)->add_body(body, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.owner, alt);
	cr_assert_str_eq(b.id, "vb");
	cr_assert_geq(opt_items_find(&items, "vhost-user"), 0);
	opt_items_free(&items);
	json_decref(body);
}

Test(device_api_ext, a_model_document_stands_for_its_instance)
{
	const struct device_desc *drives = device_table_section("drives");
	struct vm_config cfg;
	char err[256] = "";
	json_t *a = json_pack("{s:s, s:s}", "drive_id", "a", "path_on_host", "/a.img");
	json_t *b = json_pack("{s:s, s:s}", "drive_id", "b", "path_on_host", "/b.img");
	json_t *vu = json_pack("{s:s, s:s}", "drive_id", "v", "socket", "/tmp/v.sock");

	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "disk", "/a.img,id=a", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cli_device_option(&cfg, "disk", "/b.img,id=b", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(device_api_instance(drives, &cfg, b), 1);
	cr_assert_eq(device_api_instance(drives, &cfg, a), 0);
	cr_assert_eq(device_api_instance(drives, &cfg, vu), -1, "a vhost-user drive has none");
	cr_assert_eq(device_api_instance(drives, &cfg, NULL), -1);
	cr_assert_eq(device_api_instance(device_table_section("balloon"), &cfg, NULL), 0,
		     "one instance without ids");
	cli_free(&cfg);
	json_decref(a);
	json_decref(b);
	json_decref(vu);
}

Test(device_api_ext, the_drives_have_the_fork_hooks)
{
	const struct device_fork_disk *f = device_table_fork_disk();
	cr_assert_not_null(f);
	cr_assert(f->file && f->make_overlay && f->backing && f->set_backing && f->record_path);
	cr_assert_eq(ext_of(device_table_section("drives"))->fork_disk, f);
}

Test(device_api_ext, a_nic_given_with_restore_is_its_tap)
{
	const struct device_desc *nics = device_table_section("network-interfaces");
	struct device_restore_given g = {0};
	struct vm_config cfg;
	char err[256] = "";

	vm_config_init(&cfg);
	cr_assert_eq(
	    cli_device_option(&cfg, "net", "tap=t1,mac=52:54:00:00:00:09", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(ext_of(nics)->restore_given(&cfg, 0, &g), 0);
	cr_assert_str_eq(g.tap, "t1");
	cr_assert_str_eq(g.mac, "52:54:00:00:00:09");
	cr_assert_null(g.path);
	cli_free(&cfg);
	cr_assert_null(ext_of(device_table_section("vsock"))->restore_given,
		       "a vsock would change the snapshot's VM");
}
