/* The Firecracker-style VM model and its request bodies. See api_model.h. */
#include "vmm/api/api_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_devices.h"
#include "vmm/api/api_logger.h"
#include "vmm/api/api_nulls.h"
#include "vmm/descriptors/api_device_body.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/vm/cpu_template_config.h"

#define MAX_MEM_MIB (1u << 20) /* 1 TiB: beyond that the host says no anyway */

void api_model_init(struct api_model *m)
{
	*m = (struct api_model){.vcpus = 1, .mem_mib = API_DEFAULT_MEM_MIB};
}

void api_model_free(struct api_model *m)
{
	free(m->kernel);
	free(m->initrd);
	free(m->boot_args);
	free(m->firmware);
	free(m->firmware_log);
	free(m->firmware_vars);
	free(m->metrics_path);
	json_decref(m->metrics_properties);
	json_decref(m->devices);
	json_decref(m->cpu_config);
	api_model_init(m);
}

/* Replaces *slot with a copy of `s` (NULL clears it). Returns 0 or -ENOMEM. */
static int set_str(char **slot, const char *s)
{
	char *copy = s ? strdup(s) : NULL;
	if (s && !copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* firmware_path (ours, Cloud Hypervisor's payload.firmware): the firmware alone, as --firmware
 * is given without --kernel, --initrd and --append. */
static int check_firmware_source(const json_t *body, const char **kernel, const char **initrd,
				 char *err, size_t errlen)
{
	const char *fw = api_json_str(body, "firmware_path", NULL);
	const char *log = api_json_str(body, "firmware_log_path", NULL);
	const char *vars = api_json_str(body, "firmware_vars_path", NULL);

	if (api_json_str(body, "kernel_image_path", NULL) ||
	    api_json_str(body, "initrd_path", NULL) || api_json_str(body, "boot_args", NULL)) {
		snprintf(err, errlen,
			 "firmware_path boots the firmware alone: give it without "
			 "kernel_image_path, initrd_path and boot_args");
		return -EINVAL;
	}
	if (!fw[0] || (log && !log[0]) || (vars && !vars[0])) {
		snprintf(err, errlen, "%s is empty",
			 !fw[0]		  ? "firmware_path"
			 : log && !log[0] ? "firmware_log_path"
					  : "firmware_vars_path");
		return -EINVAL;
	}
	*kernel = *initrd = NULL;
	return 0;
}

int api_model_check_boot_source(const json_t *body, const char **kernel, const char **initrd,
				char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"kernel_image_path", API_JSON_STRING, false},
						  {"boot_args", API_JSON_STRING, false},
						  {"initrd_path", API_JSON_STRING, false},
						  {"firmware_path", API_JSON_STRING, false},
						  {"firmware_log_path", API_JSON_STRING, false},
						  {"firmware_vars_path", API_JSON_STRING, false},
						  {NULL, 0, false}};
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	if (api_json_str(body, "firmware_path", NULL))
		return check_firmware_source(body, kernel, initrd, err, errlen);
	if (api_json_str(body, "firmware_log_path", NULL) ||
	    api_json_str(body, "firmware_vars_path", NULL)) {
		snprintf(err, errlen, "%s needs firmware_path",
			 api_json_str(body, "firmware_log_path", NULL) ? "firmware_log_path"
								       : "firmware_vars_path");
		return -EINVAL;
	}
	if (!api_json_str(body, "kernel_image_path", NULL)) {
		snprintf(err, errlen,
			 "missing field `kernel_image_path` (or, ours, `firmware_path`)");
		return -EINVAL;
	}
	*kernel = api_json_str(body, "kernel_image_path", NULL);
	*initrd = api_json_str(body, "initrd_path", NULL);
	if (!(*kernel)[0] || (*initrd && !(*initrd)[0])) {
		snprintf(err, errlen, "%s is empty",
			 (*kernel)[0] ? "initrd_path" : "kernel_image_path");
		return -EINVAL;
	}
	return 0;
}

int api_model_put_boot_source(struct api_model *m, const json_t *body, char *err, size_t errlen)
{
	const char *kernel, *initrd;
	int r = api_model_check_boot_source(body, &kernel, &initrd, err, errlen);
	if (r)
		return r;
	if (set_str(&m->kernel, kernel) ||
	    set_str(&m->initrd, api_json_str(body, "initrd_path", NULL)) ||
	    set_str(&m->boot_args, api_json_str(body, "boot_args", NULL)) ||
	    set_str(&m->firmware, api_json_str(body, "firmware_path", NULL)) ||
	    set_str(&m->firmware_log, api_json_str(body, "firmware_log_path", NULL)) ||
	    set_str(&m->firmware_vars, api_json_str(body, "firmware_vars_path", NULL)))
		return nomem(err, errlen);
	return 0;
}

/* The values of a machine-config body that this VMM cannot honour get a 400 that says why. */
static int check_machine_extras(const json_t *body, char *err, size_t errlen)
{
	const char *tmpl = api_json_str(body, "cpu_template", "None");
	const char *huge = api_json_str(body, "huge_pages", "None");

	if (strcmp(tmpl, "None") && !cpu_template_static_known(tmpl)) {
		snprintf(err, errlen, "cpu_template `%.32s`: one of None, %s%s", tmpl,
			 cpu_template_static_names(),
			 strcmp(tmpl, "V1N1") ? "" : "; V1N1 is for aarch64 hosts");
		return -EINVAL;
	}
	if (!strcmp(huge, "2M")) {
		snprintf(err, errlen,
			 "huge_pages 2M cannot be honoured: guest memory here is anonymous memory, "
			 "not hugetlbfs; use Transparent (transparent huge pages) or None");
		return -EINVAL;
	}
	if (strcmp(huge, "None") && strcmp(huge, "Transparent")) {
		snprintf(err, errlen, "huge_pages must be None, Transparent or 2M");
		return -EINVAL;
	}
	return 0;
}

int api_model_put_machine_config(struct api_model *m, const json_t *body, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"vcpu_count", API_JSON_UINT, true},
						  {"mem_size_mib", API_JSON_UINT, true},
						  {"smt", API_JSON_BOOL, false},
						  {"track_dirty_pages", API_JSON_BOOL, false},
						  {"cpu_template", API_JSON_STRING, false},
						  {"huge_pages", API_JSON_STRING, false},
						  {"acpi", API_JSON_BOOL, false},
						  {"max_vcpus", API_JSON_UINT, false},
						  {NULL, 0, false}};
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	uint64_t vcpus = api_json_uint(body, "vcpu_count", 0);
	uint64_t mib = api_json_uint(body, "mem_size_mib", 0);
	if (vcpus < 1 || vcpus > VM_MAX_CPUS) {
		snprintf(err, errlen, "vcpu_count must be between 1 and %d", VM_MAX_CPUS);
		return -EINVAL;
	}
	if (mib < 1 || mib > MAX_MEM_MIB) {
		snprintf(err, errlen, "mem_size_mib must be between 1 and %u", MAX_MEM_MIB);
		return -EINVAL;
	}
	r = check_machine_extras(body, err, errlen);
	if (r)
		return r;
	bool smt = api_json_bool(body, "smt", false);
	if (smt && vcpus > 1 && vcpus % 2) {
		snprintf(err, errlen,
			 "vcpu_count must be 1 or an even number when smt is true (two threads "
			 "per core)");
		return -EINVAL;
	}
	uint64_t max = api_json_uint(body, "max_vcpus", 0);
	if (json_object_get(body, "max_vcpus") && (max < vcpus || max > VM_MAX_CPUS)) {
		snprintf(err, errlen, "max_vcpus must be between vcpu_count and %d", VM_MAX_CPUS);
		return -EINVAL;
	}
	if (max && (smt || !api_json_bool(body, "acpi", true))) {
		snprintf(err, errlen, "max_vcpus (vCPU hotplug) needs acpi and no smt");
		return -EINVAL;
	}
	m->smt = smt;
	m->vcpus = (unsigned)vcpus;
	m->max_vcpus = (unsigned)max;
	m->mem_mib = (unsigned)mib;
	m->track_dirty = api_json_bool(body, "track_dirty_pages", false);
	m->hugepages = !strcmp(api_json_str(body, "huge_pages", "None"), "Transparent");
	m->acpi_off = !api_json_bool(body, "acpi", true);
	const char *tmpl = api_json_str(body, "cpu_template", "None");
	if (strcmp(tmpl, "None") || m->cpu_template[0]) { /* a static one replaces a custom one */
		snprintf(m->cpu_template, sizeof(m->cpu_template), "%s",
			 strcmp(tmpl, "None") ? tmpl : "");
		json_decref(m->cpu_config);
		m->cpu_config = NULL;
	}
	return 0;
}

int api_model_put_cpu_config(struct api_model *m, const json_t *body, char *err, size_t errlen)
{
	struct cpu_template *t = NULL;
	json_t *copy = json_deep_copy(body);
	int r = !copy ? nomem(err, errlen) : cpu_template_new_json(body, &t, err, errlen);
	free(t);
	if (r) {
		json_decref(copy);
		return r;
	}
	json_decref(m->cpu_config);
	m->cpu_config = copy;
	m->cpu_template[0] = 0;
	return 0;
}

int api_model_patch_machine_config(struct api_model *m, const json_t *body, char *err,
				   size_t errlen)
{
	/* The current configuration with the patch laid over it, put as a whole: the same checks,
	 * and nothing changes unless all of it is good. */
	json_t *whole = api_model_machine_config_json(m);
	int r;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "the request body must be a JSON object");
		r = -EINVAL;
	} else if (!whole || json_object_update(whole, (json_t *)body)) {
		r = nomem(err, errlen);
	} else {
		r = api_model_put_machine_config(m, whole, err, errlen);
	}
	json_decref(whole);
	return r;
}

/* The API hooks of Firecracker's drives and network interfaces, whose PATCH routes and MMDS
 * configuration the model checks (their descriptors', found by their sections). */
static const struct device_api *drives_api(void)
{
	return device_table_section("drives")->api;
}

static const struct device_api *nics_api(void)
{
	return device_table_section("network-interfaces")->api;
}

/* The model's documents of device `api` (an array; NULL: none), and the index of the one whose
 * id_field is `id` (-1: none) with *doc set to it. */
static int find_doc(const struct api_model *m, const struct device_api *api, const char *id,
		    json_t **doc)
{
	const json_t *list = api_devices_doc(m, api->section);
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		if (!strcmp(api_json_str(item, api->id_field, ""), id)) {
			*doc = item;
			return (int)i;
		}
	}
	*doc = NULL;
	return -1;
}

/* The document at `index` of device `api` (borrowed; the model's), or NULL. */
static json_t *doc_at(const struct api_model *m, const struct device_api *api, int index)
{
	return index < 0 ? NULL : json_array_get(api_devices_doc(m, api->section), (size_t)index);
}

/* A PATCH body of device `api` checked by its hook (device_api_ext.patch) against the
 * model's document with id `id`: into *p, and the document's place into *index. */
static int check_patch(const struct api_model *m, const struct device_api *api, const char *id,
		       const json_t *body, int *index, struct device_patch *p, char *err,
		       size_t errlen)
{
	json_t *doc;
	*index = find_doc(m, api, id, &doc);
	return api->ext->patch->check(doc, id, body, p, err, errlen);
}

int api_model_check_patch_drive(const struct api_model *m, const char *id, const json_t *body,
				int *index, const char **path, char *err, size_t errlen)
{
	struct device_patch p = {0};
	int r = check_patch(m, drives_api(), id, body, index, &p, err, errlen);
	*path = api_json_str(body, "path_on_host", NULL);
	return r;
}

bool api_model_patch_drive_rate_limiter(const json_t *body, struct rate_limiter_patch *p)
{
	const json_t *v = json_object_get(body, "rate_limiter");
	return !api_rate_limiter_parse_patch(v, "rate_limiter", p, NULL, 0) &&
	       rate_limiter_patch_any(p);
}

int api_model_check_patch_nic(const struct api_model *m, const char *id, const json_t *body,
			      int *index, struct rate_limiter_patch *rx,
			      struct rate_limiter_patch *tx, char *err, size_t errlen)
{
	struct device_patch p = {0};
	int r = check_patch(m, nics_api(), id, body, index, &p, err, errlen);
	*rx = p.rl[0];
	*tx = p.rl[1];
	return r;
}

static bool get_limits(const json_t *doc, const char *name, struct rate_limiter_cfg *rl)
{
	return doc && !api_rate_limiter_parse(json_object_get(doc, name), name, rl, NULL, 0);
}

void api_model_set_drive_path(struct api_model *m, int index, const char *path)
{
	json_t *doc = doc_at(m, drives_api(), index);
	if (doc)
		json_object_set_new(doc, "path_on_host", json_string(path));
}

bool api_model_drive_limits(const struct api_model *m, int index, struct rate_limiter_cfg *rl)
{
	return get_limits(doc_at(m, drives_api(), index), "rate_limiter", rl);
}

bool api_model_nic_limits(const struct api_model *m, int index, struct rate_limiter_cfg *rx,
			  struct rate_limiter_cfg *tx)
{
	const json_t *doc = doc_at(m, nics_api(), index);
	return get_limits(doc, "rx_rate_limiter", rx) && get_limits(doc, "tx_rate_limiter", tx);
}

const json_t *api_model_drive(const struct api_model *m, int index)
{
	return doc_at(m, drives_api(), index);
}

const json_t *api_model_nic(const struct api_model *m, int index)
{
	return doc_at(m, nics_api(), index);
}

int api_model_count(const struct api_model *m, const struct device_api *api)
{
	return (int)json_array_size(api_devices_doc(m, api->section));
}

/* Firecracker's properties: a map of strings to strings. */
static int check_properties(const json_t *props, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)props, k, v)
	{
		if (!json_is_string(v)) {
			snprintf(err, errlen, "properties: the value of `%.64s` must be a string",
				 k);
			return -EINVAL;
		}
	}
	return 0;
}

int api_model_check_metrics(const json_t *body, const char **path, bool *emit_id,
			    const json_t **properties, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"metrics_path", API_JSON_STRING, true},
						  {"emit_id", API_JSON_BOOL, false},
						  {"properties", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	*properties = json_object_get(body, "properties");
	*emit_id = api_json_bool(body, "emit_id", false);
	*path = api_json_str(body, "metrics_path", "");
	if (!(*path)[0]) {
		snprintf(err, errlen, "metrics_path is empty");
		return -EINVAL;
	}
	return *properties ? check_properties(*properties, err, errlen) : 0;
}

int api_model_set_metrics(struct api_model *m, const char *path, bool emit_id,
			  const json_t *properties)
{
	json_t *copy = properties ? json_deep_copy(properties) : NULL;
	if ((properties && !copy) || set_str(&m->metrics_path, path)) {
		json_decref(copy);
		return -ENOMEM;
	}
	json_decref(m->metrics_properties);
	m->metrics_properties = copy;
	m->metrics_emit_id = emit_id;
	return 0;
}

/* Applies the object `key` (absent: nothing unless required) with `put`. */
static int load_one(struct api_model *m, const json_t *root, const char *key, bool required,
		    int (*put)(struct api_model *, const json_t *, char *, size_t), char *err,
		    size_t errlen)
{
	const json_t *v = json_object_get(root, key);
	char why[API_FAULT_MAX] = "";

	if (!v && !required)
		return 0;
	if (!v) {
		snprintf(err, errlen, "missing `%s`", key);
		return -EINVAL;
	}
	int r = put(m, v, why, sizeof(why));
	if (r)
		snprintf(err, errlen, "%s: %s", key, why);
	return r;
}

int api_model_put_mmds_config(struct api_model *m, const json_t *body, char *err, size_t errlen)
{
	struct mmds_config c;
	int r = mmds_config_parse(body, &c, err, errlen);
	for (int i = 0; !r && i < c.nifaces; i++) {
		json_t *nic;
		if (find_doc(m, nics_api(), c.ifaces[i], &nic) < 0) {
			snprintf(err, errlen, "%s", MMDS_MSG_BAD_IFACE);
			r = -EINVAL;
		} else if (api_body_has(nic, "socket")) {
			snprintf(
			    err, errlen,
			    "network interface `%s` is a vhost-user NIC: MMDS cannot answer on "
			    "it (its frames do not pass through the VMM)",
			    c.ifaces[i]);
			r = -EINVAL;
		}
	}
	if (!r) {
		m->mmds = c;
		m->mmds_set = true;
	}
	return r;
}

static int put_metrics(struct api_model *m, const json_t *body, char *err, size_t errlen)
{
	const char *path;
	const json_t *props;
	bool emit_id;
	int r = api_model_check_metrics(body, &path, &emit_id, &props, err, errlen);
	if (!r && api_model_set_metrics(m, path, emit_id, props))
		r = nomem(err, errlen);
	return r;
}

/* The sections the model itself has; the devices' (api_devices_fields()) follow. */
static const struct api_json_field model_sections[] = {
    {"boot-source", API_JSON_OBJECT, true}, {"machine-config", API_JSON_OBJECT, false},
    {"metrics", API_JSON_OBJECT, false},    {"logger", API_JSON_OBJECT, false},
    {"cpu-config", API_JSON_OBJECT, false}, {"mmds-config", API_JSON_OBJECT, false}};
#define NMODEL_SECTIONS (int)(sizeof(model_sections) / sizeof(model_sections[0]))

static int load_sections(struct api_model *m, const json_t *root, char *err, size_t errlen)
{
	struct api_json_field f[NMODEL_SECTIONS + VM_MAX_DEVICE_KINDS + 1];
	int n = NMODEL_SECTIONS;
	memcpy(f, model_sections, sizeof(model_sections));
	api_devices_fields(f, &n, NMODEL_SECTIONS + VM_MAX_DEVICE_KINDS);
	char why[API_FAULT_MAX] = "";
	int r = api_json_check(root, f, err, errlen);
	if (!r && json_object_get(root, "logger") &&
	    api_logger_check(json_object_get(root, "logger"), NULL, why, sizeof(why))) {
		snprintf(err, errlen, "logger: %s", why);
		r = -EINVAL;
	}
	if (!r)
		r = load_one(m, root, "boot-source", true, api_model_put_boot_source, err, errlen);
	if (!r)
		r = load_one(m, root, "machine-config", false, api_model_put_machine_config, err,
			     errlen);
	if (!r)
		r = load_one(m, root, "cpu-config", false, api_model_put_cpu_config, err, errlen);
	if (!r) /* the drives and NICs, which mmds-config names */
		r = api_devices_load(m, root, true, err, errlen);
	if (!r)
		r = load_one(m, root, "mmds-config", false, api_model_put_mmds_config, err, errlen);
	if (!r)
		r = api_devices_load(m, root, false, err, errlen);
	if (!r)
		r = load_one(m, root, "metrics", false, put_metrics, err, errlen);
	return r;
}

int api_model_load(struct api_model *m, const json_t *root, char *err, size_t errlen)
{
	if (api_nulls_check_config(root, err, errlen))
		return -EINVAL;
	json_t *clean = json_deep_copy(root); /* without its nulls: null means absent */
	if (!clean)
		return json_is_object(root) ? nomem(err, errlen)
					    : load_sections(m, root, err, errlen);
	api_json_drop_nulls(clean);
	int r = load_sections(m, clean, err, errlen);
	json_decref(clean);
	return r;
}

json_t *api_model_machine_config_json(const struct api_model *m)
{
	json_t *j =
	    json_pack("{s:I, s:I, s:b, s:b, s:s, s:s}", "vcpu_count", (json_int_t)m->vcpus,
		      "mem_size_mib", (json_int_t)m->mem_mib, "smt", m->smt, "track_dirty_pages",
		      m->track_dirty, "huge_pages", m->hugepages ? "Transparent" : "None",
		      "cpu_template", m->cpu_template[0] ? m->cpu_template : "None");
	if (j && m->acpi_off) /* ours: shown only when not the default, Firecracker's shape else */
		json_object_set_new(j, "acpi", json_false());
	if (j && m->max_vcpus) /* ours, likewise: vCPU hotplug */
		json_object_set_new(j, "max_vcpus", json_integer(m->max_vcpus));
	return j;
}

/* Sets num_queues and queue_size of a vhost-user device's document, when given. */

/* Firecracker's BootSourceConfig as it serializes it, set or not: kernel_image_path always (""
 * before PUT /boot-source), initrd_path and boot_args null when absent; or (ours) the firmware. */
static json_t *boot_source_json(const struct api_model *m)
{
	if (!m->firmware) /* a kernel boot, or nothing yet: Firecracker's shape */
		return json_pack("{s:s, s:s?, s:s?}", "kernel_image_path",
				 m->kernel ? m->kernel : "", "initrd_path", m->initrd, "boot_args",
				 m->boot_args);
	/* ours: a firmware boot has no kernel_image_path (exactly one of the two is allowed) */
	json_t *j = json_pack("{s:s}", "firmware_path", m->firmware);
	if (j && m->firmware_log)
		json_object_set_new(j, "firmware_log_path", json_string(m->firmware_log));
	if (j && m->firmware_vars)
		json_object_set_new(j, "firmware_vars_path", json_string(m->firmware_vars));
	return j;
}

/* The "metrics" member of GET /vm/config: Firecracker's Metrics as it was put. */
static json_t *metrics_json(const struct api_model *m)
{
	json_t *j =
	    json_pack("{s:s, s:b}", "metrics_path", m->metrics_path, "emit_id", m->metrics_emit_id);
	if (j && m->metrics_properties)
		json_object_set(j, "properties", m->metrics_properties);
	return j;
}

json_t *api_model_json(const struct api_model *m)
{
	json_t *j = json_pack("{s:o, s:o}", "boot-source", boot_source_json(m), "machine-config",
			      api_model_machine_config_json(m));
	if (j && api_devices_json(m, j, true)) {
		json_decref(j);
		return NULL;
	}
	if (j && m->metrics_path)
		json_object_set_new(j, "metrics", metrics_json(m));
	if (j && api_devices_json(m, j, false)) {
		json_decref(j);
		return NULL;
	}
	if (j && m->mmds_set)
		json_object_set_new(j, "mmds-config", mmds_config_json(&m->mmds));
	if (j && m->cpu_config)
		json_object_set(j, "cpu-config", m->cpu_config);
	return j;
}

int api_model_from_config(struct api_model *m, const struct vm_config *cfg)
{
	api_model_init(m);
	m->vcpus = cfg->ncpus;
	m->max_vcpus = cfg->max_vcpus;
	m->mem_mib = (unsigned)(cfg->mem_size >> 20);
	m->track_dirty = cfg->track_dirty_pages;
	m->hugepages = cfg->hugepages;
	m->smt = cfg->smt;
	m->acpi_off = cfg->acpi_off;
	const char *tmpl = cfg->cpu_template ? cpu_template_static_name(cfg->cpu_template) : NULL;
	if (tmpl) /* a static one */
		snprintf(m->cpu_template, sizeof(m->cpu_template), "%s", tmpl);
	if (set_str(&m->kernel, cfg->kernel) || set_str(&m->initrd, cfg->initrd) ||
	    set_str(&m->boot_args, cfg->append) || set_str(&m->firmware, cfg->firmware) ||
	    set_str(&m->firmware_log, cfg->firmware_log) ||
	    set_str(&m->firmware_vars, cfg->firmware_vars))
		return -ENOMEM;
	return api_devices_describe(m, cfg) ? -ENOMEM : 0;
}
