/* The drives' API bodies (vmm/descriptors/dev_disk_api.c) that say an image's format: Cloud
 * Hypervisor's image_type reaches --disk's format=, comes back in the configuration the model
 * describes, and what this VMM cannot read is refused with a reason. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_model.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/dev_disk.h"

static struct api_model m;

static void setup(void)
{
	api_model_init(&m);
}

static void teardown(void)
{
	api_model_free(&m);
}

TestSuite(dev_disk_api, .init = setup, .fini = teardown);

static int load(const char *drives, char *err, size_t errlen)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": [%s]}", drives);
	json_t *root = json_loads(text, 0, NULL);
	cr_assert_not_null(root, "test JSON: %s", text);
	int r = api_model_load(&m, root, err, errlen);
	json_decref(root);
	return r;
}

Test(dev_disk_api, image_type_is_the_disk_format_and_comes_back)
{
	struct vm_config cfg;
	char err[256] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(
	    load("{\"drive_id\": \"q\", \"path_on_host\": \"/q\", \"is_root_device\": false,"
		 " \"image_type\": \"Qcow2\"},"
		 "{\"drive_id\": \"r\", \"path_on_host\": \"/r\", \"is_root_device\": false,"
		 " \"image_type\": \"Raw\"},"
		 "{\"drive_id\": \"u\", \"path_on_host\": \"/u\", \"is_root_device\": false,"
		 " \"image_type\": \"Unknown\"},"
		 "{\"drive_id\": \"n\", \"path_on_host\": \"/n\", \"is_root_device\": false}",
		 err, sizeof(err)),
	    0, "%s", err);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(dev_disk_opts(&cfg, 0)->format, VIRTIO_BLK_FORMAT_QCOW2);
	cr_assert_eq(dev_disk_opts(&cfg, 1)->format, VIRTIO_BLK_FORMAT_RAW);
	cr_assert_eq(dev_disk_opts(&cfg, 2)->format, VIRTIO_BLK_FORMAT_AUTO, "Unknown probes");
	cr_assert_eq(dev_disk_opts(&cfg, 3)->format, VIRTIO_BLK_FORMAT_AUTO, "none probes");
	struct api_model restored;
	cr_assert_eq(api_model_from_config(&restored, &cfg), 0);
	const char *want[] = {"Qcow2", "Raw", NULL, NULL};
	for (int i = 0; i < 4; i++) {
		const char *got = api_json_str(api_model_drive(&restored, i), "image_type", NULL);
		if (want[i])
			cr_assert(got && !strcmp(got, want[i]), "drive %d: %s", i,
				  got ? got : "none");
		else
			cr_assert_null(got, "drive %d: a probed format is not written back", i);
	}
	api_model_free(&restored);
	cli_free(&cfg);
	free(append);
}

Test(dev_disk_api, image_types_this_vmm_cannot_read_are_refused)
{
	const char *bad[] = {"Vhdx", "FixedVhd", "qcow2", ""};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char drive[256], err[256] = "";
		snprintf(
		    drive, sizeof(drive),
		    "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false,"
		    " \"image_type\": \"%s\"}",
		    bad[i]);
		api_model_free(&m);
		api_model_init(&m);
		if (!bad[i][0]) /* "" is no type given: a probe, accepted */
			cr_assert_eq(load(drive, err, sizeof(err)), 0, "%s", err);
		else {
			cr_assert_neq(load(drive, err, sizeof(err)), 0, "%s accepted", bad[i]);
			cr_assert(strstr(err, "image_type"), "%s", err);
		}
	}
}

Test(dev_disk_api, a_vhost_user_drive_has_no_image_type)
{
	char err[256] = "";
	cr_assert_neq(load("{\"drive_id\": \"v\", \"socket\": \"/tmp/vu.sock\", \"is_root_device\":"
			   " false, \"image_type\": \"Raw\"}",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "image_type"), "%s", err);
}
