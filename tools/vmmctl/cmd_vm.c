/* vmmctl: the instance's commands: inspecting (GETs shown as tables and summaries), lifecycle
 * (PATCH /vm, PUT /actions, PUT /vmm/stop), boot source, machine, metrics, and raw requests. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "base/vm_control.h"
#include "tools/vmmctl/commands.h"

static int get_view(const char *path, enum vmmctl_view view, struct vmmctl_request *r)
{
	cmd_set(r, "GET", path, view);
	return 0;
}

int cmd_info(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/", VIEW_INFO, r);
}

int cmd_metrics(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vmm/metrics", VIEW_METRICS, r);
}

int cmd_devices(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vmm/devices", VIEW_DEVICES, r);
}

int cmd_vcpus(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vmm/vcpus", VIEW_VCPUS, r);
}

int cmd_config(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return get_view("/vm/config", VIEW_CONFIG, r);
}

static int vm_state(struct vmmctl_request *r, const char *state)
{
	cmd_set(r, "PATCH", "/vm", VIEW_NONE);
	r->body = json_pack("{s:s}", "state", state);
	return 0;
}

int cmd_pause(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return vm_state(r, "Paused");
}

int cmd_resume(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return vm_state(r, "Resumed");
}

static int action(struct vmmctl_request *r, const char *type)
{
	cmd_set(r, "PUT", "/actions", VIEW_NONE);
	r->body = json_pack("{s:s}", "action_type", type);
	return 0;
}

int cmd_start(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "InstanceStart");
}

int cmd_ctrl_alt_del(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "SendCtrlAltDel");
}

int cmd_power_button(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "PowerButton");
}

int cmd_flush_metrics(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)a, (void)e, (void)n;
	return action(r, "FlushMetrics");
}

int cmd_stop(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	long long ms = VMMCTL_DEFAULT_STOP_MS;
	const char *t = arg_opt(a, "timeout-ms");
	if (t && cmd_parse_int(t, 0, VM_STOP_TIMEOUT_MAX_MS, &ms))
		return cmd_fail(e, n,
				"stop: --timeout-ms wants milliseconds 0-%u (the API's limit), "
				"not '%s'",
				VM_STOP_TIMEOUT_MAX_MS, t);
	cmd_set(r, "PUT", "/vmm/stop", VIEW_NONE);
	r->body = json_pack("{s:I}", "timeout_ms", (json_int_t)ms);
	r->stop_timeout_ms = ms;
	return 0;
}

/* KERNEL, or --firmware FILE (ours: the API's firmware_path, an unmodified PC firmware that
 * boots the disks); the API takes exactly one of them, and initrd and args only with a kernel. */
int cmd_put_boot_source(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *args = arg_opt(a, "args"), *initrd = arg_opt(a, "initrd");
	const char *fw = arg_opt(a, "firmware"), *fw_log = arg_opt(a, "firmware-log");
	const char *kernel = a->npos > 0 ? a->pos[0] : NULL;
	if (!kernel == !fw)
		return cmd_fail(e, n,
				"put-boot-source: give a KERNEL or --firmware FILE (one of them)");
	if (fw && (args || initrd))
		return cmd_fail(
		    e, n, "put-boot-source: --initrd and --args go with a KERNEL, not --firmware");
	if (fw_log && !fw)
		return cmd_fail(e, n, "put-boot-source: --firmware-log needs --firmware");
	cmd_set(r, "PUT", "/boot-source", VIEW_NONE);
	if (fw) {
		r->body = json_pack("{s:s}", "firmware_path", fw);
		if (fw_log)
			json_object_set_new(r->body, "firmware_log_path", json_string(fw_log));
		return 0;
	}
	r->body = json_pack("{s:s}", "kernel_image_path", kernel);
	if (args)
		json_object_set_new(r->body, "boot_args", json_string(args));
	if (initrd)
		json_object_set_new(r->body, "initrd_path", json_string(initrd));
	return 0;
}

int cmd_put_machine_config(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *v = arg_opt(a, "vcpus"), *m = arg_opt(a, "mem-mib");
	long long vcpus, mib;
	if (!v || !m)
		return cmd_fail(e, n, "put-machine-config: needs --vcpus N and --mem-mib M");
	if (cmd_parse_int(v, 1, 255, &vcpus))
		return cmd_fail(e, n, "put-machine-config: --vcpus wants 1-255, not '%s'", v);
	if (cmd_parse_int(m, 1, 1LL << 30, &mib))
		return cmd_fail(
		    e, n, "put-machine-config: --mem-mib wants a positive number, not '%s'", m);
	cmd_set(r, "PUT", "/machine-config", VIEW_NONE);
	r->body = json_pack("{s:I, s:I, s:b}", "vcpu_count", (json_int_t)vcpus, "mem_size_mib",
			    (json_int_t)mib, "smt", arg_opt(a, "smt") != NULL);
	if (arg_opt(a, "track-dirty-pages") && r->body) /* for Diff snapshots */
		json_object_set_new(r->body, "track_dirty_pages", json_true());
	return 0;
}

int cmd_set_metrics(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	(void)e, (void)n;
	cmd_set(r, "PUT", "/metrics", VIEW_NONE);
	r->body = json_pack("{s:s}", "metrics_path", a->pos[0]);
	return 0;
}

/* The method named (any case), in its canonical spelling, or NULL. */
static const char *raw_method(const char *name)
{
	static const char *const methods[] = {"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD"};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcasecmp(name, methods[i]) == 0)
			return methods[i];
	return NULL;
}

int cmd_raw(const struct args *a, struct vmmctl_request *r, char *e, size_t n)
{
	const char *method = raw_method(a->pos[0]);
	if (!method)
		return cmd_fail(e, n,
				"raw: unknown method '%s' (GET, PUT, PATCH, POST, DELETE, HEAD)",
				a->pos[0]);
	const char *path = a->pos[1];
	if (path[0] != '/' || strlen(path) >= VMMCTL_PATH_MAX)
		return cmd_fail(e, n, "raw: PATH must start with '/' and be under %d bytes",
				VMMCTL_PATH_MAX);
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return cmd_fail(e, n,
					"raw: PATH must not contain spaces or control characters");
	cmd_set(r, method, path, VIEW_RAW);
	if (a->npos == 3) {
		json_error_t je;
		r->body = json_loads(a->pos[2], JSON_DECODE_ANY, &je);
		if (!r->body)
			return cmd_fail(e, n, "raw: JSON body: %s (column %d)", je.text, je.column);
	}
	return 0;
}
