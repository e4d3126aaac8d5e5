/* The Firecracker-style VM model and its request bodies. See api_model.h. */
#include "vmm/api/api_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/net/options.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/api_json.h"
#include "vmm/api/api_logger.h"
#include "vmm/machine/api_rate_limit.h"

#define MAX_MEM_MIB (1u << 20) /* 1 TiB: beyond that the host says no anyway */

void api_model_init(struct api_model *m)
{
	*m = (struct api_model){.vcpus = 1, .mem_mib = (unsigned)(CLI_DEFAULT_MEM >> 20)};
}

void api_model_free(struct api_model *m)
{
	free(m->kernel);
	free(m->initrd);
	free(m->boot_args);
	for (int i = 0; i < m->ndrives; i++)
		free(m->drives[i].path);
	free(m->metrics_path);
	json_decref(m->metrics_properties);
	json_decref(m->devices);
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

int api_model_check_boot_source(const json_t *body, const char **kernel, const char **initrd,
				char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"kernel_image_path", API_JSON_STRING, true},
						  {"boot_args", API_JSON_STRING, false},
						  {"initrd_path", API_JSON_STRING, false},
						  {NULL, 0, false}};
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
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
	    set_str(&m->boot_args, api_json_str(body, "boot_args", NULL)))
		return nomem(err, errlen);
	return 0;
}

/* The values of a machine-config body that this VMM cannot honour get a 400 that says why. */
static int check_machine_extras(const json_t *body, char *err, size_t errlen)
{
	const char *tmpl = api_json_str(body, "cpu_template", "None");
	const char *huge = api_json_str(body, "huge_pages", "None");

	if (strcmp(tmpl, "None")) {
		snprintf(err, errlen,
			 "cpu_template `%.32s` cannot be honoured: this VMM has no CPU templates "
			 "(the guest sees KVM's supported CPUID); use None",
			 tmpl);
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
						  {NULL, 0, false}};
	int r = api_json_check(body, f, err, errlen);
	if (r)
		return r;
	uint64_t vcpus = api_json_uint(body, "vcpu_count", 0);
	uint64_t mib = api_json_uint(body, "mem_size_mib", 0);
	if (vcpus < 1 || vcpus > CLI_MAX_CPUS) {
		snprintf(err, errlen, "vcpu_count must be between 1 and %d", CLI_MAX_CPUS);
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
	m->smt = smt;
	m->vcpus = (unsigned)vcpus;
	m->mem_mib = (unsigned)mib;
	m->track_dirty = api_json_bool(body, "track_dirty_pages", false);
	m->hugepages = !strcmp(api_json_str(body, "huge_pages", "None"), "Transparent");
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

/* An id from the URL: non-empty, printable, no '/', short; no ',' either (a drive's id travels
 * in its --disk option, id=NAME, which a comma would end). */
static int check_id(const char *id, char *err, size_t errlen)
{
	return api_json_check_id(id, err, errlen);
}

static int check_body_id(const json_t *body, const char *field, const char *id, char *err,
			 size_t errlen)
{
	if (strcmp(api_json_str(body, field, ""), id)) {
		snprintf(err, errlen, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	return 0;
}

/* The checks every PUT/PATCH of a named object makes: a good id in the path, the body's fields,
 * and the body naming the same id under `id_key`. Returns 0 or -EINVAL with the reason. */
static int check_request(const char *id, const json_t *body, const struct api_json_field *f,
			 const char *id_key, char *err, size_t errlen)
{
	int r = check_id(id, err, errlen);
	if (!r)
		r = api_json_check(body, f, err, errlen);
	if (!r)
		r = check_body_id(body, id_key, id, err, errlen);
	return r;
}

static int find_drive(const struct api_model *m, const char *id)
{
	for (int i = 0; i < m->ndrives; i++)
		if (!strcmp(m->drives[i].id, id))
			return i;
	return -1;
}

static int check_drive_values(const struct api_model *m, int self, const json_t *body, char *err,
			      size_t errlen)
{
	const char *cache = api_json_str(body, "cache_type", "Writeback");
	const char *engine = api_json_str(body, "io_engine", "");
	if (strcmp(cache, "Unsafe") && strcmp(cache, "Writeback")) {
		snprintf(err, errlen, "cache_type must be Unsafe or Writeback");
		return -EINVAL;
	}
	if (engine[0] && strcmp(engine, "Sync") && strcmp(engine, "Async")) {
		snprintf(err, errlen, "io_engine must be Sync or Async");
		return -EINVAL;
	}
	if (!api_json_str(body, "path_on_host", "")[0]) {
		snprintf(err, errlen, "path_on_host is empty");
		return -EINVAL;
	}
	if (strchr(api_json_str(body, "path_on_host", ""), ',')) {
		snprintf(err, errlen, "path_on_host cannot contain a comma");
		return -EINVAL;
	}
	for (int i = 0; api_json_bool(body, "is_root_device", false) && i < m->ndrives; i++) {
		if (i != self && m->drives[i].root) {
			snprintf(err, errlen, "A root block device already exists!");
			return -EINVAL;
		}
	}
	const char *root =
	    api_json_bool(body, "is_root_device", false) ? api_devices_root(m, NULL, NULL) : NULL;
	if (root) { /* a pmem device's root_device */
		snprintf(err, errlen, "A root device already exists: %s", root);
		return -EINVAL;
	}
	return 0;
}

/* partuuid (used for the root device only, as in Firecracker: root=PARTUUID=...) must be a
 * partition UUID the kernel parses: hex digits and dashes. A vhost-user "socket" has no backend
 * here. */
static int check_drive_extras(const json_t *body, char *err, size_t errlen)
{
	const char *uuid = api_json_str(body, "partuuid", "");
	size_t n = strlen(uuid);

	if (json_object_get(body, "socket")) {
		snprintf(err, errlen,
			 "socket (vhost-user-block) is not supported: give path_on_host");
		return -EINVAL;
	}
	if (n >= API_PARTUUID_MAX || strspn(uuid, "0123456789abcdefABCDEF-") != n) {
		snprintf(err, errlen, "partuuid must be a partition UUID (hex digits and dashes)");
		return -EINVAL;
	}
	return 0;
}

/* The whole check of a PUT /drives body; *rl gets its rate_limiter. */
static int check_drive(const struct api_model *m, const char *id, const json_t *body,
		       struct rate_limiter_cfg *rl, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"drive_id", API_JSON_STRING, true},     {"path_on_host", API_JSON_STRING, true},
	    {"is_root_device", API_JSON_BOOL, true}, {"is_read_only", API_JSON_BOOL, false},
	    {"partuuid", API_JSON_STRING, false},    {"cache_type", API_JSON_STRING, false},
	    {"io_engine", API_JSON_STRING, false},   {"rate_limiter", API_JSON_OBJECT, false},
	    {"socket", API_JSON_STRING, false},	     {NULL, 0, false}};
	int r = check_request(id, body, f, "drive_id", err, errlen);
	int i = find_drive(m, id);
	if (!r)
		r = check_drive_values(m, i, body, err, errlen);
	if (!r)
		r = check_drive_extras(body, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter",
					   rl, err, errlen);
	if (!r && i < 0 && m->ndrives == API_MAX_DRIVES) {
		snprintf(err, errlen, "at most %d drives", API_MAX_DRIVES);
		r = -EINVAL;
	}
	return r;
}

int api_model_check_drive(const struct api_model *m, const char *id, const json_t *body,
			  const char **path, bool *ro, char *err, size_t errlen)
{
	struct rate_limiter_cfg rl;
	int r = check_drive(m, id, body, &rl, err, errlen);
	if (r)
		return r;
	*path = api_json_str(body, "path_on_host", "");
	*ro = api_json_bool(body, "is_read_only", false);
	return 0;
}

int api_model_put_drive(struct api_model *m, const char *id, const json_t *body, char *err,
			size_t errlen)
{
	struct rate_limiter_cfg rl;
	int r = check_drive(m, id, body, &rl, err, errlen);
	if (r)
		return r;
	int i = find_drive(m, id);
	char *path = strdup(api_json_str(body, "path_on_host", ""));
	if (!path)
		return nomem(err, errlen);
	if (i < 0) {
		i = m->ndrives++;
		snprintf(m->drives[i].id, sizeof(m->drives[i].id), "%s", id);
	}
	struct api_drive *d = &m->drives[i];
	free(d->path);
	d->path = path;
	d->root = api_json_bool(body, "is_root_device", false);
	d->ro = api_json_bool(body, "is_read_only", false);
	snprintf(d->cache_type, sizeof(d->cache_type), "%s", api_json_str(body, "cache_type", ""));
	snprintf(d->io_engine, sizeof(d->io_engine), "%s", api_json_str(body, "io_engine", ""));
	snprintf(d->partuuid, sizeof(d->partuuid), "%s", api_json_str(body, "partuuid", ""));
	d->rl = rl;
	return 0;
}

int api_model_check_patch_drive(const struct api_model *m, const char *id, const json_t *body,
				int *index, const char **path, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"drive_id", API_JSON_STRING, true},
						  {"path_on_host", API_JSON_STRING, false},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	int r = check_request(id, body, f, "drive_id", err, errlen);
	if (r)
		return r;
	struct rate_limiter_cfg rl;
	r = api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter", &rl, err,
				   errlen);
	if (r)
		return r;
	*index = find_drive(m, id);
	if (*index < 0) {
		snprintf(err, errlen, "no drive with id `%s`", id);
		return -ENOENT;
	}
	*path = api_json_str(body, "path_on_host", NULL);
	if (*path && (!(*path)[0] || strchr(*path, ','))) {
		snprintf(err, errlen, "path_on_host is empty or contains a comma");
		return -EINVAL;
	}
	return 0;
}

bool api_model_patch_drive_rate_limiter(const json_t *body, struct rate_limiter_patch *p)
{
	const json_t *v = json_object_get(body, "rate_limiter");
	return !api_rate_limiter_parse_patch(v, "rate_limiter", p, NULL, 0) &&
	       rate_limiter_patch_any(p);
}

static int find_nic(const struct api_model *m, const char *id)
{
	for (int i = 0; i < m->nnics; i++)
		if (!strcmp(m->nics[i].id, id))
			return i;
	return -1;
}

static int check_nic_values(const json_t *body, char *err, size_t errlen)
{
	const char *dev = api_json_str(body, "host_dev_name", "");
	const char *mac = api_json_str(body, "guest_mac", NULL);
	uint8_t bytes[6];

	if (!dev[0] || strlen(dev) >= sizeof(((struct api_nic *)0)->host_dev) || strchr(dev, ',') ||
	    strchr(dev, '/')) {
		snprintf(err, errlen, "host_dev_name must be a tap name of 1 to 15 characters");
		return -EINVAL;
	}
	if (mac && virtio_net_parse_mac(mac, bytes)) {
		snprintf(err, errlen, "guest_mac `%s` is not a unicast MAC address", mac);
		return -EINVAL;
	}
	/* Our virtio-net always advertises VIRTIO_NET_F_MTU with 1500: that one is honoured. */
	if (json_object_get(body, "mtu") && api_json_uint(body, "mtu", 0) != API_NET_MTU) {
		snprintf(
		    err, errlen,
		    "mtu %llu cannot be honoured: this VMM's virtio-net advertises a fixed MTU "
		    "of %d",
		    (unsigned long long)api_json_uint(body, "mtu", 0), API_NET_MTU);
		return -EINVAL;
	}
	return 0;
}

int api_model_put_nic(struct api_model *m, const char *id, const json_t *body, char *err,
		      size_t errlen)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"host_dev_name", API_JSON_STRING, true},
						  {"guest_mac", API_JSON_STRING, false},
						  {"mtu", API_JSON_UINT, false},
						  {"rx_rate_limiter", API_JSON_OBJECT, false},
						  {"tx_rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	struct rate_limiter_cfg rx, tx;
	int r = check_request(id, body, f, "iface_id", err, errlen);
	if (!r)
		r = check_nic_values(body, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rx_rate_limiter"),
					   "rx_rate_limiter", &rx, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "tx_rate_limiter"),
					   "tx_rate_limiter", &tx, err, errlen);
	if (r)
		return r;
	int i = find_nic(m, id);
	if (i < 0 && m->nnics == API_MAX_NICS) {
		snprintf(err, errlen, "at most %d network interfaces", API_MAX_NICS);
		return -EINVAL;
	}
	if (i < 0) {
		i = m->nnics++;
		snprintf(m->nics[i].id, sizeof(m->nics[i].id), "%s", id);
	}
	struct api_nic *n = &m->nics[i];
	snprintf(n->host_dev, sizeof(n->host_dev), "%s", api_json_str(body, "host_dev_name", ""));
	snprintf(n->mac, sizeof(n->mac), "%s", api_json_str(body, "guest_mac", ""));
	n->rx_rl = rx;
	n->tx_rl = tx;
	return 0;
}

int api_model_check_patch_nic(const struct api_model *m, const char *id, const json_t *body,
			      int *index, struct rate_limiter_patch *rx,
			      struct rate_limiter_patch *tx, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"rx_rate_limiter", API_JSON_OBJECT, false},
						  {"tx_rate_limiter", API_JSON_OBJECT, false},
						  {NULL, 0, false}};
	int r = check_request(id, body, f, "iface_id", err, errlen);
	*rx = *tx = (struct rate_limiter_patch){0};
	if (!r)
		r = api_rate_limiter_parse_patch(json_object_get(body, "rx_rate_limiter"),
						 "rx_rate_limiter", rx, err, errlen);
	if (!r)
		r = api_rate_limiter_parse_patch(json_object_get(body, "tx_rate_limiter"),
						 "tx_rate_limiter", tx, err, errlen);
	if (r)
		return r;
	*index = find_nic(m, id);
	if (*index < 0) {
		snprintf(err, errlen, "no network interface with id `%s`", id);
		return -ENOENT;
	}
	return 0;
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

/* Applies every element of the array `key` (absent: nothing) with `put`, each keyed by its
 * own `id_field`. */
static int load_list(struct api_model *m, const json_t *root, const char *key, const char *id_field,
		     int (*put)(struct api_model *, const char *, const json_t *, char *, size_t),
		     char *err, size_t errlen)
{
	const json_t *list = json_object_get(root, key);
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		char why[200] = "";
		const char *id = json_is_object(item) ? api_json_str(item, id_field, "") : "";
		int r = put(m, id, item, why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "%s[%zu]: %s", key, i, why);
			return r;
		}
	}
	return 0;
}

/* Applies the object `key` (absent: nothing unless required) with `put`. */
static int load_one(struct api_model *m, const json_t *root, const char *key, bool required,
		    int (*put)(struct api_model *, const json_t *, char *, size_t), char *err,
		    size_t errlen)
{
	const json_t *v = json_object_get(root, key);
	char why[200] = "";

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
		int n = 0;
		while (n < m->nnics && strcmp(m->nics[n].id, c.ifaces[i]))
			n++;
		if (n == m->nnics) {
			snprintf(err, errlen, "%s", MMDS_MSG_BAD_IFACE);
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

/* Firecracker's configuration-file sections that have no counterpart here: absent, null or
 * (for the lists) empty is fine, anything else is refused. */
static int check_unsupported_sections(const json_t *root, char *err, size_t errlen)
{
	static const char *const none[][2] = {
	    {"cpu-config", "custom CPU templates are not supported"},
	    {"serial", "the serial device's output cannot be redirected here"},
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		const json_t *v = json_object_get(root, none[i][0]);
		if (v && !(json_is_array(v) && !json_array_size(v))) {
			snprintf(err, errlen, "%s: %s", none[i][0], none[i][1]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The sections the model itself has; the devices' (api_devices_fields()) follow. */
static const struct api_json_field model_sections[] = {
    {"boot-source", API_JSON_OBJECT, true}, {"machine-config", API_JSON_OBJECT, false},
    {"drives", API_JSON_ARRAY, false},	    {"network-interfaces", API_JSON_ARRAY, false},
    {"metrics", API_JSON_OBJECT, false},    {"logger", API_JSON_OBJECT, false},
    {"cpu-config", API_JSON_OBJECT, false}, {"mmds-config", API_JSON_OBJECT, false},
    {"serial", API_JSON_OBJECT, false}};
#define NMODEL_SECTIONS (int)(sizeof(model_sections) / sizeof(model_sections[0]))

static int load_sections(struct api_model *m, const json_t *root, char *err, size_t errlen)
{
	struct api_json_field f[NMODEL_SECTIONS + CLI_MAX_DEVICE_KINDS + 1];
	int n = NMODEL_SECTIONS;
	memcpy(f, model_sections, sizeof(model_sections));
	api_devices_fields(f, &n, NMODEL_SECTIONS + CLI_MAX_DEVICE_KINDS);
	char why[200] = "";
	int r = api_json_check(root, f, err, errlen);
	if (!r)
		r = check_unsupported_sections(root, err, errlen);
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
		r = load_list(m, root, "drives", "drive_id", api_model_put_drive, err, errlen);
	if (!r)
		r = load_list(m, root, "network-interfaces", "iface_id", api_model_put_nic, err,
			      errlen);
	if (!r)
		r = load_one(m, root, "mmds-config", false, api_model_put_mmds_config, err, errlen);
	if (!r)
		r = api_devices_load(m, root, err, errlen);
	if (!r)
		r = load_one(m, root, "metrics", false, put_metrics, err, errlen);
	return r;
}

int api_model_load(struct api_model *m, const json_t *root, char *err, size_t errlen)
{
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
	return json_pack("{s:I, s:I, s:b, s:b, s:s, s:s}", "vcpu_count", (json_int_t)m->vcpus,
			 "mem_size_mib", (json_int_t)m->mem_mib, "smt", m->smt, "track_dirty_pages",
			 m->track_dirty, "huge_pages", m->hugepages ? "Transparent" : "None",
			 "cpu_template", "None");
}

static json_t *drive_json(const struct api_drive *d)
{
	json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:s}", "drive_id", d->id, "path_on_host",
			      d->path ? d->path : "", "is_root_device", d->root, "is_read_only",
			      d->ro, "cache_type", d->cache_type[0] ? d->cache_type : "Writeback");
	if (j && d->io_engine[0])
		json_object_set_new(j, "io_engine", json_string(d->io_engine));
	if (j && d->partuuid[0])
		json_object_set_new(j, "partuuid", json_string(d->partuuid));
	json_t *rl = api_rate_limiter_json(&d->rl);
	if (j && rl)
		json_object_set_new(j, "rate_limiter", rl);
	return j;
}

static json_t *nic_json(const struct api_nic *n)
{
	json_t *j = json_pack("{s:s, s:s}", "iface_id", n->id, "host_dev_name", n->host_dev);
	if (j && n->mac[0])
		json_object_set_new(j, "guest_mac", json_string(n->mac));
	if (j) /* what the device advertises (VIRTIO_NET_F_MTU) */
		json_object_set_new(j, "mtu", json_integer(API_NET_MTU));
	json_t *rx = api_rate_limiter_json(&n->rx_rl), *tx = api_rate_limiter_json(&n->tx_rl);
	if (j && rx)
		json_object_set_new(j, "rx_rate_limiter", rx);
	if (j && tx)
		json_object_set_new(j, "tx_rate_limiter", tx);
	return j;
}

static json_t *boot_source_json(const struct api_model *m)
{
	json_t *j = json_object();
	if (m->kernel)
		json_object_set_new(j, "kernel_image_path", json_string(m->kernel));
	if (m->initrd)
		json_object_set_new(j, "initrd_path", json_string(m->initrd));
	if (m->boot_args)
		json_object_set_new(j, "boot_args", json_string(m->boot_args));
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
	json_t *drives = json_array(), *nics = json_array();
	for (int i = 0; i < m->ndrives; i++)
		json_array_append_new(drives, drive_json(&m->drives[i]));
	for (int i = 0; i < m->nnics; i++)
		json_array_append_new(nics, nic_json(&m->nics[i]));
	json_t *j = json_pack("{s:o, s:o, s:o, s:o}", "boot-source", boot_source_json(m),
			      "machine-config", api_model_machine_config_json(m), "drives", drives,
			      "network-interfaces", nics);
	if (j && m->metrics_path)
		json_object_set_new(j, "metrics", metrics_json(m));
	if (j && api_devices_json(m, j)) {
		json_decref(j);
		return NULL;
	}
	if (j && m->mmds_set)
		json_object_set_new(j, "mmds-config", mmds_config_json(&m->mmds));
	return j;
}

static void describe_nic(struct api_nic *n, const struct virtio_net_opts *o)
{
	if (o->kind == VIRTIO_NET_TAP)
		snprintf(n->host_dev, sizeof(n->host_dev), "%s", o->ifname);
	else if (o->kind == VIRTIO_NET_TAPFD)
		snprintf(n->host_dev, sizeof(n->host_dev), "fd:%d", o->tapfd);
	else
		snprintf(n->host_dev, sizeof(n->host_dev), "user");
	if (o->has_mac)
		snprintf(n->mac, sizeof(n->mac), "%02x:%02x:%02x:%02x:%02x:%02x", o->mac[0],
			 o->mac[1], o->mac[2], o->mac[3], o->mac[4], o->mac[5]);
}

int api_model_from_config(struct api_model *m, const struct vm_config *cfg)
{
	api_model_init(m);
	m->vcpus = cfg->ncpus;
	m->mem_mib = (unsigned)(cfg->mem_size >> 20);
	m->track_dirty = cfg->track_dirty_pages;
	m->hugepages = cfg->hugepages;
	m->smt = cfg->smt;
	if (set_str(&m->kernel, cfg->kernel) || set_str(&m->initrd, cfg->initrd) ||
	    set_str(&m->boot_args, cfg->append))
		return -ENOMEM;
	for (int i = 0; i < cfg->ndisks && i < API_MAX_DRIVES; i++) {
		struct api_drive *d = &m->drives[m->ndrives];
		if (set_str(&d->path, cfg->disks[i].path))
			return -ENOMEM;
		if (cfg->disks[i].id[0])
			snprintf(d->id, sizeof(d->id), "%s", cfg->disks[i].id);
		else
			snprintf(d->id, sizeof(d->id), "drive%d", i);
		d->ro = cfg->disks[i].ro;
		d->root = cfg->disks[i].root;
		d->rl = cfg->disks[i].rl;
		snprintf(d->cache_type, sizeof(d->cache_type), "%s",
			 cfg->disks[i].no_flush ? "Unsafe" : "Writeback");
		/* what add_drive() (control.c) made of an io_engine */
		snprintf(d->io_engine, sizeof(d->io_engine), "%s",
			 cfg->disks[i].aio == VIRTIO_BLK_AIO_SYNC	? "Sync"
			 : cfg->disks[i].aio == VIRTIO_BLK_AIO_IO_URING ? "Async"
									: "");
		m->ndrives++;
	}
	for (int i = 0; i < cfg->nnics && i < API_MAX_NICS; i++) {
		struct api_nic *n = &m->nics[m->nnics++];
		if (cfg->nics[i].id[0])
			snprintf(n->id, sizeof(n->id), "%s", cfg->nics[i].id);
		else
			snprintf(n->id, sizeof(n->id), "net%d", i);
		describe_nic(n, &cfg->nics[i]);
		n->rx_rl = cfg->nics[i].rx_rl;
		n->tx_rl = cfg->nics[i].tx_rl;
	}
	return api_devices_describe(m, cfg) ? -ENOMEM : 0;
}
