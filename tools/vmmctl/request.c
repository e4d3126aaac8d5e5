/* vmmctl: commands -> requests. Each command has one row in `commands`: its positional argument
 * count, the options it takes, and a builder that turns the parsed arguments into method, path
 * and JSON body (the API contract of the VMM's --api-sock, Firecracker-compatible paths). */
#include "tools/vmmctl/request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POS	 3
#define MAX_OPTS 4

/* A command's parsed arguments: positionals in order, option values by the row's option index
 * (a flag's value is "" when given, NULL when not). */
struct args {
	int npos;
	const char *pos[MAX_POS];
	const char *opt[MAX_OPTS];
};

struct opt_def {
	const char *name; /* without the leading "--" */
	int has_arg;
};

struct command {
	const char *name;
	int min_pos, max_pos;
	struct opt_def opts[MAX_OPTS];
	int (*build)(const struct args *a, struct vmmctl_request *r, char *err, size_t errlen);
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
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

/* A decimal integer in [min, max], the whole string. */
static int parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	if (!s || *s == '\0' || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > (unsigned long long)max || (long long)v < min)
		return -EINVAL;
	*out = (long long)v;
	return 0;
}

static void set(struct vmmctl_request *r, const char *method, const char *path,
		enum vmmctl_view view)
{
	r->method = method;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->view = view;
}

static int get_view(const char *path, enum vmmctl_view view, struct vmmctl_request *r)
{
	set(r, "GET", path, view);
	return 0;
}

static int b_info(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/", VIEW_INFO, r);
}

static int b_metrics(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vmm/metrics", VIEW_METRICS, r);
}

static int b_devices(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vmm/devices", VIEW_DEVICES, r);
}

static int b_vcpus(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vmm/vcpus", VIEW_VCPUS, r);
}

static int b_config(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vm/config", VIEW_CONFIG, r);
}

static int vm_state(struct vmmctl_request *r, const char *state)
{
	set(r, "PATCH", "/vm", VIEW_NONE);
	r->body = json_pack("{s:s}", "state", state);
	return 0;
}

static int b_pause(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return vm_state(r, "Paused");
}

static int b_resume(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return vm_state(r, "Resumed");
}

static int action(struct vmmctl_request *r, const char *type)
{
	set(r, "PUT", "/actions", VIEW_NONE);
	r->body = json_pack("{s:s}", "action_type", type);
	return 0;
}

static int b_start(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "InstanceStart");
}

static int b_cad(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "SendCtrlAltDel");
}

static int b_flush(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "FlushMetrics");
}

static int b_stop(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long ms = VMMCTL_DEFAULT_STOP_MS;
	if (a->opt[0] && parse_int(a->opt[0], 0, 86400000, &ms))
		return fail(e, n, "stop: --timeout-ms wants milliseconds 0-86400000, not '%s'",
			    a->opt[0]);
	set(r, "PUT", "/vmm/stop", VIEW_NONE);
	r->body = json_pack("{s:I}", "timeout_ms", (json_int_t)ms);
	r->stop_timeout_ms = ms;
	return 0;
}

/* "/prefix/ID" for a command whose first positional is an ID. */
static int id_path(const char *cmd, const char *prefix, const char *id, struct vmmctl_request *r,
		   const char *method, char *e, size_t n)
{
	if (!vmmctl_id_valid(id))
		return fail(e, n, "%s: ID '%s' must be 1-64 of A-Z a-z 0-9 _ . -", cmd, id);
	char path[VMMCTL_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", prefix, id);
	set(r, method, path, VIEW_NONE);
	return 0;
}

static int b_put_drive(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	int err = id_path("put-drive", "/drives", a->pos[0], r, "PUT", e, n);
	if (err)
		return err;
	r->body =
	    json_pack("{s:s, s:s, s:b, s:b}", "drive_id", a->pos[0], "path_on_host", a->pos[1],
		      "is_root_device", a->opt[1] != NULL, "is_read_only", a->opt[0] != NULL);
	return 0;
}

static int b_patch_drive(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	int err = id_path("patch-drive", "/drives", a->pos[0], r, "PATCH", e, n);
	if (err)
		return err;
	r->body = json_pack("{s:s, s:s}", "drive_id", a->pos[0], "path_on_host", a->pos[1]);
	return 0;
}

static int b_boot_source(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)e, (void)n;
	set(r, "PUT", "/boot-source", VIEW_NONE);
	r->body = json_pack("{s:s}", "kernel_image_path", a->pos[0]);
	if (a->opt[1])
		json_object_set_new(r->body, "boot_args", json_string(a->opt[1]));
	if (a->opt[0])
		json_object_set_new(r->body, "initrd_path", json_string(a->opt[0]));
	return 0;
}

static int b_machine_config(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long vcpus, mib;
	if (!a->opt[0] || !a->opt[1])
		return fail(e, n, "put-machine-config: needs --vcpus N and --mem-mib M");
	if (parse_int(a->opt[0], 1, 255, &vcpus))
		return fail(e, n, "put-machine-config: --vcpus wants 1-255, not '%s'", a->opt[0]);
	if (parse_int(a->opt[1], 1, 1LL << 30, &mib))
		return fail(e, n, "put-machine-config: --mem-mib wants a positive number, not '%s'",
			    a->opt[1]);
	set(r, "PUT", "/machine-config", VIEW_NONE);
	r->body = json_pack("{s:I, s:I, s:b}", "vcpu_count", (json_int_t)vcpus, "mem_size_mib",
			    (json_int_t)mib, "smt", a->opt[2] != NULL);
	return 0;
}

static int b_put_net(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	int err = id_path("put-net", "/network-interfaces", a->pos[0], r, "PUT", e, n);
	if (err)
		return err;
	r->body = json_pack("{s:s, s:s}", "iface_id", a->pos[0], "host_dev_name", a->pos[1]);
	if (a->opt[0])
		json_object_set_new(r->body, "guest_mac", json_string(a->opt[0]));
	return 0;
}

static int b_set_metrics(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)e, (void)n;
	set(r, "PUT", "/metrics", VIEW_NONE);
	r->body = json_pack("{s:s}", "metrics_path", a->pos[0]);
	return 0;
}

static int b_raw(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	static const char *const methods[] = {"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD"};
	const char *method = NULL;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcasecmp(a->pos[0], methods[i]) == 0)
			method = methods[i];
	if (!method)
		return fail(e, n, "raw: unknown method '%s' (GET, PUT, PATCH, POST, DELETE, HEAD)",
			    a->pos[0]);
	const char *path = a->pos[1];
	if (path[0] != '/' || strlen(path) >= VMMCTL_PATH_MAX)
		return fail(e, n, "raw: PATH must start with '/' and be under %d bytes",
			    VMMCTL_PATH_MAX);
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return fail(e, n,
				    "raw: PATH must not contain spaces or control characters");
	set(r, method, path, VIEW_RAW);
	if (a->npos == 3) {
		json_error_t je;
		r->body = json_loads(a->pos[2], JSON_DECODE_ANY, &je);
		if (!r->body)
			return fail(e, n, "raw: JSON body: %s (column %d)", je.text, je.column);
	}
	return 0;
}

#define NOARGS                                                                                     \
	0, 0,                                                                                      \
	{                                                                                          \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}

static const struct command commands[] = {
    {"info", NOARGS, b_info},
    {"pause", NOARGS, b_pause},
    {"resume", NOARGS, b_resume},
    {"stop", 0, 0, {{"timeout-ms", 1}}, b_stop},
    {"ctrl-alt-del", NOARGS, b_cad},
    {"start", NOARGS, b_start},
    {"flush-metrics", NOARGS, b_flush},
    {"metrics", NOARGS, b_metrics},
    {"devices", NOARGS, b_devices},
    {"vcpus", NOARGS, b_vcpus},
    {"config", NOARGS, b_config},
    {"put-drive", 2, 2, {{"ro", 0}, {"root", 0}}, b_put_drive},
    {"patch-drive", 2, 2, {{0}}, b_patch_drive},
    {"put-boot-source", 1, 1, {{"initrd", 1}, {"args", 1}}, b_boot_source},
    {"put-machine-config", 0, 0, {{"vcpus", 1}, {"mem-mib", 1}, {"smt", 0}}, b_machine_config},
    {"put-net", 2, 2, {{"mac", 1}}, b_put_net},
    {"set-metrics", 1, 1, {{0}}, b_set_metrics},
    {"raw", 2, 3, {{0}}, b_raw},
};

/* One "--name" or "--name=value" argument of command `c`; may consume the next argument. */
static int parse_option(const struct command *c, int argc, char **argv, int *i, struct args *a,
			char *e, size_t n)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	for (int k = 0; k < MAX_OPTS && c->opts[k].name; k++) {
		const struct opt_def *o = &c->opts[k];
		if (strlen(o->name) != len || strncmp(o->name, arg, len) != 0)
			continue;
		if (!o->has_arg) {
			if (eq)
				return fail(e, n, "%s: --%s takes no value", c->name, o->name);
			a->opt[k] = "";
		} else if (eq) {
			a->opt[k] = eq + 1;
		} else if (*i + 1 < argc) {
			a->opt[k] = argv[++*i];
		} else {
			return fail(e, n, "%s: --%s needs a value", c->name, o->name);
		}
		return 0;
	}
	return fail(e, n, "%s: unknown option '%s'", c->name, argv[*i]);
}

static int parse_args(const struct command *c, int argc, char **argv, struct args *a, char *e,
		      size_t n)
{
	int only_pos = 0;
	for (int i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = 1;
		} else if (!only_pos && strncmp(argv[i], "--", 2) == 0) {
			int err = parse_option(c, argc, argv, &i, a, e, n);
			if (err)
				return err;
		} else {
			if (a->npos == c->max_pos)
				return fail(e, n, "%s: unexpected argument '%s'", c->name, argv[i]);
			a->pos[a->npos++] = argv[i];
		}
	}
	if (a->npos < c->min_pos)
		return fail(e, n, "%s: missing argument (see vmmctl --help)", c->name);
	return 0;
}

/* JSON strings are UTF-8; jansson refuses anything else (json_string() returns NULL). */
static int utf8_valid(const char *s)
{
	json_t *t = json_string(s);
	json_decref(t);
	return t != NULL;
}

int vmmctl_request_build(int argc, char **argv, struct vmmctl_request *req, char *err,
			 size_t errlen)
{
	memset(req, 0, sizeof(*req));
	if (argc < 1)
		return fail(err, errlen, "no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		for (int k = 1; k < argc; k++)
			if (!utf8_valid(argv[k]))
				return fail(err, errlen, "%s: argument %d is not valid UTF-8",
					    c->name, k);
		struct args a = {0};
		int ret = parse_args(c, argc, argv, &a, err, errlen);
		if (!ret)
			ret = c->build(&a, req, err, errlen);
		if (!ret && !req->body && strcmp(req->method, "GET") != 0 && req->view != VIEW_RAW)
			ret = fail(err, errlen, "%s: out of memory building the body", c->name);
		if (ret)
			vmmctl_request_free(req);
		return ret;
	}
	return fail(err, errlen, "unknown command '%s'", argv[0]);
}

void vmmctl_request_free(struct vmmctl_request *req)
{
	json_decref(req->body);
	req->body = NULL;
}
