/* The VMM with a control plane: the API socket, the config file, InstanceStart. See control.h. */
#include "vmm/api/control.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/host_path.h"
#include "base/log.h"
#include "host/sandbox/broker.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/sandbox.h"
#include "loaders/boot.h"
#include "virtio/balloon/balloon.h"
#include "virtio/blk/blk.h"
#include "virtio/net/net.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/api_http.h"
#include "vmm/api/api_json.h"
#include "vmm/api/api_logger.h"
#include "vmm/api/api_router.h"
#include "vmm/api/live_config.h"
#include "vmm/descriptors/api_rate_limit.h"
#include "vmm/descriptors/dev_balloon.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_memhp.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_vhost_user.h"
#include "vmm/migration/vm_migrate.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/snapshot/vm_uffd.h"
#include "vmm/vm/metrics.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pause.h"

#define CONFIG_FILE_MAX	  (1 << 20)
#define DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1"

/* Where the VM comes from, decided from the command line and the config file. */
enum vm_source { FROM_API, FROM_RESTORE, FROM_MIGRATION, FROM_KERNEL };

struct control {
	struct vm_config *cfg;
	struct api api;
	struct api_http *http;
	struct vm vm;
	bool vm_created;
	int start_fd; /* eventfd: the API thread created the VM (InstanceStart) */
	/* the main thread has started it: the API's start request answers only then */
	pthread_mutex_t started_lock;
	pthread_cond_t started_cond;
	bool started;
	/* While the API thread waits in hand_over(), the main thread asks it to confine itself
	 * through these (its event loop is not running then). */
	bool api_waiting;
	bool confine_req;
	int confine_result; /* 1: pending */
	char *append;
	int disk_index[API_MAX_DRIVES]; /* model drive i is disk disk_index[i]; -1: none */
	int nic_base; /* the command line's NICs come first: see nic_cfg_index() */
	/* Live migration: the last one sent from here (until the next or the end), and the
	 * incoming one's cancel (set when the VMM ends while it waits) and result. */
	struct vm_migration *mig;
	atomic_bool mig_cancel;
	int recv_status;
	/* --migrate-from: the receiving thread built the VM during the pre-copy and the main thread
	 * runs it (paused until the migration commits); the thread is joined after vm_run(). */
	atomic_bool recv_early;
	pthread_t recv_thread;
	bool recv_joinable;
	/* Set before the API thread starts: only FROM_API lets a request build the VM (the main
	 * thread builds the others, from *cfg, which a load or a start would replace). */
	enum vm_source from;
	/* The config file's metrics_path set the sink: a start that fails before the VM runs
	 * removes the file it created (metrics_discard()). */
	bool config_metrics;
	bool ran; /* vm_run() was reached */
	/* restore_vm() failed with a message already logged (the VM's build): --restore does not
	 * say it twice */
	bool restore_logged;
};

/* A request may build the VM only where the command line left that to the API. */
static int api_may_build(const struct control *c, char *err, size_t errlen)
{
	static const char *const why[] = {
	    [FROM_RESTORE] = "this VMM restores its VM from --restore",
	    [FROM_MIGRATION] = "this VMM waits for a migrating VM (--migrate-from)",
	    [FROM_KERNEL] = "this VMM builds its VM from its command line or config file",
	};
	if (c->from == FROM_API)
		return 0;
	snprintf(err, errlen, "%s", why[c->from]);
	return -EBUSY;
}

/* Hands a VM built by the API thread to the main thread and waits until it runs. */
static int hand_over(struct control *c);

/* A VM described by its command line or a snapshot: model drive i is disk i. */
static void identity_disk_index(struct control *c)
{
	for (int i = 0; i < API_MAX_DRIVES; i++)
		c->disk_index[i] = i < dev_disk_count(c->cfg) ? i : -1;
	c->nic_base = 0;
}

/* ---- the configuration from the model ---- */

/* The model's drive `i` is a vhost-user disk (its back-end serves it: no in-process device). */
static bool drive_is_vu(const struct api_model *m, int i)
{
	return api_json_str(api_model_drive(m, i), "socket", NULL) != NULL;
}

/* The model's boot arguments, with the root entry of its root device when that device's
 * descriptor gives one (device_api.root_arg: a drive's root=; pmem's option names its own). */
static char *kernel_cmdline(const struct api_model *m, const struct vm_config *cfg)
{
	const char *args = m->boot_args ? m->boot_args : DEFAULT_BOOT_ARGS;
	const struct device_desc *d = NULL;
	char root[DEVICE_ROOT_ARG_MAX] = "", *s;

	if (api_devices_root(m, NULL, NULL, &d) && d->api->root_arg &&
	    d->api->root_arg(api_devices_doc(m, d->api->section), cfg, root, sizeof(root)))
		return NULL;
	if (!root[0])
		return strdup(args);
	return asprintf(&s, "%s %s", args, root) < 0 ? NULL : s;
}

/* Model drive i's disk (dev_disk.h: one of the disks added past `first`, found by the id= its
 * option carries); -1 for a vhost-user disk, which has no in-process device to patch. */
static void disk_indexes(const struct vm_config *cfg, const struct api_model *m, int first,
			 int *disk_index)
{
	for (int i = 0; i < API_MAX_DRIVES; i++) {
		const char *id = api_json_str(api_model_drive(m, i), "drive_id", NULL);
		int k = id && !drive_is_vu(m, i) ? dev_disk_find_id(cfg, id) : -1;
		disk_index[i] = k >= first ? k : -1;
	}
}

/* What the configuration had before the model's devices were added, to go back to. */
struct devices_mark {
	int ndisks, nnics, nrec, vu_blk, vu_net;
};

static struct devices_mark devices_mark(const struct vm_config *cfg)
{
	return (struct devices_mark){dev_disk_count(cfg), dev_net_count(cfg), cfg->nrecorded,
				     dev_vu_count(cfg, &device_vu_blk),
				     dev_vu_count(cfg, &device_vu_net)};
}

/* Takes back the vhost-user disks and NICs added past the mark, and the records. (The disks
 * and NICs come back with their configuration blocks: device_cfg_restore().) */
static void undo_devices(struct vm_config *cfg, const struct devices_mark *mark)
{
	dev_vu_truncate(cfg, &device_vu_blk, mark->vu_blk);
	dev_vu_truncate(cfg, &device_vu_net, mark->vu_net);
	cli_unrecord_to(cfg, mark->nrec);
}

/* What the model sets without a parser, recorded for a snapshot's configuration. */
static int record_boot(struct vm_config *cfg, const struct api_model *m, const char *append)
{
	char mem[32], cpus[16];
	snprintf(mem, sizeof(mem), "%uM", m->mem_mib);
	snprintf(cpus, sizeof(cpus), "%u", m->vcpus);
	int r = cli_record(cfg, "kernel", m->kernel);
	if (!r && m->initrd)
		r = cli_record(cfg, "initrd", m->initrd);
	if (!r)
		r = cli_record(cfg, "append", append);
	if (!r)
		r = cli_record(cfg, "mem", mem);
	if (!r)
		r = cli_record(cfg, "cpus", cpus);
	if (!r && m->track_dirty)
		r = cli_record(cfg, "track-dirty-pages", NULL);
	if (!r && m->hugepages)
		r = cli_record(cfg, "hugepages", NULL);
	if (!r && m->smt)
		r = cli_record(cfg, "smt", NULL);
	return r;
}

int control_build_config(struct vm_config *cfg, const struct api_model *m, char **append,
			 int *disk_index, char *err, size_t errlen)
{
	struct devices_mark mark = devices_mark(cfg);
	struct device_cfg_saved saved;
	int r = 0;

	*append = kernel_cmdline(m, cfg);
	if (!*append || device_cfg_save(cfg, &saved)) {
		free(*append);
		*append = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = record_boot(cfg, m, *append);
	if (r)
		snprintf(err, errlen, "cannot record the configuration: %s", strerror(-r));
	if (!r)
		r = api_devices_build(cfg, m, err, errlen);
	if (!r)
		disk_indexes(cfg, m, mark.ndisks, disk_index);
	if (r) {
		undo_devices(cfg, &mark);
		device_cfg_restore(cfg, &saved);
		free(*append);
		*append = NULL;
		return r;
	}
	device_cfg_saved_free(&saved);
	cfg->kernel = m->kernel;
	cfg->initrd = m->initrd;
	cfg->append = *append;
	cfg->ncpus = m->vcpus;
	cfg->mem_size = (uint64_t)m->mem_mib << 20;
	cfg->track_dirty_pages |= m->track_dirty;
	cfg->hugepages |= m->hugepages;
	cfg->smt |= m->smt;
	return 0;
}

/* ---- the backend the router drives ---- */

/* Model NIC i's place among the NICs (dev_net.h): after the command line's (nic_base) and the
 * model's taps before it; -1 for a vhost-user NIC, which has none (dev_vhost_user.c keeps it). */
static int nic_cfg_index(const struct control *c, const struct api_model *m, int i)
{
	int k = c->nic_base;
	if (api_json_str(api_model_nic(m, i), "socket", NULL))
		return -1;
	for (int j = 0; j < i; j++)
		k += !api_json_str(api_model_nic(m, j), "socket", NULL);
	return k;
}

/* The NICs PUT /mmds/config (or the config file's "mmds-config") named answer MMDS
 * (virtio/net/mmds_filter.h), as the model's configuration says. */
static void attach_mmds(struct control *c, const struct api_model *m)
{
	if (!m->mmds_set)
		return;
	mmds_set_config(&c->api.mmds, &m->mmds);
	for (int i = 0; i < api_model_count(m, &dev_net_api); i++) {
		/* NULL: vhost-user, which mmds-config cannot name */
		struct virtio_net_opts *nic = dev_net_opts_edit(c->cfg, nic_cfg_index(c, m, i));
		if (!nic || !mmds_config_has_iface(
				&m->mmds, api_json_str(api_model_nic(m, i), "iface_id", "")))
			continue;
		nic->mmds = &c->api.mmds;
		nic->mmds_ipv4 = m->mmds.ipv4;
	}
}

/* InstanceStart, on the broker: the VM built from the model (handed over by be_start()). */
static int build_here(struct control *c, const struct api_model *m, char *err, size_t errlen)
{
	if (api_may_build(c, err, errlen)) /* before c->cfg is read: that thread replaces it */
		return -EBUSY;
	struct devices_mark mark = devices_mark(c->cfg);
	struct device_cfg_saved saved;
	c->nic_base = mark.nnics;
	if (device_cfg_save(c->cfg, &saved)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int r = control_build_config(c->cfg, m, &c->append, c->disk_index, err, errlen);
	if (r) {
		device_cfg_saved_free(&saved);
		return r;
	}
	attach_mmds(c, m);
	log_clear_last_error();
	int status = vm_create(&c->vm, c->cfg);
	if (status) {
		snprintf(err, errlen, "cannot start the microVM: %s",
			 log_last_error()[0] ? log_last_error() : "see the VMM's log");
		vm_destroy(&c->vm);
		undo_devices(c->cfg, &mark);
		device_cfg_restore(c->cfg, &saved);
		free(c->append);
		c->append = NULL;
		return status == VMM_EXIT_USAGE ? -EINVAL : -EIO;
	}
	device_cfg_saved_free(&saved);
	c->vm_created = true;
	return 0;
}

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
	struct virtio_blk_opts o = {.path = (char *)path, .ro = ro};
	log_clear_last_error();
	return checked(dev_disk_check_file(&o), err, errlen);
}

/* vm_run()'s on_started hook, on the main thread. */
static void mark_started(void *opaque)
{
	struct control *c = opaque;
	pthread_mutex_lock(&c->started_lock);
	c->started = true;
	pthread_cond_broadcast(&c->started_cond);
	pthread_mutex_unlock(&c->started_lock);
}

/* An API start request hands the VM to the main thread and answers once it runs (at most 30 s),
 * so the next request (a pause, a resume) finds the vCPUs started. */
static int hand_over(struct control *c)
{
	struct timespec deadline;
	uint64_t one = 1;

	c->vm.on_started = mark_started;
	c->vm.on_started_opaque = c;
	pthread_mutex_lock(&c->started_lock);
	c->api_waiting = true;
	pthread_mutex_unlock(&c->started_lock);
	if (write(c->start_fd, &one, sizeof(one)) < 0) {
		c->api_waiting = false;
		return -errno;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&c->started_lock);
	while (!c->started) {
		if (c->confine_req && c->confine_result == 1) {
			c->confine_result = api_http_confine_here();
			pthread_cond_broadcast(&c->started_cond);
		}
		if (pthread_cond_timedwait(&c->started_cond, &c->started_lock, &deadline))
			break;
	}
	c->api_waiting = false;
	pthread_mutex_unlock(&c->started_lock);
	return 0;
}

/* The main thread, before it runs the VM: the API thread confines itself, in its event loop or,
 * when it waits in hand_over(), there. Returns its result. */
static int confine_api(struct control *c)
{
	struct timespec deadline;

	pthread_mutex_lock(&c->started_lock);
	if (!c->api_waiting) {
		pthread_mutex_unlock(&c->started_lock);
		return api_http_confine(c->http);
	}
	c->confine_req = true;
	c->confine_result = 1;
	pthread_cond_broadcast(&c->started_cond);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (c->confine_result == 1)
		if (pthread_cond_timedwait(&c->started_cond, &c->started_lock, &deadline))
			break;
	int r = c->confine_result == 1 ? -ETIMEDOUT : c->confine_result;
	pthread_mutex_unlock(&c->started_lock);
	return r;
}

/* The phase of the last migration from here, or -1 when there was none. */
static int mig_phase(struct control *c)
{
	struct mig_progress p;

	if (!c->mig)
		return -1;
	vm_migrate_progress(c->mig, &p, NULL, 0);
	return (int)p.phase;
}

/* True while a migration from here runs: it pauses and resumes the VM itself, and a pause,
 * resume, snapshot or stop in between would fight it (cancel it first). */
static bool migrating(struct control *c)
{
	int phase = mig_phase(c);
	return phase == MIG_PHASE_IDLE || phase == MIG_PHASE_PRECOPY || phase == MIG_PHASE_STOPPED;
}

/* Why a request that would touch the VM is refused because of its migration: `running` while
 * one from here runs, or, once one completed, that the guest runs on the destination and this
 * VMM ends within moments (vm_migrate.c): the paused copy here is stale, and resuming,
 * snapshotting or moving it again would run the guest twice (its disks are the destination's
 * now). NULL when nothing stands in the way; `running` must not be NULL ("" where only
 * the refusal counts). */
static const char *migration_refusal(struct control *c, const char *running)
{
	if (mig_phase(c) == MIG_PHASE_COMPLETED)
		return "this VM has migrated: it runs on the destination now, and this VMM is "
		       "ending";
	return migrating(c) ? running : NULL;
}

/* migration_refusal()'s message into `err` and -EBUSY, or 0. */
static int refuse_for_migration(struct control *c, const char *running, char *err, size_t errlen)
{
	const char *why = migration_refusal(c, running);
	if (!why)
		return 0;
	snprintf(err, errlen, "%s", why);
	return -EBUSY;
}

static int be_pause(void *ctx)
{
	struct control *c = ctx;
	return migration_refusal(c, "") ? -EBUSY : vm_pause(&c->vm);
}

static int be_resume(void *ctx)
{
	struct control *c = ctx;
	return migration_refusal(c, "") ? -EBUSY : vm_resume(&c->vm);
}

static int be_ctrl_alt_del(void *ctx)
{
	return vm_send_ctrl_alt_del(&((struct control *)ctx)->vm);
}

static int be_stop(void *ctx, unsigned timeout_ms)
{
	struct control *c = ctx;
	return migration_refusal(c, "") ? -EBUSY : vm_request_shutdown(&c->vm, timeout_ms);
}

/* A change made to the running VM that its configuration (what a snapshot saves) could not
 * follow: the VM goes on, a snapshot would bring back the old `what`. */
static void keep_config(int r, const char *what)
{
	if (r)
		log_warn("api: %s changed, but not in the configuration a snapshot saves: %s", what,
			 strerror(-r));
}

/* A run-time change the configuration records (live_config.h) is refused while a migration
 * from here runs: its destination has built the VM from the configuration it began with, and
 * refuses a state whose configuration differs (vm_migrate_recv.c). */
static int refused_while_migrating(struct control *c, char *err, size_t errlen)
{
	return refuse_for_migration(c,
				    "a live migration of this VM is running: change its "
				    "configuration after it (or cancel it)",
				    err, errlen);
}

static int patch_drive_here(struct control *c, int index, const char *path, char *err,
			    size_t errlen)
{
	int disk = c->disk_index[index];
	if (refused_while_migrating(c, err, errlen))
		return -EBUSY;
	struct virtio_dev *dev = dev_disk_device(&c->vm, disk);
	if (!dev) {
		snprintf(err, errlen, "the drive has no device");
		return -ENODEV;
	}
	unsigned need =
	    dev_disk_opts(c->cfg, disk)->ro ? LANDLOCK_READ : LANDLOCK_READ | LANDLOCK_WRITE;
	if (!sandbox_landlock_allows(path, need)) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may open (Landlock: its drives' directories "
			 "and --landlock-rules; -v -v lists them)",
			 path);
		return -EACCES;
	}
	log_clear_last_error();
	int r = virtio_blk_replace_disk(dev, path);
	if (r)
		snprintf(err, errlen, "cannot use %s: %s", path,
			 log_last_error()[0] ? log_last_error() : strerror(-r));
	else
		keep_config(live_config_disk_path(c->cfg, disk, path), "the drive's file");
	return r;
}

static int be_patch_drive_rate_limiter(void *ctx, int index, const struct rate_limiter_patch *p,
				       struct rate_limiter_cfg *now, char *err, size_t errlen)
{
	struct control *c = ctx;
	int disk = c->disk_index[index];
	if (refused_while_migrating(c, err, errlen))
		return -EBUSY;
	struct virtio_dev *dev = dev_disk_device(&c->vm, disk);
	if (!dev) {
		snprintf(err, errlen, "the drive has no device");
		return -ENODEV;
	}
	int r = virtio_blk_patch_rate_limiter(dev, p, now);
	if (!r)
		keep_config(live_config_disk_limits(c->cfg, disk, now), "the drive's rate limits");
	return r;
}

static int be_patch_nic_rate_limiters(void *ctx, int index, const struct rate_limiter_patch *rx,
				      const struct rate_limiter_patch *tx,
				      struct rate_limiter_cfg *rx_now,
				      struct rate_limiter_cfg *tx_now, char *err, size_t errlen)
{
	struct control *c = ctx;
	const struct api_model *m = &c->api.model;
	if (refused_while_migrating(c, err, errlen))
		return -EBUSY;
	int nic = index >= 0 && index < api_model_count(m, &dev_net_api)
		      ? nic_cfg_index(c, m, index)
		      : -1;
	struct virtio_dev *dev = dev_net_device(&c->vm, nic);
	if (!dev) {
		snprintf(err, errlen, "the network interface has no device");
		return -ENODEV;
	}
	int r = virtio_net_patch_rate_limiters(dev, rx, tx, rx_now, tx_now);
	if (!r)
		keep_config(live_config_nic_limits(c->cfg, nic, rx_now, tx_now),
			    "the network interface's rate limits");
	return r;
}

/* The sink with its line fields; a sink that cannot be set leaves no fields behind. */
static int set_metrics(const char *path, const char *id, const json_t *properties, char *err,
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

/* Sets the flag option `name` (no argument; its field `*flag`) of a snapshot's replayed
 * configuration as `want` says, its record included, so that a snapshot of the restored VM
 * says what the VM does. */
static int set_recorded_flag(struct vm_config *cfg, const char *name, bool *flag,
			     enum api_load_setting want, char *err, size_t errlen)
{
	int n = 0;

	if (want == API_LOAD_AS_SAVED || *flag == (want == API_LOAD_ON))
		return 0;
	if (want == API_LOAD_ON)
		return cli_apply(cfg, name, NULL, err, errlen);
	*flag = false;
	for (int i = 0; i < cfg->nrecorded; i++) {
		struct cli_record *r = &cfg->recorded[i];
		if (strcmp(r->name, name)) {
			cfg->recorded[n++] = *r;
			continue;
		}
		free(r->name);
		free(r->arg);
	}
	cfg->nrecorded = n;
	return 0;
}

int control_apply_load_settings(struct vm_config *cfg, const struct api_snapshot_load *p, char *err,
				size_t errlen)
{
	int r = set_recorded_flag(cfg, "track-dirty-pages", &cfg->track_dirty_pages, p->track_dirty,
				  err, errlen);
	return r ? r : set_recorded_flag(cfg, "hugepages", &cfg->hugepages, p->thp, err, errlen);
}

/* Builds the VM of a snapshot into c->vm, in this thread. The command line's own device options
 * give way to the snapshot's (it brings its devices); p->nics override its NICs (snapshot_open())
 * and p's settings change the snapshot's (control_apply_load_settings()). On failure the
 * half-built VM is destroyed and the command line's configuration is back, so the process can
 * load another snapshot or take a configuration as if nothing happened. */
/* An empty configuration with how this process runs, from its own command line: what a
 * snapshot's or a migration's configuration is replayed into. */
static void process_config(const struct control *c, struct vm_config *fresh)
{
	cli_config_init(fresh);
	fresh->api_sock = c->cfg->api_sock;
	fresh->kvm_path = c->cfg->kvm_path;
	fresh->verbosity = c->cfg->verbosity;
	fresh->restore = c->cfg->restore;
	fresh->migrate_from = c->cfg->migrate_from;
	fresh->seccomp = c->cfg->seccomp;
	fresh->switch_user = c->cfg->switch_user;
	fresh->uid = c->cfg->uid;
	fresh->gid = c->cfg->gid;
	fresh->mmds = c->cfg->mmds;
	fresh->landlock_off = c->cfg->landlock_off;
	fresh->landlock_rules = c->cfg->landlock_rules; /* what a restore may open besides */
}

static int restore_vm(struct control *c, const struct api_snapshot_load *p, char *err,
		      size_t errlen)
{
	struct snapshot_load l;
	struct vm_config fresh, cmdline; /* replayed into / the command line's, until it works */

	process_config(c, &fresh);
	const struct snapshot_overrides ov = {p->nics, p->nnics, p->paths, p->npaths};
	int r = snapshot_open(&l, p->state_path, p->uffd ? NULL : p->mem_path, &fresh, &ov, err,
			      errlen);
	if (!r)
		r = control_apply_load_settings(&fresh, p, err, errlen);
	if (r) {
		cli_free(&fresh);
		snapshot_close(&l);
		return r;
	}
	cmdline = *c->cfg;
	*c->cfg = fresh;
	log_clear_last_error();
	int status = p->uffd ? vm_create_restored_uffd(&c->vm, c->cfg, p->mem_path)
			     : vm_create_restored(&c->vm, c->cfg, l.mem_fd);
	c->vm_created = true;
	if (status) { /* logged: its line is the API's answer too */
		snprintf(err, errlen, "%s", log_last_error());
		r = status == VMM_EXIT_USAGE ? -EINVAL : -EIO;
		c->restore_logged = true;
	}
	if (!r)
		r = snapshot_restore(&c->vm, &l, err, errlen);
	if (!r)
		r = vm_uffd_restored(&c->vm, err, errlen); /* the handler failed meanwhile? */
	snapshot_close(&l);
	if (r) {
		vm_destroy(&c->vm);
		c->vm_created = false;
		cli_free(c->cfg);
		*c->cfg = cmdline;
	} else {
		cli_free(&cmdline);
	}
	return r;
}

static int snapshot_create_here(struct control *c, const char *state, const char *mem, bool diff,
				char *err, size_t errlen)
{
	if (refuse_for_migration(c, "a migration is running (PUT /vmm/migration/cancel first)", err,
				 errlen))
		return -EBUSY;
	/* files made and renamed there: the directories must be in --landlock-rules as rw */
	const char *outside =
	    !sandbox_landlock_allows(state, LANDLOCK_WRITE | LANDLOCK_CHANGE) ? state
	    : !sandbox_landlock_allows(mem, LANDLOCK_WRITE | LANDLOCK_CHANGE) ? mem
									      : NULL;
	if (outside) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may write (Landlock: start it with "
			 "--landlock-rules DIR:rw for the snapshot's directory)",
			 outside);
		return -EACCES;
	}
	return vm_snapshot_create(&c->vm, state, mem, diff, err, errlen);
}

/* PUT /snapshot/load, on the broker: the VM restored (handed over by be_snapshot_load()). */
static int load_here(struct control *c, const struct api_snapshot_load *p, char *err, size_t errlen)
{
	int r = api_may_build(c, err, errlen);
	return r ? r : restore_vm(c, p, err, errlen);
}

/* The snapshot's VM handed to the main thread (the broker restored it). */
static int hand_over_loaded(struct control *c, const struct api_snapshot_load *p)
{
	/* The router's lock is held (we are its backend): its model is ours to replace. */
	api_model_free(&c->api.model);
	api_model_from_config(&c->api.model, c->cfg);
	c->api.model.mmds_set = mmds_get_config(&c->api.mmds, &c->api.model.mmds);
	identity_disk_index(c);
	c->vm.start_paused = !p->resume;
	return hand_over(c);
}

/* ---- memory hotplug (virtio/mem/mem.h) ---- */

static int be_memhp_info(void *ctx, struct virtio_mem_info *info)
{
	struct control *c = ctx;
	struct virtio_dev *dev = c->vm_created ? dev_memhp_find(&c->vm) : NULL;

	if (!dev)
		return -ENODEV;
	virtio_mem_get_info(dev, info);
	return 0;
}

static int be_memhp_set_requested(void *ctx, uint64_t mib, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct virtio_dev *dev = c->vm_created ? dev_memhp_find(&c->vm) : NULL;

	if (!dev)
		return -ENODEV;
	if (virtio_mem_set_requested(dev, mib << 20)) {
		snprintf(err, errlen, "requested_size_mib %llu does not fit the region",
			 (unsigned long long)mib);
		return -EINVAL;
	}
	return 0;
}

/* ---- the balloon (virtio/balloon/balloon.h) ---- */

static int be_balloon_info(void *ctx, struct virtio_balloon_info *info)
{
	struct control *c = ctx;
	struct virtio_dev *dev = c->vm_created ? dev_balloon_find(&c->vm) : NULL;

	if (!dev)
		return -ENODEV;
	virtio_balloon_get_info(dev, info);
	return 0;
}

static int be_balloon_set_target(void *ctx, uint64_t mib, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct virtio_dev *dev = c->vm_created ? dev_balloon_find(&c->vm) : NULL;

	if (!dev)
		return -ENODEV;
	if (refused_while_migrating(c, err, errlen))
		return -EBUSY;
	if (virtio_balloon_set_target(dev, mib)) {
		snprintf(err, errlen, "amount_mib %llu is more than the guest's memory",
			 (unsigned long long)mib);
		return -EINVAL;
	}
	keep_config(live_config_balloon_target(c->cfg, mib), "the balloon's target");
	return 0;
}

static int be_balloon_set_stats(void *ctx, uint32_t seconds, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct virtio_dev *dev = c->vm_created ? dev_balloon_find(&c->vm) : NULL;

	if (!dev)
		return -ENODEV;
	if (refused_while_migrating(c, err, errlen))
		return -EBUSY;
	if (virtio_balloon_set_stats_interval(dev, seconds)) {
		snprintf(err, errlen,
			 "statistics were not enabled at start "
			 "(stats_polling_interval_s 0)");
		return -EINVAL;
	}
	keep_config(live_config_balloon_stats(c->cfg, seconds), "the statistics interval");
	return 0;
}

/* ---- live migration (vmm/migration/vm_migrate.h, docs/migration.md) ---- */

/* How long PUT /vmm/receive-migration waits for its source (the request answers after). */
#define RECEIVE_TIMEOUT_MS (10 * 60 * 1000)

static int be_migrate_send(void *ctx, const struct api_send_migration *p, char *err, size_t errlen)
{
	struct control *c = ctx;
	struct vm_migration *m;

	if (refuse_for_migration(c,
				 "a migration is already running (GET /vmm/migration; PUT "
				 "/vmm/migration/cancel)",
				 err, errlen))
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

	if (!migrating(c))
		return -ENOENT;
	vm_migrate_cancel(c->mig);
	return 0;
}

/* Receives a migrating VM into c->vm on this thread. The configuration is replayed from the
 * source's into c->cfg (the VM points at it); on failure the command line's is back and no VM
 * is left, so the VMM can take a configuration, a snapshot or another migration; unless `early`
 * had the main thread run the VM already (it stops it and ends the VMM). */
static int receive_vm(struct control *c, const char *url, int timeout_ms,
		      const struct vm_migrate_early_start *early)
{
	struct vm_config fresh, cmdline;

	process_config(c, &fresh);
	cmdline = *c->cfg;
	*c->cfg = fresh;
	int status = vm_migrate_receive(&c->vm, c->cfg, url, timeout_ms, &c->mig_cancel, early);
	if (status && atomic_load(&c->recv_early)) {
		cli_free(&cmdline); /* the stopped VM still points at c->cfg */
		return status;
	}
	if (status) {
		cli_free(c->cfg);
		*c->cfg = cmdline;
		return status;
	}
	cli_free(&cmdline);
	c->vm_created = true;
	identity_disk_index(c);
	return 0;
}

/* PUT /vmm/receive-migration, on the broker: the VM received (handed over by
 * be_migrate_receive()). */
static int receive_here_api(struct control *c, const char *url, char *err, size_t errlen)
{
	if (api_may_build(c, err, errlen))
		return -EBUSY;
	log_clear_last_error();
	int status = receive_vm(c, url, RECEIVE_TIMEOUT_MS, NULL);
	if (status) {
		snprintf(err, errlen, "%s",
			 log_last_error()[0] ? log_last_error() : "see the VMM's log");
		return status == VMM_EXIT_USAGE ? -EINVAL : -EIO;
	}
	return 0;
}

/* The received VM handed to the main thread. */
static int hand_over_received(struct control *c)
{
	/* The router's lock is held (we are its backend): its model is ours to replace. */
	api_model_free(&c->api.model);
	api_model_from_config(&c->api.model, c->cfg);
	c->api.model.mmds_set = mmds_get_config(&c->api.mmds, &c->api.model.mmds);
	return hand_over(c);
}

/* ---- the calls the broker runs (host/sandbox/broker.h) ----
 *
 * The API thread is under Landlock from its first request and opens no file itself: every
 * backend call that opens one (a check of a kernel or a disk, the logger, the metrics file, a
 * drive swap, a snapshot) or builds the VM runs on the broker, with the checks it makes
 * anyway. What hands a built VM to the main thread (hand_over()) stays on the API thread: the
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

static int call_build(void *arg)
{
	struct call *k = arg;
	return build_here(k->c, k->a, k->err, k->errlen);
}

static int be_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = m, .err = err, .errlen = errlen};
	int r = sandbox_broker_run(call_build, &k);
	return r ? r : hand_over(ctx);
}

static int call_load(void *arg)
{
	struct call *k = arg;
	return load_here(k->c, k->a, k->err, k->errlen);
}

static int be_snapshot_load(void *ctx, const struct api_snapshot_load *p, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = p, .err = err, .errlen = errlen};
	int r = sandbox_broker_run(call_load, &k);
	return r ? r : hand_over_loaded(ctx, p);
}

static int call_receive(void *arg)
{
	struct call *k = arg;
	return receive_here_api(k->c, k->a, k->err, k->errlen);
}

static int be_migrate_receive(void *ctx, const char *url, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .a = url, .err = err, .errlen = errlen};
	int r = sandbox_broker_run(call_receive, &k);
	return r ? r : hand_over_received(ctx);
}

static int call_patch_drive(void *arg)
{
	struct call *k = arg;
	return patch_drive_here(k->c, k->index, k->a, k->err, k->errlen);
}

static int be_patch_drive(void *ctx, int index, const char *path, char *err, size_t errlen)
{
	struct call k = {.c = ctx, .index = index, .a = path, .err = err, .errlen = errlen};
	return sandbox_broker_run(call_patch_drive, &k);
}

static int call_snapshot_create(void *arg)
{
	struct call *k = arg;
	return snapshot_create_here(k->c, k->a, k->b, k->flag, k->err, k->errlen);
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
	return set_metrics(k->a, k->b, k->d, k->err, k->errlen);
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

static const struct api_backend_ops vm_backend = {
    .migrate_send = be_migrate_send,
    .migrate_progress = be_migrate_progress,
    .migrate_cancel = be_migrate_cancel,
    .migrate_receive = be_migrate_receive,
    .balloon_info = be_balloon_info,
    .balloon_set_target = be_balloon_set_target,
    .balloon_set_stats = be_balloon_set_stats,
    .memhp_info = be_memhp_info,
    .memhp_set_requested = be_memhp_set_requested,
    .snapshot_create = be_snapshot_create,
    .snapshot_load = be_snapshot_load,
    .start = be_start,
    .check_boot_source = be_check_boot_source,
    .check_drive = be_check_drive,
    .pause = be_pause,
    .resume = be_resume,
    .ctrl_alt_del = be_ctrl_alt_del,
    .stop = be_stop,
    .patch_drive = be_patch_drive,
    .patch_drive_rate_limiter = be_patch_drive_rate_limiter,
    .patch_nic_rate_limiters = be_patch_nic_rate_limiters,
    .set_metrics = be_set_metrics,
    .set_logger = be_set_logger,
    .flush_metrics = be_flush_metrics,
    .metrics = be_metrics,
    .count_request = be_count_request,
};

/* ---- the phases ---- */

static int load_config_file(struct control *c)
{
	char err[API_FAULT_MAX] = "", *text;
	json_error_t je;
	size_t len;

	/* host_path_read(): a FIFO, a device or a file of /proc is refused at once, and no more
	 * than CONFIG_FILE_MAX bytes are ever read (a FIFO's size of 0 passed a stat() check) */
	int r = host_path_read(c->cfg->config_file, CONFIG_FILE_MAX, &text, &len, err, sizeof(err));
	if (r) {
		log_error("config file %s", err);
		return VMM_EXIT_USAGE;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!root) {
		log_error("config file %s: %s (line %d, column %d)", c->cfg->config_file, je.text,
			  je.line, je.column);
		return VMM_EXIT_USAGE;
	}
	r = api_model_load(&c->api.model, root, err, sizeof(err));
	const json_t *logger = json_object_get(root, "logger");
	if (!r && json_is_object(logger)) /* checked by api_model_load() */
		r = api_logger_put(logger, err, sizeof(err));
	json_decref(root);
	if (!r && c->api.model.metrics_path) {
		const struct api_model *m = &c->api.model;
		r = set_metrics(m->metrics_path, m->metrics_emit_id ? c->api.id : NULL,
				m->metrics_properties, err, sizeof(err));
		c->api.metrics_set = !r;
		c->config_metrics = !r;
	}
	if (r) {
		log_error("config file %s: %s", c->cfg->config_file, err);
		return VMM_EXIT_USAGE;
	}
	c->nic_base = dev_net_count(c->cfg);
	r = control_build_config(c->cfg, &c->api.model, &c->append, c->disk_index, err,
				 sizeof(err));
	if (r) {
		log_error("config file %s: %s", c->cfg->config_file, err);
		return vmm_exit_status(r);
	}
	attach_mmds(c, &c->api.model);
	return 0;
}

/* A restore-time --net tap=NAME[,mac=MAC] as a snapshot_open() NIC override. */
static void nic_override(const struct virtio_net_opts *o, char *out, size_t len)
{
	const uint8_t *m = o->mac;

	if (o->has_mac)
		snprintf(out, len, "tap=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", o->ifname, m[0],
			 m[1], m[2], m[3], m[4], m[5]);
	else
		snprintf(out, len, "tap=%s", o->ifname);
}

/* A --disk given with --restore as a path override (vm_snapshot.h): PATH[,id=NAME] and nothing
 * else; the disk named NAME, or without it the disk in the same place, gets PATH. */
static int disk_override(const struct vm_config *cfg, int i, const char *arg,
			 struct snapshot_path_override *o)
{
	const struct virtio_blk_opts *d = dev_disk_opts(cfg, i);
	const char *rest = strchr(arg, ',');

	if (!d || (rest && (strncmp(rest, ",id=", 4) || strchr(rest + 1, ',')))) {
		log_error(
		    "--restore: --disk %s: give only PATH[,id=NAME] (the disk of the snapshot "
		    "named NAME, else the one in the same place, opens PATH)",
		    arg);
		return VMM_EXIT_USAGE;
	}
	*o = (struct snapshot_path_override){
	    .option = "disk", .id = d->id[0] ? d->id : NULL, .index = i, .path = d->path};
	return 0;
}

/* --restore DIR: the command line may add --net options (their taps, and MACs if given, replace
 * the snapshot's, in order) and --disk PATH[,id=NAME] options (their files replace the
 * snapshot's), and nothing else that shapes the VM. */
static int restore_here(struct control *c)
{
	char taps[CLI_MAX_NICS][48] = {{0}}, err[1024] = "", state[4096], mem[4096];
	struct snapshot_nic_override tap_ptrs[CLI_MAX_NICS] = {{0}};
	struct snapshot_path_override disks[CLI_MAX_DISKS];
	int ntaps = dev_net_count(c->cfg), ndisks = 0;

	for (int i = 0; i < c->cfg->nrecorded; i++) {
		const struct cli_record *rec = &c->cfg->recorded[i];
		if (!strcmp(rec->name, "disk") && ndisks < CLI_MAX_DISKS &&
		    !vu_opts_is_spec(rec->arg)) {
			int st = disk_override(c->cfg, ndisks, rec->arg, &disks[ndisks]);
			if (st)
				return st;
			ndisks++;
		} else if (strcmp(rec->name, "net")) {
			log_error(
			    "--restore: --%s cannot change a snapshot's VM (only --net, to "
			    "give it other taps, and --disk PATH[,id=NAME], other disk files)",
			    rec->name);
			return VMM_EXIT_USAGE;
		}
	}
	for (int i = 0; i < ntaps; i++) {
		const struct virtio_net_opts *nic = dev_net_opts(c->cfg, i);
		if (nic->kind != VIRTIO_NET_TAP) {
			log_error("--restore: --net must name a tap (tap=NAME)");
			return VMM_EXIT_USAGE;
		}
		nic_override(nic, taps[i], sizeof(taps[i]));
		tap_ptrs[i] = (struct snapshot_nic_override){.index = i, .spec = taps[i]};
	}
	snprintf(state, sizeof(state), "%s/%s", c->cfg->restore, SNAPSHOT_STATE_FILE);
	snprintf(mem, sizeof(mem), "%s/%s", c->cfg->restore, SNAPSHOT_MEMORY_FILE);
	/* --restore resumes the VM as it was saved: its settings stay the snapshot's */
	struct api_snapshot_load p = {.state_path = state,
				      .mem_path = mem,
				      .nics = tap_ptrs,
				      .nnics = ntaps,
				      .paths = disks,
				      .npaths = ndisks};
	c->restore_logged = false;
	int r = restore_vm(c, &p, err, sizeof(err));
	if (r) {
		if (!c->restore_logged) /* said once, whole */
			log_error("--restore %s: %s", c->cfg->restore, err);
		return vmm_exit_status(r);
	}
	struct api_model m;
	if (api_model_from_config(&m, c->cfg) == 0)
		api_set_running(&c->api, &m);
	api_model_free(&m);
	identity_disk_index(c);
	return 0;
}

/* Waits until the VM is created elsewhere (start_fd: 0) or a signal ends the VMM (its status). */
static int wait_for_vm(struct control *c, int sig_fd)
{
	for (;;) {
		struct pollfd fds[2] = {{.fd = c->start_fd, .events = POLLIN},
					{.fd = sig_fd, .events = POLLIN}};
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return VMM_EXIT_ERROR;
		struct signalfd_siginfo si;
		/* SIGWINCH: no console yet; it reads the terminal's size when it is created */
		if ((fds[1].revents & POLLIN) && read(sig_fd, &si, sizeof(si)) == sizeof(si) &&
		    si.ssi_signo != SIGWINCH) {
			log_info("stopping on signal %u", si.ssi_signo);
			vm_stop_deadline((int)si.ssi_signo, VM_STOP_DEADLINE_S);
			return 128 + (int)si.ssi_signo;
		}
		if (fds[0].revents & POLLIN)
			return 0;
	}
}

/* API only: serves until a client starts the VM (0) or a signal ends the VMM (its status). */
static int wait_for_start(struct control *c, int sig_fd)
{
	log_info("api: waiting on %s for the VM's configuration and InstanceStart",
		 c->cfg->api_sock);
	/* The broker builds the VM; this thread only waits, then seals Landlock and runs the VM
	 * (vm_run() confines it before the vCPUs start): it needs no capability but for a --user
	 * switch (sandbox_keep_only() keeps those). No filter yet: vm_run() starts the devices'
	 * threads, the console and the display before its own, and a filter is only ever
	 * narrowed. */
	if (sandbox_keep_only("main", 0))
		return VMM_EXIT_ERROR;
	return wait_for_vm(c, sig_fd);
}

/* vm_migrate_early_start: the VM is built during the pre-copy; the main thread runs it. */
static void start_early(void *opaque)
{
	struct control *c = opaque;
	uint64_t one = 1;

	c->vm_created = true;
	atomic_store(&c->recv_early, true);
	if (write(c->start_fd, &one, sizeof(one)) < 0)
		log_error("migration: cannot wake the main thread: %s", strerror(errno));
}

/* The API's model of the VM received (GET /vm/config), which runs from now on. */
static void set_running(struct control *c)
{
	struct api_model m;
	if (api_model_from_config(&m, c->cfg) == 0)
		api_set_running(&c->api, &m);
	api_model_free(&m);
}

static void *receive_thread(void *opaque)
{
	struct control *c = opaque;
	const struct vm_migrate_early_start early = {start_early, c};
	uint64_t one = 1;

	c->recv_status = receive_vm(c, c->cfg->migrate_from, -1, &early);
	/* a VM started early is the API's only once it runs (paused until then: a resume, a
	 * snapshot or a migration of it would act on a VM without its state) */
	if (!c->recv_status && atomic_load(&c->recv_early))
		set_running(c);
	if (write(c->start_fd, &one, sizeof(one)) < 0)
		log_error("migration: cannot wake the main thread: %s", strerror(errno));
	return NULL;
}

/* --migrate-from URL: the VM comes from a source; received on a thread of its own, so that a
 * signal still ends the VMM while it waits (the receive is cancelled). */
static int receive_here(struct control *c, int sig_fd)
{
	pthread_t t;

	int r = pthread_create(&t, NULL, receive_thread, c);
	if (r) {
		log_error("--migrate-from: cannot start a thread: %s", strerror(r));
		return VMM_EXIT_ERROR;
	}
	int status = wait_for_vm(c, sig_fd);
	if (status)
		atomic_store(&c->mig_cancel, true);
	if (!status && atomic_load(&c->recv_early)) {
		c->recv_thread = t; /* it finishes the migration while the VM starts here */
		c->recv_joinable = true;
	} else {
		pthread_join(t, NULL);
	}
	if (status)
		return status;
	if (!c->recv_joinable && c->recv_status)
		return c->recv_status;
	if (!c->recv_joinable)
		set_running(c);
	return 0;
}

/* The VM from the command line or the config file, created here. */
static int create_here(struct control *c)
{
	int status = vm_create(&c->vm, c->cfg);
	c->vm_created = true;
	if (status)
		return status;
	if (!c->cfg->config_file) { /* the model of the command line, for GET /vm/config */
		identity_disk_index(c);
		struct api_model m;
		if (api_model_from_config(&m, c->cfg) == 0)
			api_set_running(&c->api, &m);
		api_model_free(&m);
	} else {
		api_set_running(&c->api, NULL);
	}
	return 0;
}

/* The broker first (it must start before any thread confines itself, and it opens and builds
 * for the API thread: host/sandbox/broker.h), then the API thread, confined from the start. */
static int start_api(struct control *c)
{
	char err[300] = "";
	size_t n;
	if (c->cfg->switch_user)
		sandbox_announce_user_switch(); /* the API thread confines itself at start */
	const struct sandbox_list *const *lists = api_http_broker_lists(&n, false);
	if (sandbox_broker_start(lists, n))
		return VMM_EXIT_ERROR;
	int r = api_http_start(&c->http, c->cfg->api_sock, &c->api, err, sizeof(err));
	if (r) {
		log_error("--api-sock %s", err);
		return vmm_exit_status(r);
	}
	return 0;
}

static enum vm_source vm_source_of(const struct vm_config *cfg)
{
	return cfg->restore	   ? FROM_RESTORE
	       : cfg->migrate_from ? FROM_MIGRATION
	       : cfg->kernel	   ? FROM_KERNEL
				   : FROM_API;
}

/* On the broker when there is one: the set's paths are looked up with its capabilities (the
 * operator's folders, whatever their mode), as the main thread that waited has none. */
static int seal_landlock(void *unused)
{
	(void)unused;
	return sandbox_landlock_seal();
}

static int run_phases(struct control *c, int sig_fd)
{
	int status = c->cfg->config_file ? load_config_file(c) : 0;
	/* Decided before the API thread runs: a snapshot it loads replaces *c->cfg with the
	 * snapshot's configuration, and a main thread that looked only then could build a second
	 * VM beside the API thread's (seen as KVM_CREATE_IRQCHIP "File exists" on a loaded host,
	 * the main thread slow to get here). */
	c->from = vm_source_of(c->cfg);
	if (!status && c->cfg->api_sock)
		status = start_api(c);
	if (status)
		return status;
	if (c->from == FROM_RESTORE)
		status = restore_here(c);
	else if (c->from == FROM_MIGRATION)
		status = receive_here(c, sig_fd);
	else if (c->from == FROM_KERNEL)
		status = create_here(c);
	else
		status = wait_for_start(c, sig_fd);
	if (status)
		return status;
	/* The user switch first: every thread takes part in it, so none may be confined yet; then
	 * the metrics and API threads confine themselves, before the guest runs. */
	if (c->cfg->switch_user && sandbox_switch_user(c->cfg->uid, c->cfg->gid)) {
		mark_started(c); /* nothing will run: the API's start request may answer */
		return VMM_EXIT_USAGE;
	}
	/* Landlock: the set is complete (the API socket's directory for its removal at exit);
	 * the metrics and API threads apply it as they confine themselves (sandbox.h) */
	if (c->cfg->api_sock)
		sandbox_landlock_allow_dir_of(c->cfg->api_sock, LANDLOCK_CHANGE);
	if (sandbox_broker_run(seal_landlock, NULL)) {
		mark_started(c);
		return VMM_EXIT_ERROR;
	}
	metrics_attach_vm(&c->vm);
	size_t n;
	const struct sandbox_list *const *lists = api_http_broker_lists(&n, true);
	if (sandbox_broker_confine(lists, n) || confine_api(c)) { /* before the VM runs */
		log_error("api: the API thread or its broker could not be confined: not running "
			  "the VM");
		mark_started(c);
		return VMM_EXIT_ERROR;
	}
	c->ran = true;
	status = vm_run(&c->vm);
	api_set_stopping(&c->api);
	return status;
}

int control_run(struct vm_config *cfg)
{
	static struct control c;
	sigset_t set;

	c = (struct control){.cfg = cfg, .start_fd = -1};
	pthread_mutex_init(&c.started_lock, NULL);
	pthread_cond_init(&c.started_cond, NULL);
	for (int i = 0; i < API_MAX_DRIVES; i++)
		c.disk_index[i] = -1;
	int sig_fd = vm_block_signals(&set);
	c.start_fd = eventfd(0, EFD_CLOEXEC);
	if (sig_fd < 0 || c.start_fd < 0 || api_init(&c.api, &vm_backend, &c)) {
		log_error("control: cannot set up: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	if (cfg->mmds_size_limit)
		mmds_set_limit(&c.api.mmds, cfg->mmds_size_limit);
	cfg->mmds = &c.api.mmds; /* kept in snapshots (vmm/snapshot/vm_snapshot.c) */
	int status = run_phases(&c, sig_fd);
	atomic_store(&c.mig_cancel, true); /* a receive-migration that still waits */
	if (c.recv_joinable)		   /* before the VM goes: it may still stop it */
		pthread_join(c.recv_thread, NULL);
	api_http_stop(c.http); /* no request runs past this point */
	sandbox_broker_stop();
	if (c.mig && migrating(&c))
		vm_migrate_cancel(c.mig); /* the VM ended under it */
	if (c.mig)
		vm_migrate_join(c.mig);
	if (c.config_metrics && !c.ran)
		metrics_discard(); /* a failed start leaves no metrics file it made behind */
	else
		metrics_shutdown();
	if (c.vm_created)
		vm_destroy(&c.vm);
	api_destroy(&c.api);
	free(c.append);
	close(c.start_fd);
	close(sig_fd);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return status;
}
