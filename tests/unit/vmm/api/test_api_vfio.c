/* Passed-through devices in the API model before InstanceStart (vmm/descriptors/dev_vfio.c's
 * "vfio" section, each_put_adds): each PUT /vmm/vm.add-device adds one more device, a path or id
 * given twice and a fifth device are refused (400) leaving the others, the config file's "vfio"
 * is an array of them, and InstanceStart gives each to --device. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_model.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_vfio.h"
#include "vmm/descriptors/device_record.h"

#define DEV(n) "/sys/bus/pci/devices/0000:0" #n ":00.0"

static struct api_model m;
static char err[256];

static void setup(void)
{
	api_model_init(&m);
	err[0] = '\0';
}

static void teardown(void)
{
	api_model_free(&m);
}

TestSuite(api_vfio, .init = setup, .fini = teardown);

static int put(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	cr_assert_not_null(j, "%s", body);
	int r = api_devices_put(&m, &device_vfio, NULL, j, err, sizeof(err));
	json_decref(j);
	return r;
}

static const json_t *section(void)
{
	return api_devices_doc(&m, "vfio");
}

static const char *path_at(size_t i)
{
	return json_string_value(json_object_get(json_array_get(section(), i), "path"));
}

/* The passed-through devices InstanceStart makes of the model (a copy of their block), in
 * order. */
static struct dev_vfio_cfg build(void)
{
	struct vm_config cfg;
	int index[API_MAX_DRIVES];
	char *append = NULL;
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	const struct dev_vfio_cfg *c = device_cfg_find(&cfg, &device_vfio);
	cr_assert_not_null(c);
	struct dev_vfio_cfg copy = *c;
	cli_free(&cfg);
	free(append);
	return copy;
}

static void boot_source(void)
{
	json_t *root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}}", 0, NULL);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	json_decref(root);
}

Test(api_vfio, each_put_adds_one_device)
{
	boot_source();
	cr_assert_eq(put("{\"path\": \"" DEV(1) "\"}"), 0, "%s", err);
	cr_assert_eq(put("{\"path\": \"" DEV(2) "\", \"id\": \"nic0\"}"), 0, "%s", err);
	cr_assert_eq(json_array_size(section()), 2);
	cr_assert_str_eq(path_at(0), DEV(1));
	cr_assert_str_eq(path_at(1), DEV(2));

	cr_assert_eq(put("{\"path\": \"" DEV(1) "/\"}"), -EINVAL, "the same device again");
	cr_assert(strstr(err, "0000:01:00.0 is given twice"), "%s", err);
	cr_assert_eq(put("{\"path\": \"" DEV(3) "\", \"id\": \"nic0\"}"), -EINVAL, "the same id");
	cr_assert(strstr(err, "id nic0 is given twice"), "%s", err);
	cr_assert_eq(json_array_size(section()), 2, "nothing replaced or added");

	cr_assert_eq(put("{\"path\": \"" DEV(3) "\"}"), 0, "%s", err);
	cr_assert_eq(put("{\"path\": \"" DEV(4) "\"}"), 0, "%s", err);
	cr_assert_eq(put("{\"path\": \"" DEV(5) "\"}"), -EINVAL, "a fifth");
	cr_assert(strstr(err, "at most 4"), "%s", err);
	cr_assert_eq(json_array_size(section()), 4);

	struct dev_vfio_cfg built = build();
	cr_assert_eq(built.n, 4);
	cr_assert_str_eq(built.path[0], DEV(1));
	cr_assert_str_eq(built.id[0], "");
	cr_assert_str_eq(built.path[1], DEV(2));
	cr_assert_str_eq(built.id[1], "nic0");
	cr_assert_str_eq(built.path[3], DEV(4));
}

/* The body's path is the record's item as it is (no option string in between): a comma in it is
 * no separator, only a path that names no PCI device. */
Test(api_vfio, a_path_with_a_comma_is_no_pci_device)
{
	cr_assert_eq(put("{\"path\": \"" DEV(1) ",id=x\"}"), -EINVAL);
	cr_assert(strstr(err, "PCI"), "%s", err);
	cr_assert_eq(json_array_size(section()), 0);
}

Test(api_vfio, config_file_takes_a_list)
{
	json_t *root = json_loads(
	    "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
	    "\"vfio\": [{\"path\": \"" DEV(1) "\"}, "
					      "{\"path\": \"" DEV(2) "\", \"id\": \"n\"}]}",
	    0, NULL);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	json_decref(root);
	struct dev_vfio_cfg built = build();
	cr_assert_eq(built.n, 2);
	cr_assert_str_eq(built.path[1], DEV(2));
	cr_assert_str_eq(built.id[1], "n");

	api_model_free(&m);
	api_model_init(&m);
	root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			  "\"vfio\": [{\"path\": \"" DEV(1) "\"}, {\"path\": \"" DEV(1) "\"}]}",
			  0, NULL);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "vfio[1]") && strstr(err, "given twice"), "%s", err);
	json_decref(root);

	api_model_free(&m);
	api_model_init(&m);
	root = json_loads("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			  "\"vfio\": {\"path\": \"" DEV(1) "\"}}",
			  0, NULL);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL, "an object: a list");
	json_decref(root);
}

/* GET /vm/config of a command-line VM: every device of the configuration. */
Test(api_vfio, describe_lists_every_device)
{
	struct vm_config cfg;
	char why[128];
	vm_config_init(&cfg);
	cr_assert_eq(cli_device_option(&cfg, "device", "vfio=" DEV(1), why, sizeof(why)), 0, "%s",
		     why);
	cr_assert_eq(cli_device_option(&cfg, "device", "vfio=" DEV(2) ",id=b", why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_eq(api_devices_describe(&m, &cfg), 0);
	cr_assert_eq(json_array_size(section()), 2);
	cr_assert_str_eq(path_at(1), DEV(2));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(section(), 1), "id")),
			 "b");
	cli_free(&cfg);
}
