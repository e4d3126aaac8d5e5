/* Ours in the API's model (vmm/api/api_model.h): boot-source firmware_path and
 * firmware_log_path (--firmware, --firmware-log) in place of a kernel, and machine-config acpi
 * (--acpi on|off), from a config file or a PUT, to the configuration the VM is built from, the
 * record a snapshot replays, and GET /vm/config. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "vmm/api/api_model.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"

static struct api_model m;

static void setup(void)
{
	api_model_init(&m);
}

static void teardown(void)
{
	api_model_free(&m);
}

TestSuite(api_model_fw, .init = setup, .fini = teardown);

static int load(const char *text, char *err, size_t errlen)
{
	json_t *root = json_loads(text, 0, NULL);
	cr_assert_not_null(root, "test JSON: %s", text);
	int r = api_model_load(&m, root, err, errlen);
	json_decref(root);
	return r;
}

static const char *recorded(const struct vm_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nrecorded; i++)
		if (!strcmp(cfg->recorded[i].name, name))
			return cfg->recorded[i].arg ? cfg->recorded[i].arg : "";
	return NULL;
}

Test(api_model_fw, a_firmware_and_acpi_off_from_the_file)
{
	struct vm_config cfg;
	char err[API_FAULT_MAX] = "", *append = NULL;
	int index[API_MAX_DRIVES];
	cr_assert_eq(load("{\"boot-source\": {\"firmware_path\": \"/fw.fd\","
			  " \"firmware_log_path\": \"/fw.log\","
			  " \"firmware_vars_path\": \"/vm.vars\"},"
			  " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512,"
			  " \"acpi\": false}}",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_null(m.kernel);
	cr_assert_str_eq(m.firmware, "/fw.fd");
	cr_assert(m.acpi_off);
	vm_config_init(&cfg);
	cr_assert_eq(control_build_config(&cfg, &m, &append, index, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_null(cfg.kernel);
	cr_assert_null(cfg.append, "a firmware gets no command line from us");
	cr_assert_str_eq(cfg.firmware, "/fw.fd");
	cr_assert_str_eq(cfg.firmware_log, "/fw.log");
	cr_assert_str_eq(cfg.firmware_vars, "/vm.vars");
	cr_assert(cfg.acpi_off);
	cr_assert_str_eq(recorded(&cfg, "firmware"), "/fw.fd");
	cr_assert_str_eq(recorded(&cfg, "firmware-log"), "/fw.log");
	cr_assert_str_eq(recorded(&cfg, "firmware-vars"), "/vm.vars");
	cr_assert_str_eq(recorded(&cfg, "acpi"), "off");
	cr_assert_null(recorded(&cfg, "kernel"));

	/* GET /vm/config: the same fields back */
	json_t *doc = api_model_json(&m);
	json_t *bs = json_object_get(doc, "boot-source");
	cr_assert_str_eq(json_string_value(json_object_get(bs, "firmware_path")), "/fw.fd");
	cr_assert_str_eq(json_string_value(json_object_get(bs, "firmware_log_path")), "/fw.log");
	cr_assert_str_eq(json_string_value(json_object_get(bs, "firmware_vars_path")), "/vm.vars");
	cr_assert(json_is_false(json_object_get(json_object_get(doc, "machine-config"), "acpi")));
	json_decref(doc);
	cli_free(&cfg);
	free(append);
}

/* ACPI on (the default) is not shown: GET /machine-config keeps Firecracker's shape. */
Test(api_model_fw, acpi_on_is_the_default_and_not_shown)
{
	char err[API_FAULT_MAX] = "";
	cr_assert_eq(load("{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
			  " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128,"
			  " \"acpi\": true}}",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_not(m.acpi_off);
	json_t *mc = api_model_machine_config_json(&m);
	cr_assert_null(json_object_get(mc, "acpi"));
	json_decref(mc);
}

Test(api_model_fw, boot_sources_that_do_not_fit_are_refused)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
	    {"{\"firmware_path\": \"/f\", \"kernel_image_path\": \"/k\"}", "alone"},
	    {"{\"firmware_path\": \"/f\", \"initrd_path\": \"/i\"}", "alone"},
	    {"{\"firmware_path\": \"/f\", \"boot_args\": \"quiet\"}", "alone"},
	    {"{\"firmware_path\": \"\"}", "firmware_path is empty"},
	    {"{\"firmware_path\": \"/f\", \"firmware_log_path\": \"\"}",
	     "firmware_log_path is empty"},
	    {"{\"kernel_image_path\": \"/k\", \"firmware_log_path\": \"/l\"}",
	     "needs firmware_path"},
	    {"{\"firmware_path\": \"/f\", \"firmware_vars_path\": \"\"}",
	     "firmware_vars_path is empty"},
	    {"{\"kernel_image_path\": \"/k\", \"firmware_vars_path\": \"/v\"}",
	     "firmware_vars_path needs firmware_path"},
	    {"{\"boot_args\": \"quiet\"}", "kernel_image_path"},
	    {"{\"firmware_path\": 3}", "firmware_path"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[API_FAULT_MAX] = "";
		json_t *body = json_loads(bad[i].body, 0, NULL);
		cr_assert_not_null(body);
		cr_assert_eq(api_model_put_boot_source(&m, body, err, sizeof(err)), -EINVAL, "%s",
			     bad[i].body);
		cr_assert_not_null(strstr(err, bad[i].why), "%s: '%s'", bad[i].body, err);
		json_decref(body);
	}
	cr_assert_null(m.firmware, "nothing taken");
	char err[API_FAULT_MAX] = "";
	json_t *mc =
	    json_loads("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"acpi\": \"off\"}", 0, NULL);
	cr_assert_eq(api_model_put_machine_config(&m, mc, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "acpi"), "%s", err);
	json_decref(mc);
}

/* The command line's --firmware and --acpi off are the model GET /vm/config shows. */
Test(api_model_fw, the_model_of_a_command_line)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	cfg.firmware = "/usr/share/ovmf/OVMF.fd";
	cfg.acpi_off = true;
	struct api_model from;
	cr_assert_eq(api_model_from_config(&from, &cfg), 0);
	cr_assert_str_eq(from.firmware, "/usr/share/ovmf/OVMF.fd");
	cr_assert(from.acpi_off);
	cr_assert_null(from.kernel);
	api_model_free(&from);
	cli_free(&cfg);
}
