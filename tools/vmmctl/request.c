/* vmmctl: commands -> requests. Each command has one row in `commands`: its positional argument
 * count, the options it takes, and a builder (commands.h) that turns the parsed arguments into
 * method, path and JSON body (the API contract of the VMM's --api-sock, Firecracker-compatible
 * paths). This file parses the arguments against the row and holds the builders' helpers. */
#include "tools/vmmctl/request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmmctl/commands.h"

struct command {
	const char *name;
	int min_pos, max_pos;
	const struct opt_def *opts; /* at most CMD_MAX_OPTS */
	cmd_builder *build;
};

int cmd_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int vmmctl_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int cmd_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > (unsigned long long)max || (long long)v < min)
		return -EINVAL;
	*out = (long long)v;
	return 0;
}

void cmd_set(struct vmmctl_request *r, const char *method, const char *path, enum vmmctl_view view)
{
	r->method = method;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->view = view;
}

int cmd_id_path(const struct args *a, const char *prefix, const char *id, const char *method,
		struct vmmctl_request *r, char *e, size_t n)
{
	if (!vmmctl_id_valid(id))
		return cmd_fail(e, n, "%s: ID '%s' must be 1-64 of A-Z a-z 0-9 _ . -", a->cmd, id);
	char path[VMMCTL_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", prefix, id);
	cmd_set(r, method, path, VIEW_NONE);
	return 0;
}

const char *arg_opt(const struct args *a, const char *name)
{
	for (int k = 0; k < CMD_MAX_OPTS && a->defs[k].name; k++)
		if (strcmp(a->defs[k].name, name) == 0)
			return a->opt[k];
	return NULL;
}

/* Each command's options (a list ends with a NULL name). */
static const struct opt_def stop_opts[] = {{"timeout-ms", ARG_VALUE}, {0}};
static const struct opt_def put_drive_opts[] = {
    {"ro", ARG_FLAG}, {"root", ARG_FLAG}, {"bw", ARG_VALUE}, {"ops", ARG_VALUE}, {0}};
static const struct opt_def patch_drive_opts[] = {{"bw", ARG_VALUE}, {"ops", ARG_VALUE}, {0}};
static const struct opt_def boot_opts[] = {{"initrd", ARG_VALUE},
					   {"args", ARG_VALUE},
					   {"firmware", ARG_VALUE},
					   {"firmware-log", ARG_VALUE},
					   {0}};
static const struct opt_def machine_opts[] = {{"vcpus", ARG_VALUE},
					      {"mem-mib", ARG_VALUE},
					      {"smt", ARG_FLAG},
					      {"track-dirty-pages", ARG_FLAG},
					      {0}};
static const struct opt_def put_net_opts[] = {{"mac", ARG_VALUE},    {"rx-bw", ARG_VALUE},
					      {"rx-ops", ARG_VALUE}, {"tx-bw", ARG_VALUE},
					      {"tx-ops", ARG_VALUE}, {0}};
static const struct opt_def patch_net_opts[] = {{"rx-bw", ARG_VALUE},  {"rx-ops", ARG_VALUE},
						{"tx-bw", ARG_VALUE},  {"tx-ops", ARG_VALUE},
						{"egress", ARG_VALUE}, {0}};
static const struct opt_def vsock_opts[] = {{"id", ARG_VALUE}, {0}};
static const struct opt_def balloon_opts[] = {{"deflate-on-oom", ARG_FLAG},
					      {"stats-interval", ARG_VALUE},
					      {"free-page-reporting", ARG_FLAG},
					      {0}};
static const struct opt_def hotplug_opts[] = {
    {"block-mib", ARG_VALUE}, {"slot-mib", ARG_VALUE}, {0}};
static const struct opt_def pmem_opts[] = {{"ro", ARG_FLAG}, {"root", ARG_FLAG}, {0}};
static const struct opt_def create_opts[] = {{"type", ARG_VALUE}, {0}};
static const struct opt_def load_opts[] = {{"resume", ARG_FLAG},
					   {"uffd", ARG_FLAG},
					   {"net", ARG_REPEAT},
					   {"working-set", ARG_VALUE},
					   {"working-set-ms", ARG_VALUE},
					   {"clock-realtime", ARG_FLAG},
					   {0}};
static const struct opt_def migrate_opts[] = {{"local", ARG_FLAG},
					      {"max-downtime-ms", ARG_VALUE},
					      {"max-rounds", ARG_VALUE},
					      {"max-bandwidth", ARG_VALUE},
					      {0}};
static const struct opt_def add_disk_opts[] = {{"ro", ARG_FLAG},	  {"direct", ARG_FLAG},
					       {"serial", ARG_VALUE},	  {"id", ARG_VALUE},
					       {"num-queues", ARG_VALUE}, {0}};
static const struct opt_def add_net_opts[] = {
    {"mac", ARG_VALUE}, {"id", ARG_VALUE}, {"num-queues", ARG_VALUE}, {0}};
static const struct opt_def add_pmem_opts[] = {
    {"size", ARG_VALUE}, {"discard-writes", ARG_FLAG}, {"id", ARG_VALUE}, {0}};
static const struct opt_def add_fs_opts[] = {
    {"id", ARG_VALUE}, {"num-queues", ARG_VALUE}, {"queue-size", ARG_VALUE}, {0}};
static const struct opt_def add_device_opts[] = {{"id", ARG_VALUE}, {0}};
static const struct opt_def remove_device_opts[] = {{"timeout-ms", ARG_VALUE}, {0}};
static const struct opt_def resize_opts[] = {{"vcpus", ARG_VALUE}, {"timeout-ms", ARG_VALUE}, {0}};
static const struct opt_def no_opts[] = {{0}};

static const struct command commands[] = {
    {"info", 0, 0, no_opts, cmd_info},
    {"pause", 0, 0, no_opts, cmd_pause},
    {"resume", 0, 0, no_opts, cmd_resume},
    {"stop", 0, 0, stop_opts, cmd_stop},
    {"ctrl-alt-del", 0, 0, no_opts, cmd_ctrl_alt_del},
    {"power-button", 0, 0, no_opts, cmd_power_button},
    {"start", 0, 0, no_opts, cmd_start},
    {"flush-metrics", 0, 0, no_opts, cmd_flush_metrics},
    {"metrics", 0, 0, no_opts, cmd_metrics},
    {"devices", 0, 0, no_opts, cmd_devices},
    {"vcpus", 0, 0, no_opts, cmd_vcpus},
    {"config", 0, 0, no_opts, cmd_config},
    {"put-drive", 2, 2, put_drive_opts, cmd_put_drive},
    {"patch-drive", 1, 2, patch_drive_opts, cmd_patch_drive},
    {"put-boot-source", 0, 1, boot_opts, cmd_put_boot_source},
    {"put-machine-config", 0, 0, machine_opts, cmd_put_machine_config},
    {"put-net", 2, 2, put_net_opts, cmd_put_net},
    {"patch-net", 1, 1, patch_net_opts, cmd_patch_net},
    {"put-vsock", 2, 2, vsock_opts, cmd_put_vsock},
    {"balloon", 0, 0, no_opts, cmd_balloon},
    {"put-balloon", 1, 1, balloon_opts, cmd_put_balloon},
    {"patch-balloon", 1, 1, no_opts, cmd_patch_balloon},
    {"balloon-stats", 0, 0, no_opts, cmd_balloon_stats},
    {"patch-balloon-stats", 1, 1, no_opts, cmd_patch_balloon_stats},
    {"hotplug", 0, 0, no_opts, cmd_hotplug},
    {"put-hotplug", 1, 1, hotplug_opts, cmd_put_hotplug},
    {"patch-hotplug", 1, 1, no_opts, cmd_patch_hotplug},
    {"put-pmem", 2, 2, pmem_opts, cmd_put_pmem},
    {"snapshot-create", 2, 2, create_opts, cmd_snapshot_create},
    {"snapshot-load", 2, 2, load_opts, cmd_snapshot_load},
    {"working-set-stop", 0, 0, no_opts, cmd_working_set_stop},
    {"migrate", 1, 1, migrate_opts, cmd_migrate},
    {"migration", 0, 0, no_opts, cmd_migration},
    {"migrate-cancel", 0, 0, no_opts, cmd_migrate_cancel},
    {"receive-migration", 1, 1, no_opts, cmd_receive_migration},
    {"add-disk", 1, 1, add_disk_opts, cmd_add_disk},
    {"add-net", 1, 1, add_net_opts, cmd_add_net},
    {"add-vsock", 2, 2, vsock_opts, cmd_add_vsock},
    {"add-pmem", 1, 1, add_pmem_opts, cmd_add_pmem},
    {"add-fs", 2, 2, add_fs_opts, cmd_add_fs},
    {"add-device", 1, 1, add_device_opts, cmd_add_device},
    {"remove-device", 1, 1, remove_device_opts, cmd_remove_device},
    {"resize", 0, 0, resize_opts, cmd_resize},
    {"set-metrics", 1, 1, no_opts, cmd_set_metrics},
    {"raw", 2, 3, no_opts, cmd_raw},
};

/* Stores the value of option k (an ARG_REPEAT one is appended). */
static int store_option(const struct command *c, int k, const char *value, struct args *a, char *e,
			size_t n)
{
	if (c->opts[k].kind != ARG_REPEAT) {
		a->opt[k] = value;
		return 0;
	}
	if (a->nrep == CMD_MAX_REPEAT)
		return cmd_fail(e, n, "%s: at most %d --%s", c->name, CMD_MAX_REPEAT,
				c->opts[k].name);
	a->opt[k] = value;
	a->rep[a->nrep++] = value;
	return 0;
}

/* One "--name" or "--name=value" argument of command `c`; may consume the next argument. */
static int parse_option(const struct command *c, int argc, char **argv, int *i, struct args *a,
			char *e, size_t n)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	for (int k = 0; k < CMD_MAX_OPTS && c->opts[k].name; k++) {
		const struct opt_def *o = &c->opts[k];
		if (strlen(o->name) != len || strncmp(o->name, arg, len) != 0)
			continue;
		if (o->kind == ARG_FLAG) {
			if (eq)
				return cmd_fail(e, n, "%s: --%s takes no value", c->name, o->name);
			a->opt[k] = "";
			return 0;
		}
		if (eq)
			return store_option(c, k, eq + 1, a, e, n);
		if (*i + 1 < argc)
			return store_option(c, k, argv[++*i], a, e, n);
		return cmd_fail(e, n, "%s: --%s needs a value", c->name, o->name);
	}
	return cmd_fail(e, n, "%s: unknown option '%s'", c->name, argv[*i]);
}

static int parse_args(const struct command *c, int argc, char **argv, struct args *a, char *e,
		      size_t n)
{
	int only_pos = 0;
	a->cmd = c->name;
	a->defs = c->opts;
	for (int i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = 1;
		} else if (!only_pos && strncmp(argv[i], "--", 2) == 0) {
			int err = parse_option(c, argc, argv, &i, a, e, n);
			if (err)
				return err;
		} else {
			if (a->npos == c->max_pos)
				return cmd_fail(e, n, "%s: unexpected argument '%s'", c->name,
						argv[i]);
			a->pos[a->npos++] = argv[i];
		}
	}
	if (a->npos < c->min_pos)
		return cmd_fail(e, n, "%s: missing argument (see vmmctl --help)", c->name);
	return 0;
}

/* JSON strings are UTF-8; jansson refuses anything else (json_string() returns NULL). */
static int utf8_valid(const char *s)
{
	json_t *t = json_string(s);
	json_decref(t);
	return t != NULL;
}

static int build(const struct command *c, int argc, char **argv, struct vmmctl_request *req,
		 char *err, size_t errlen)
{
	for (int k = 1; k < argc; k++)
		if (!utf8_valid(argv[k]))
			return cmd_fail(err, errlen, "%s: argument %d is not valid UTF-8", c->name,
					k);
	struct args a = {0};
	int ret = parse_args(c, argc, argv, &a, err, errlen);
	if (!ret)
		ret = c->build(&a, req, err, errlen);
	if (!ret && !req->body && strcmp(req->method, "GET") != 0 && req->view != VIEW_RAW)
		ret = cmd_fail(err, errlen, "%s: out of memory building the body", c->name);
	return ret;
}

int vmmctl_request_build(int argc, char **argv, struct vmmctl_request *req, char *err,
			 size_t errlen)
{
	memset(req, 0, sizeof(*req));
	if (argc < 1)
		return cmd_fail(err, errlen, "no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		int ret = build(&commands[i], argc, argv, req, err, errlen);
		if (ret)
			vmmctl_request_free(req);
		return ret;
	}
	return cmd_fail(err, errlen, "unknown command '%s'", argv[0]);
}

void vmmctl_request_free(struct vmmctl_request *req)
{
	json_decref(req->body);
	req->body = NULL;
}
