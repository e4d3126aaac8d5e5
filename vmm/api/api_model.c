/* The Firecracker-style VM model and its request bodies. See api_model.h. */
#include "vmm/api/api_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/net/options.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/api_json.h"
#include "vmm/api/api_logger.h"
#include "vmm/machine/api_rate_limit.h"
#include "vmm/machine/dev_vhost_user.h"

#define MAX_MEM_MIB    (1u << 20) /* 1 TiB: beyond that the host says no anyway */
#define API_OPTION_MAX 4200	  /* a --disk argument: a path of PATH_MAX and a few short fields */

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

static int find_nic(const struct api_model *m, const char *id)
{
	for (int i = 0; i < m->nnics; i++)
		if (!strcmp(m->nics[i].id, id))
			return i;
	return -1;
}

/* A member that is there and not null (null means absent). */
static bool has(const json_t *body, const char *name)
{
	const json_t *v = json_object_get(body, name);
	return v && !json_is_null(v);
}

/* A device's back-end: exactly one of `local` (path_on_host, host_dev_name: `what`) and socket
 * (a vhost-user back-end); vhost_user (Cloud Hypervisor's), when given, must agree. */
static int check_backend(const json_t *body, const char *local, const char *what, char *err,
			 size_t errlen)
{
	bool vu = has(body, "socket");
	if (has(body, local) == vu) {
		snprintf(err, errlen,
			 "give exactly one of %s (%s) and socket (a vhost-user back-end)", local,
			 what);
		return -EINVAL;
	}
	if (has(body, "vhost_user") && api_json_bool(body, "vhost_user", false) != vu) {
		snprintf(err, errlen, "vhost_user %s",
			 vu ? "false contradicts socket"
			    : "true needs socket instead of a local back-end");
		return -EINVAL;
	}
	return 0;
}

_Static_assert(API_SOCKET_MAX == sizeof(((struct vu_opts *)0)->socket),
	       "the model keeps what --disk/--net vhost-user= can take");

/* The socket goes into an option argument, which a comma would end. */
static int check_socket(const json_t *body, char *err, size_t errlen)
{
	const char *s = api_json_str(body, "socket", "");
	if (!s[0] || strchr(s, ',') || strlen(s) >= API_SOCKET_MAX) {
		snprintf(err, errlen,
			 "socket must name the vhost-user back-end's Unix socket: 1 to %d bytes, "
			 "no comma",
			 API_SOCKET_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

/* The first member of `refused` ({name, reason} pairs) that `body` has: -EINVAL, "NAME cannot be
 * honoured with socket: REASON". */
static int refuse_fields(const json_t *body, const char *const (*refused)[2], size_t n, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (has(body, refused[i][0])) {
			snprintf(err, errlen, "%s cannot be honoured with socket: %s",
				 refused[i][0], refused[i][1]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Cloud Hypervisor's queue fields belong to a vhost-user device; `local` names the other kind. */
static int refuse_queues(const json_t *body, const char *local, char *err, size_t errlen)
{
	if (has(body, "num_queues") || has(body, "queue_size")) {
		snprintf(
		    err, errlen,
		    "num_queues and queue_size are for a vhost-user device (socket), not with %s",
		    local);
		return -EINVAL;
	}
	return 0;
}

/* A vhost-user disk's back-end does its I/O, decides whether it has a write cache
 * (VIRTIO_BLK_F_FLUSH) or is read-only (VIRTIO_BLK_F_RO), and its requests never pass through
 * the VMM: the fields that would ask the VMM for those are refused. */
static int check_vu_drive(const json_t *body, char *err, size_t errlen)
{
	static const char *const refused[][2] = {
	    {"cache_type", "the vhost-user back-end decides whether the disk has a write cache "
			   "(VIRTIO_BLK_F_FLUSH)"},
	    {"io_engine", "the vhost-user back-end does the disk's I/O"},
	    {"rate_limiter", "the disk's requests go to the vhost-user back-end without passing "
			     "through the VMM"},
	};
	int r = refuse_fields(body, refused, sizeof(refused) / sizeof(refused[0]), err, errlen);
	if (!r && api_json_bool(body, "is_read_only", false)) {
		snprintf(
		    err, errlen,
		    "is_read_only true cannot be honoured with socket: a vhost-user disk is "
		    "read-only when its back-end says so (VIRTIO_BLK_F_RO): export it read-only");
		r = -EINVAL;
	}
	return r ? r : check_socket(body, err, errlen);
}

/* A drive on a file: its cache_type, io_engine and path_on_host. */
static int check_file_drive(const json_t *body, char *err, size_t errlen)
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
	return refuse_queues(body, "path_on_host", err, errlen);
}

/* One root device at most: another drive, or a pmem device's root_device. */
static int check_drive_root(const struct api_model *m, int self, const json_t *body, char *err,
			    size_t errlen)
{
	if (!api_json_bool(body, "is_root_device", false))
		return 0;
	for (int i = 0; i < m->ndrives; i++) {
		if (i != self && m->drives[i].root) {
			snprintf(err, errlen, "A root block device already exists!");
			return -EINVAL;
		}
	}
	const char *root = api_devices_root(m, NULL, NULL);
	if (root) {
		snprintf(err, errlen, "A root device already exists: %s", root);
		return -EINVAL;
	}
	return 0;
}

/* partuuid (used for the root device only, as in Firecracker: root=PARTUUID=...) must be a
 * partition UUID the kernel parses: hex digits and dashes. */
static int check_partuuid(const json_t *body, char *err, size_t errlen)
{
	const char *uuid = api_json_str(body, "partuuid", "");
	size_t n = strlen(uuid);

	if (n >= API_PARTUUID_MAX || strspn(uuid, "0123456789abcdefABCDEF-") != n) {
		snprintf(err, errlen, "partuuid must be a partition UUID (hex digits and dashes)");
		return -EINVAL;
	}
	return 0;
}

/* Appends printf-style text to the NUL-terminated `spec`. 0 or -ENAMETOOLONG. */
static int append(char *spec, size_t len, const char *fmt, ...)
{
	size_t used = strlen(spec);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(spec + used, len - used, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len - used ? -ENAMETOOLONG : 0;
}

/* ",num-queues=N,queue-size=N" for what was given, then ",id=ID". */
static int append_vu_tail(char *spec, size_t len, int64_t queues, int64_t size, const char *id)
{
	int r = queues >= 0 ? append(spec, len, ",num-queues=%lld", (long long)queues) : 0;
	if (!r && size >= 0)
		r = append(spec, len, ",queue-size=%lld", (long long)size);
	return r ? r : append(spec, len, ",id=%s", id);
}

int api_model_drive_option(const struct api_drive *d, char *spec, size_t len)
{
	const char *aio = !strcmp(d->io_engine, "Sync")	   ? ",aio=sync"
			  : !strcmp(d->io_engine, "Async") ? ",aio=io_uring"
							   : "";
	const char *flush = !strcmp(d->cache_type, "Unsafe") ? ",flush=off" : "";
	if (!len)
		return -ENAMETOOLONG;
	spec[0] = '\0';
	if (d->vhost_user) {
		int r = append(spec, len, "vhost-user=%s", d->path);
		return r ? r : append_vu_tail(spec, len, d->num_queues, d->queue_size, d->id);
	}
	if (append(spec, len, "%s%s%s%s%s,id=%s", d->path, d->ro ? ",ro" : "",
		   d->root ? ",root" : "", aio, flush, d->id) ||
	    api_rate_limiter_spec(spec, len, "", &d->rl))
		return -ENAMETOOLONG;
	return 0;
}

int api_model_nic_option(const struct api_nic *n, char *spec, size_t len)
{
	if (!len)
		return -ENAMETOOLONG;
	spec[0] = '\0';
	if (n->socket[0]) {
		int r = append(spec, len, "vhost-user=%s%s%s", n->socket, n->mac[0] ? ",mac=" : "",
			       n->mac);
		return r ? r : append_vu_tail(spec, len, n->num_queues, n->queue_size, n->id);
	}
	/* host_dev_name "user" is user-mode networking (`--net user`, as GET /vm/config shows a
	 * libslirp NIC); any other name is a tap's. */
	const char *kind = strcmp(n->host_dev, API_NIC_USER) ? "tap=" : "";
	if (append(spec, len, "%s%s%s%s,id=%s", kind, n->host_dev, n->mac[0] ? ",mac=" : "", n->mac,
		   n->id) ||
	    api_rate_limiter_spec(spec, len, "rx-", &n->rx_rl) ||
	    api_rate_limiter_spec(spec, len, "tx-", &n->tx_rl))
		return -ENAMETOOLONG;
	return 0;
}

/* One --OPTION argument through the command line's parser into `cfg`. */
static int try_option(struct vm_config *cfg, const char *opt, int built, const char *spec,
		      char *err, size_t errlen)
{
	char why[200] = "";
	if (built) {
		snprintf(err, errlen, "the --%s argument would be too long", opt);
		return built;
	}
	int r = cli_device_option(cfg, opt, spec, why, sizeof(why));
	if (r)
		snprintf(err, errlen, "--%s %s: %s", opt, spec, why[0] ? why : strerror(-r));
	return r;
}

/* The model's drives and NICs, with `drive` / `nic` (when not NULL) in place of the one with
 * its id or added, through the command line's parsers in a configuration of their own: the
 * rules of --disk and --net (ranges, a socket given twice, too many of a kind) are the API's.
 * The trial sees the model's drives and NICs only: a clash with a device of the command line
 * or of the fs section (one socket given to both) is found at InstanceStart, which refuses it
 * with the parser's message and takes back what it built. */
static int trial(const struct api_model *m, const struct api_drive *drive,
		 const struct api_nic *nic, char *err, size_t errlen)
{
	struct api_drive drives[API_MAX_DRIVES + 1];
	struct api_nic nics[API_MAX_NICS + 1];
	int nd = m->ndrives, nn = m->nnics, r = 0;
	char spec[API_OPTION_MAX];
	struct vm_config cfg;

	memcpy(drives, m->drives, sizeof(m->drives));
	memcpy(nics, m->nics, sizeof(m->nics));
	if (drive)
		drives[find_drive(m, drive->id) < 0 ? nd++ : find_drive(m, drive->id)] = *drive;
	if (nic)
		nics[find_nic(m, nic->id) < 0 ? nn++ : find_nic(m, nic->id)] = *nic;
	cli_config_init(&cfg);
	for (int i = 0; !r && i < nd; i++)
		r = try_option(&cfg, "disk", api_model_drive_option(&drives[i], spec, sizeof(spec)),
			       spec, err, errlen);
	for (int i = 0; !r && i < nn; i++)
		r = try_option(&cfg, "net", api_model_nic_option(&nics[i], spec, sizeof(spec)),
			       spec, err, errlen);
	cli_free(&cfg);
	return r == -ENOMEM ? r : r ? -EINVAL : 0;
}

/* The drive a checked body describes; its path points into `body`. */
static void drive_of(const json_t *body, const char *id, const struct rate_limiter_cfg *rl,
		     struct api_drive *d)
{
	*d = (struct api_drive){.vhost_user = has(body, "socket"), .rl = *rl};
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->path = (char *)api_json_str(body, d->vhost_user ? "socket" : "path_on_host", "");
	d->num_queues =
	    has(body, "num_queues") ? (int64_t)api_json_uint(body, "num_queues", 0) : -1;
	d->queue_size =
	    has(body, "queue_size") ? (int64_t)api_json_uint(body, "queue_size", 0) : -1;
	d->root = api_json_bool(body, "is_root_device", false);
	d->ro = api_json_bool(body, "is_read_only", false);
	snprintf(d->cache_type, sizeof(d->cache_type), "%s", api_json_str(body, "cache_type", ""));
	snprintf(d->io_engine, sizeof(d->io_engine), "%s", api_json_str(body, "io_engine", ""));
	snprintf(d->partuuid, sizeof(d->partuuid), "%s", api_json_str(body, "partuuid", ""));
}

/* The whole check of a PUT /drives body; *d gets the drive it describes (drive_of()). */
static int check_drive(const struct api_model *m, const char *id, const json_t *body,
		       struct api_drive *d, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"drive_id", API_JSON_STRING, true},
						  {"path_on_host", API_JSON_STRING, false},
						  {"is_root_device", API_JSON_BOOL, true},
						  {"is_read_only", API_JSON_BOOL, false},
						  {"partuuid", API_JSON_STRING, false},
						  {"cache_type", API_JSON_STRING, false},
						  {"io_engine", API_JSON_STRING, false},
						  {"rate_limiter", API_JSON_OBJECT, false},
						  {"socket", API_JSON_STRING, false},
						  {"vhost_user", API_JSON_BOOL, false},
						  {"num_queues", API_JSON_UINT, false},
						  {"queue_size", API_JSON_UINT, false},
						  {NULL, 0, false}};
	struct rate_limiter_cfg rl;
	int r = check_request(id, body, f, "drive_id", err, errlen);
	int i = find_drive(m, id);
	if (!r)
		r = check_backend(body, "path_on_host", "a file", err, errlen);
	if (!r)
		r = has(body, "socket") ? check_vu_drive(body, err, errlen)
					: check_file_drive(body, err, errlen);
	if (!r)
		r = check_drive_root(m, i, body, err, errlen);
	if (!r)
		r = check_partuuid(body, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rate_limiter"), "rate_limiter",
					   &rl, err, errlen);
	if (!r && i < 0 && m->ndrives == API_MAX_DRIVES) {
		snprintf(err, errlen, "at most %d drives", API_MAX_DRIVES);
		r = -EINVAL;
	}
	if (r)
		return r;
	drive_of(body, id, &rl, d);
	return trial(m, d, NULL, err, errlen);
}

int api_model_check_drive(const struct api_model *m, const char *id, const json_t *body,
			  const char **path, bool *ro, char *err, size_t errlen)
{
	struct api_drive d;
	int r = check_drive(m, id, body, &d, err, errlen);
	if (r)
		return r;
	*path = d.vhost_user ? NULL : d.path;
	*ro = d.ro;
	return 0;
}

int api_model_put_drive(struct api_model *m, const char *id, const json_t *body, char *err,
			size_t errlen)
{
	struct api_drive d;
	int r = check_drive(m, id, body, &d, err, errlen);
	if (r)
		return r;
	int i = find_drive(m, id);
	d.path = strdup(d.path);
	if (!d.path)
		return nomem(err, errlen);
	if (i < 0)
		i = m->ndrives++;
	free(m->drives[i].path);
	m->drives[i] = d;
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
	if (m->drives[*index].vhost_user) {
		snprintf(err, errlen,
			 "drive `%s` is a vhost-user disk (socket): its back-end serves it, so "
			 "neither path_on_host nor rate_limiter can be changed here",
			 id);
		return -EINVAL;
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

static int check_mac(const json_t *body, char *err, size_t errlen)
{
	const char *mac = api_json_str(body, "guest_mac", NULL);
	uint8_t bytes[6];

	if (mac && virtio_net_parse_mac(mac, bytes)) {
		snprintf(err, errlen, "guest_mac `%s` is not a unicast MAC address", mac);
		return -EINVAL;
	}
	return 0;
}

/* A NIC on a tap: its host_dev_name, its mtu. */
static int check_tap_nic(const json_t *body, char *err, size_t errlen)
{
	const char *dev = api_json_str(body, "host_dev_name", "");

	if (!dev[0] || strlen(dev) >= sizeof(((struct api_nic *)0)->host_dev) || strchr(dev, ',') ||
	    strchr(dev, '/')) {
		snprintf(err, errlen,
			 "host_dev_name must be a tap name of 1 to 15 characters (or \"user\": "
			 "user-mode networking)");
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
	return refuse_queues(body, "host_dev_name", err, errlen);
}

/* A vhost-user NIC's frames go between the guest and the back-end without passing through the
 * VMM: no rate limiter can count them and MMDS cannot answer on it; its MTU is the back-end's. */
static int check_vu_nic(const struct api_model *m, const char *id, const json_t *body, char *err,
			size_t errlen)
{
	static const char *const refused[][2] = {
	    {"mtu", "a vhost-user NIC's MTU is its back-end's (VIRTIO_NET_F_MTU)"},
	    {"rx_rate_limiter", "the NIC's frames do not pass through the VMM"},
	    {"tx_rate_limiter", "the NIC's frames do not pass through the VMM"},
	};
	int r = refuse_fields(body, refused, sizeof(refused) / sizeof(refused[0]), err, errlen);
	if (!r && m->mmds_set && mmds_config_has_iface(&m->mmds, id)) {
		snprintf(
		    err, errlen,
		    "mmds-config names `%s`: MMDS cannot answer on a vhost-user NIC (its frames "
		    "do not pass through the VMM)",
		    id);
		r = -EINVAL;
	}
	return r ? r : check_socket(body, err, errlen);
}

/* The NIC a checked body describes. */
static void nic_of(const json_t *body, const char *id, const struct rate_limiter_cfg *rx,
		   const struct rate_limiter_cfg *tx, struct api_nic *n)
{
	*n = (struct api_nic){.rx_rl = *rx, .tx_rl = *tx};
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->host_dev, sizeof(n->host_dev), "%s", api_json_str(body, "host_dev_name", ""));
	snprintf(n->socket, sizeof(n->socket), "%s", api_json_str(body, "socket", ""));
	snprintf(n->mac, sizeof(n->mac), "%s", api_json_str(body, "guest_mac", ""));
	n->num_queues =
	    has(body, "num_queues") ? (int64_t)api_json_uint(body, "num_queues", 0) : -1;
	n->queue_size =
	    has(body, "queue_size") ? (int64_t)api_json_uint(body, "queue_size", 0) : -1;
}

/* The whole check of a PUT /network-interfaces body; *n gets the NIC it describes. */
static int check_nic(const struct api_model *m, const char *id, const json_t *body,
		     struct api_nic *n, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"iface_id", API_JSON_STRING, true},
						  {"host_dev_name", API_JSON_STRING, false},
						  {"guest_mac", API_JSON_STRING, false},
						  {"mtu", API_JSON_UINT, false},
						  {"rx_rate_limiter", API_JSON_OBJECT, false},
						  {"tx_rate_limiter", API_JSON_OBJECT, false},
						  {"socket", API_JSON_STRING, false},
						  {"vhost_user", API_JSON_BOOL, false},
						  {"num_queues", API_JSON_UINT, false},
						  {"queue_size", API_JSON_UINT, false},
						  {NULL, 0, false}};
	struct rate_limiter_cfg rx, tx;
	int r = check_request(id, body, f, "iface_id", err, errlen);
	if (!r)
		r = check_backend(body, "host_dev_name", "a tap", err, errlen);
	if (!r)
		r = has(body, "socket") ? check_vu_nic(m, id, body, err, errlen)
					: check_tap_nic(body, err, errlen);
	if (!r)
		r = check_mac(body, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "rx_rate_limiter"),
					   "rx_rate_limiter", &rx, err, errlen);
	if (!r)
		r = api_rate_limiter_parse(json_object_get(body, "tx_rate_limiter"),
					   "tx_rate_limiter", &tx, err, errlen);
	if (!r && find_nic(m, id) < 0 && m->nnics == API_MAX_NICS) {
		snprintf(err, errlen, "at most %d network interfaces", API_MAX_NICS);
		r = -EINVAL;
	}
	if (r)
		return r;
	nic_of(body, id, &rx, &tx, n);
	return trial(m, NULL, n, err, errlen);
}

int api_model_put_nic(struct api_model *m, const char *id, const json_t *body, char *err,
		      size_t errlen)
{
	struct api_nic n;
	int r = check_nic(m, id, body, &n, err, errlen);
	if (r)
		return r;
	int i = find_nic(m, id);
	m->nics[i < 0 ? m->nnics++ : i] = n;
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
	if (m->nics[*index].socket[0]) {
		snprintf(err, errlen,
			 "network interface `%s` is a vhost-user NIC (socket): its frames do not "
			 "pass through the VMM, so it has no rate limiters to change",
			 id);
		return -EINVAL;
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
		} else if (m->nics[n].socket[0]) {
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

/* Sets num_queues and queue_size of a vhost-user device's document, when given. */
static void queues_json(json_t *j, int64_t queues, int64_t size)
{
	if (j && queues >= 0)
		json_object_set_new(j, "num_queues", json_integer(queues));
	if (j && size >= 0)
		json_object_set_new(j, "queue_size", json_integer(size));
}

/* A vhost-user disk as it was given: its socket instead of path_on_host. */
static json_t *vu_drive_json(const struct api_drive *d)
{
	json_t *j = json_pack("{s:s, s:s, s:b}", "drive_id", d->id, "socket",
			      d->path ? d->path : "", "is_root_device", d->root);
	if (j && d->partuuid[0])
		json_object_set_new(j, "partuuid", json_string(d->partuuid));
	queues_json(j, d->num_queues, d->queue_size);
	return j;
}

static json_t *drive_json(const struct api_drive *d)
{
	if (d->vhost_user)
		return vu_drive_json(d);
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

static json_t *vu_nic_json(const struct api_nic *n)
{
	json_t *j = json_pack("{s:s, s:s}", "iface_id", n->id, "socket", n->socket);
	if (j && n->mac[0])
		json_object_set_new(j, "guest_mac", json_string(n->mac));
	queues_json(j, n->num_queues, n->queue_size);
	return j;
}

static json_t *nic_json(const struct api_nic *n)
{
	if (n->socket[0])
		return vu_nic_json(n);
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

static void mac_string(char out[18], const uint8_t mac[6])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static void describe_nic(struct api_nic *n, const struct virtio_net_opts *o)
{
	if (o->kind == VIRTIO_NET_TAP)
		snprintf(n->host_dev, sizeof(n->host_dev), "%s", o->ifname);
	else if (o->kind == VIRTIO_NET_TAPFD)
		snprintf(n->host_dev, sizeof(n->host_dev), "fd:%d", o->tapfd);
	else
		snprintf(n->host_dev, sizeof(n->host_dev), API_NIC_USER);
	if (o->has_mac)
		mac_string(n->mac, o->mac);
}

/* A device's id= as the API's id, or PREFIX and its place in the model (drive2, net1). */
static void model_id(char *out, size_t len, const char *id, const char *prefix, int index)
{
	if (id[0])
		snprintf(out, len, "%s", id);
	else
		snprintf(out, len, "%s%d", prefix, index);
}

/* The --disk vhost-user= and --net vhost-user= devices, after the others as the guest sees
 * them, with their socket and queues as the options set them. 0 or -ENOMEM. */
static int describe_vu(struct api_model *m, const struct vm_config *cfg)
{
	const struct dev_vu_cfg *blk = device_cfg_find(cfg, &device_vu_blk);
	const struct dev_vu_cfg *net = device_cfg_find(cfg, &device_vu_net);

	for (int i = 0; blk && i < blk->n && m->ndrives < API_MAX_DRIVES; i++) {
		const struct vu_opts *o = &blk->dev[i].opts;
		struct api_drive *d = &m->drives[m->ndrives];
		*d = (struct api_drive){.vhost_user = true,
					.num_queues = o->num_queues,
					.queue_size = o->queue_size,
					.path = strdup(o->socket)};
		if (!d->path)
			return -ENOMEM;
		model_id(d->id, sizeof(d->id), o->id, "drive", m->ndrives++);
	}
	for (int i = 0; net && i < net->n && m->nnics < API_MAX_NICS; i++) {
		const struct vu_opts *o = &net->dev[i].opts;
		struct api_nic *n = &m->nics[m->nnics];
		*n = (struct api_nic){.num_queues = o->num_queues, .queue_size = o->queue_size};
		snprintf(n->socket, sizeof(n->socket), "%s", o->socket);
		if (o->has_mac)
			mac_string(n->mac, o->mac);
		model_id(n->id, sizeof(n->id), o->id, "net", m->nnics++);
	}
	return 0;
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
	return describe_vu(m, cfg) || api_devices_describe(m, cfg) ? -ENOMEM : 0;
}
