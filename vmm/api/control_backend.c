/* The router's backend over the VM (api_router.h's struct api_backend_ops): the host file
 * checks, the VM's lifecycle, metrics and logger, snapshots and migration; the live changes are
 * control_live.c's. See control_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "host/kvm/cpu_host.h"
#include "host/sandbox/broker.h"
#include "loaders/boot.h"
#include "vmm/api/api_logger.h"
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/vm/metrics.h"
#include "vmm/vm/vm_pause.h"

/* The message a check logged (the file and the problem), for the client. */
static int checked(int r, char *err, size_t errlen)
{
	if (r)
		snprintf(err, errlen, "%s", log_last_error()[0] ? log_last_error() : strerror(-r));
	return r;
}

/* PUT /boot-source: the kernel read and its format checked, the initrd opened, by the checks
 * InstanceStart makes again with the VM's RAM (the memory size may still change). */
static int check_boot_source_here(const char *kernel, const char *initrd, char *err, size_t errlen)
{
	struct boot_files f;
	log_clear_last_error();
	int r = checked(boot_files_open(&f, NULL, kernel, initrd), err, errlen);
	if (!r)
		boot_files_close(&f);
	return r;
}

/* PUT /drives: the file opened and locked in the drive's mode, as --disk checks it. */
static int check_drive_here(const char *path, bool ro, char *err, size_t errlen)
{
	log_clear_last_error();
	return checked(device_table_host_file_check(path, ro), err, errlen);
}

static int be_pause(void *ctx)
{
	struct control *c = ctx;
	return ctl_migration_refusal(c, "") ? -EBUSY : vm_pause(&c->vm);
}

static int be_resume(void *ctx)
{
	struct control *c = ctx;
	return ctl_migration_refusal(c, "") ? -EBUSY : vm_resume(&c->vm);
}

static int be_ctrl_alt_del(void *ctx)
{
	return vm_send_ctrl_alt_del(&((struct control *)ctx)->vm);
}

static int be_power_button(void *ctx)
{
	return vm_send_power_button(&((struct control *)ctx)->vm);
}

static int be_stop(void *ctx, unsigned timeout_ms)
{
	struct control *c = ctx;
	return ctl_migration_refusal(c, "") ? -EBUSY : vm_request_shutdown(&c->vm, timeout_ms);
}

/* The sink with its line fields; a sink that cannot be set leaves no fields behind. */
int ctl_set_metrics(const char *path, const char *id, const json_t *properties, char *err,
		    size_t errlen)
{
	int r = metrics_set_line_fields(id, properties);
	if (r) {
		snprintf(err, errlen, "cannot set the metrics fields: %s", strerror(-r));
		return r;
	}
	r = metrics_set_sink(path, 0, err, errlen);
	if (r)
		metrics_set_line_fields(NULL, NULL);
	return r;
}

static int be_flush_metrics(void *ctx)
{
	(void)ctx;
	return metrics_flush();
}

static json_t *be_metrics(void *ctx)
{
	(void)ctx;
	return metrics_snapshot();
}

static void be_count_request(void *ctx, unsigned status)
{
	(void)ctx;
	metrics_count_api_request(status >= 400);
}

/* ---- live migration (vmm/migration/vm_migrate.h, docs/migration.md) ---- */

static int be_migrate_send(void *ctx, const struct api_send_migration *p, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct vm_migration *m;

	if (ctl_refuse_for_migration(c,
				     "a migration is already running (GET /vmm/migration; PUT "
				     "/vmm/migration/cancel)",
				     err, errlen))
		return -EBUSY;
	if (ctl_refuse_for_hotplug(c, err, errlen))
		return -EBUSY;
	struct mig_send_params limits = {.max_downtime_ms = p->max_downtime_ms,
					 .max_rounds = p->max_rounds,
					 .max_bandwidth = p->max_bandwidth};
	int r = vm_migrate_start(&c->vm, p->url, p->local, &limits, &m, err, errlen);
	if (r)
		return r; /* the last migration's progress stays readable */
	if (c->mig)
		vm_migrate_join(c->mig); /* ended (failed or cancelled): its thread is done */
	c->mig = m;
	return 0;
}

static int be_migrate_progress(void *ctx, struct mig_progress *p, char *err, size_t errlen)
{
	struct control *c = ctx;

	if (!c->mig)
		return -ENOENT;
	vm_migrate_progress(c->mig, p, err, errlen);
	return 0;
}

static int be_migrate_cancel(void *ctx)
{
	struct control *c = ctx;

	if (!ctl_migrating(c))
		return -ENOENT;
	vm_migrate_cancel(c->mig);
	return 0;
}

/* ---- the calls the broker runs (host/sandbox/broker.h) ----
 *
 * The API thread is under Landlock from its first request and opens no file itself: every
 * backend call that opens one (a check of a kernel or a disk, the logger, the metrics file, a
 * drive swap, a snapshot) or builds the VM runs on the broker, with the checks it makes
 * anyway. What hands a built VM to the main thread (ctl_hand_over()) stays on the API thread: the
 * main thread asks it to confine itself meanwhile. */

struct call {
	struct control *c;
	const void *a, *b, *d; /* the call's arguments, in its order */
	bool flag;
	int index;
	char *err;
	size_t errlen;
};

static int call_check_boot_source(void *arg)
{
	struct call *k = arg;
	return check_boot_source_here(k->a, k->b, k->err, k->errlen);
}

static int be_check_boot_source(void *ctx, const char *kernel, const char *initrd, char *err,
				size_t errlen)
{
	struct call k = {.c = ctx, .a = kernel, .b = initrd, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_check_boot_source, &k);
}

static int call_check_drive(void *arg)
{
	struct call *k = arg;
	return check_drive_here(k->a, k->flag, k->err, k->errlen);
}

static int be_check_drive(void *ctx, const char *path, bool ro, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = path, .flag = ro, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_check_drive, &k);
}

/* The template against what this host's KVM supports (cpu_host_check_template()). */
static int call_check_cpu_template(void *arg)
{
	struct call *k = arg;
	struct control *c = k->c;
	return cpu_host_check_template(c->cfg->kvm_path, k->a, k->err, k->errlen);
}

static int be_check_cpu_template(void *ctx, const struct cpu_template *t, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = t, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_check_cpu_template, &k);
}

static int call_check_device(void *arg)
{
	struct call *k = arg;
	return ctl_check_device(k->a, k->b, k->err, k->errlen);
}

static int be_check_device(void *ctx, const struct device_desc *d, const json_t *doc, char *err,
			   size_t errlen)
{
	struct call k = {.c = ctx, .a = d, .b = doc, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_check_device, &k);
}

static int call_build(void *arg)
{
	struct call *k = arg;
	return ctl_build_here(k->c, k->a, k->err, k->errlen);
}

static int be_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = m, .err = err, .errlen = errlen};
	int r = sandbox_broker_run(call_build, &k);
	return r ? r : ctl_hand_over(ctx);
}

static int call_load(void *arg)
{
	struct call *k = arg;
	return ctl_load_here(k->c, k->a, k->err, k->errlen);
}

static int be_snapshot_load(void *ctx, const struct api_snapshot_load *p, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = p, .err = err, .errlen = errlen};
	int r = sandbox_broker_run(call_load, &k);
	return r ? r : ctl_hand_over_loaded(ctx, p);
}

static int call_receive(void *arg)
{
	struct call *k = arg;
	return ctl_receive_here_api(k->c, k->a, k->err, k->errlen);
}

static int be_migrate_receive(void *ctx, const char *url, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = url, .err = err, .errlen = errlen};
	int r = sandbox_broker_run(call_receive, &k);
	return r ? r : ctl_hand_over_received(ctx);
}

static int call_snapshot_create(void *arg)
{
	struct call *k = arg;
	return ctl_snapshot_create_here(k->c, k->a, k->b, k->flag, k->err, k->errlen);
}

static int be_snapshot_create(void *ctx, const char *state, const char *mem, bool diff, char *err,
			      size_t errlen)
{
	struct call k = {
	    .c = ctx, .a = state, .b = mem, .flag = diff, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_snapshot_create, &k);
}

static int call_set_metrics(void *arg)
{
	struct call *k = arg;
	return ctl_set_metrics(k->a, k->b, k->d, k->err, k->errlen);
}

static int be_set_metrics(void *ctx, const char *path, const char *id, const json_t *properties,
			  char *err, size_t errlen)
{
	struct call k = {
	    .c = ctx, .a = path, .b = id, .d = properties, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_set_metrics, &k);
}

static int call_set_logger(void *arg)
{
	struct call *k = arg;
	return api_logger_put(k->a, k->err, k->errlen);
}

static int be_set_logger(void *ctx, const json_t *body, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = body, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_set_logger, &k);
}

const struct api_backend_ops ctl_backend = {
    .resize = ctl_resize,
    .hotplug_add = ctl_hotplug_add,
    .hotplug_remove = ctl_hotplug_remove,
    .hotplug_live_set = ctl_hotplug_live_set,
    .migrate_send = be_migrate_send,
    .migrate_progress = be_migrate_progress,
    .migrate_cancel = be_migrate_cancel,
    .migrate_receive = be_migrate_receive,
    .snapshot_create = be_snapshot_create,
    .snapshot_load = be_snapshot_load,
    .start = be_start,
    .check_boot_source = be_check_boot_source,
    .check_drive = be_check_drive,
    .check_cpu_template = be_check_cpu_template,
    .check_device = be_check_device,
    .pause = be_pause,
    .resume = be_resume,
    .ctrl_alt_del = be_ctrl_alt_del,
    .power_button = be_power_button,
    .stop = be_stop,
    .live_set = ctl_live_set,
    .live_get = ctl_live_get,
    .fork = ctl_fork,
    .working_set_stop = ctl_working_set_stop,
    .set_metrics = be_set_metrics,
    .set_logger = be_set_logger,
    .flush_metrics = be_flush_metrics,
    .metrics = be_metrics,
    .count_request = be_count_request,
};
