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
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/host_path.h"
#include "base/log.h"
#include "base/thread_sched.h"
#include "host/kvm/cpu_host.h"
#include "host/kvm/kvm.h"
#include "host/sandbox/broker.h"
#include "host/sandbox/landlock.h"
#include "host/sandbox/opener.h"
#include "host/sandbox/sandbox.h"
#include "host/ui/console.h"
#include "vmm/api/api_logger.h"
#include "vmm/api/control_internal.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/snapshot/vm_snapshot.h"
#include "vmm/snapshot/working_set_restore.h"
#include "vmm/vm/metrics.h"
#include "vmm/vm/vm.h"

#define CONFIG_FILE_MAX (1 << 20)

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
		r = ctl_set_metrics(m->metrics_path, m->metrics_emit_id ? c->api.id : NULL,
				    m->metrics_properties, err, sizeof(err));
		c->api.metrics_set = !r;
		c->config_metrics = !r;
	}
	if (r) {
		log_error("config file %s: %s", c->cfg->config_file, err);
		return VMM_EXIT_USAGE;
	}
	r = control_build_config(c->cfg, &c->api.model, &c->append, c->disk_index, err,
				 sizeof(err));
	if (r) {
		log_error("config file %s: %s", c->cfg->config_file, err);
		return vmm_exit_status(r);
	}
	ctl_attach_mmds(c, &c->api.model);
	return 0;
}

/* What --restore refuses: an option that would change the snapshot's VM (--OPTION `name`). */
static int refuse_with_restore(const char *name)
{
	log_error("--restore: --%s cannot change a snapshot's VM (only --net, to give it other "
		  "taps, --disk PATH[,id=NAME], other disk files, --firmware PATH, another "
		  "firmware file, and --firmware-vars PATH, another variable store)",
		  name);
	return VMM_EXIT_USAGE;
}

/* The recorded options given with --restore (the core's): the last --firmware and
 * --firmware-vars, as without --restore, into paths[*n]; any other one refused. */
static int core_overrides(const struct vm_config *cfg, struct snapshot_path_override *paths, int *n)
{
	const char *firmware = NULL, *vars = NULL;

	for (int i = 0; i < cfg->nrecorded; i++) {
		const struct cli_record *rec = &cfg->recorded[i];
		if (!strcmp(rec->name, "firmware"))
			firmware = rec->arg;
		else if (!strcmp(rec->name, "firmware-vars"))
			vars = rec->arg;
		else
			return refuse_with_restore(rec->name);
	}
	if (firmware)
		paths[(*n)++] =
		    (struct snapshot_path_override){.option = "firmware", .path = firmware};
	if (vars)
		paths[(*n)++] =
		    (struct snapshot_path_override){.option = "firmware-vars", .path = vars};
	return 0;
}

/* What --restore takes of the devices (their blocks, device_api_ext.restore_given). */
struct given {
	struct snapshot_path_override *paths; /* each disk's file (after the core's) */
	int *npaths;
	char (*taps)[64]; /* each NIC's override spec, by place */
	struct snapshot_nic_override *nics;
	int nnics;
};

/* Instance i of device d given with --restore, into g: 0 or VMM_EXIT_USAGE (logged). */
static int take_given(const struct vm_config *cfg, const struct device_desc *d, int i,
		      struct given *g)
{
	struct device_restore_given r = {0};

	if (d->api->ext->restore_given(cfg, i, &r))
		return VMM_EXIT_USAGE;
	if (r.path)
		g->paths[(*g->npaths)++] = (struct snapshot_path_override){
		    .option = d->options[0].name, .id = r.id, .index = i, .path = r.path};
	if (!r.tap)
		return 0;
	if (g->nnics >= VM_MAX_NICS ||
	    snapshot_nic_override_spec(r.tap, r.mac[0] ? r.mac : NULL, g->taps[g->nnics],
				       sizeof(g->taps[0]))) { /* 64 bytes are enough */
		log_error("--restore: --net tap=%s: out of memory", r.tap);
		return VMM_EXIT_USAGE;
	}
	g->nics[g->nnics] = (struct snapshot_nic_override){.index = i, .spec = g->taps[g->nnics]};
	g->nnics++;
	return 0;
}

/* Whether device d may be given with --restore (its hook says what it replaces). */
static bool given_with_restore(const struct device_desc *d)
{
	return d->api && d->api->ext && d->api->ext->restore_given;
}

/* The devices given with --restore (their blocks), in table order, into g: a disk's file, a
 * NIC's tap; any other device refused, by its first option. */
static int device_overrides(const struct vm_config *cfg, struct given *g)
{
	const struct device_desc *d;

	for (d = device_records_next(cfg, NULL); d; d = device_records_next(cfg, d))
		if (!given_with_restore(d))
			return refuse_with_restore(d->options[0].name);
	for (d = device_records_next(cfg, NULL); d; d = device_records_next(cfg, d)) {
		for (int i = 0; i < d->record_count(cfg); i++) {
			int st = take_given(cfg, d, i, g);
			if (st)
				return st;
		}
	}
	return 0;
}

/* --restore DIR: the command line may add --net options (their taps, and MACs if given, replace
 * the snapshot's, in order), --disk PATH[,id=NAME] options (their files replace the
 * snapshot's), --firmware PATH (the firmware a snapshot of a firmware-booted VM maps again) and
 * --firmware-vars PATH (the variable store it writes its saved variables to), and nothing else
 * that shapes the VM. */
static int restore_here(struct control *c)
{
	char taps[VM_MAX_NICS][64] = {{0}}, err[1024] = "", state[4096], mem[4096];
	struct snapshot_nic_override tap_ptrs[VM_MAX_NICS] = {{0}};
	struct snapshot_path_override paths[VM_MAX_DISKS + 2];
	int npaths = 0;
	struct given g = {.paths = paths, .npaths = &npaths, .taps = taps, .nics = tap_ptrs};

	int st = core_overrides(c->cfg, paths, &npaths);
	if (!st)
		st = device_overrides(c->cfg, &g);
	if (st)
		return st;
	snprintf(state, sizeof(state), "%s/%s", c->cfg->restore, SNAPSHOT_STATE_FILE);
	snprintf(mem, sizeof(mem), "%s/%s", c->cfg->restore, SNAPSHOT_MEMORY_FILE);
	/* --restore resumes the VM as it was saved: its settings stay the snapshot's */
	struct api_snapshot_load p = {.state_path = state,
				      .mem_path = mem,
				      .nics = tap_ptrs,
				      .nnics = g.nnics,
				      .paths = paths,
				      .npaths = npaths,
				      .clock_realtime = c->cfg->clock_realtime};
	if (c->cfg->working_set) /* checked by the parser */
		working_set_mode(c->cfg->working_set, &p.working_set);
	/* read now: the restore replaces *c->cfg with the snapshot's configuration */
	uint64_t ws_limit_ms = c->cfg->working_set_ms;
	c->restore_logged = false;
	int r = ctl_restore_vm(c, &p, err, sizeof(err));
	if (r) {
		if (!c->restore_logged) /* said once, whole */
			log_error("--restore %s: %s", c->cfg->restore, err);
		return vmm_exit_status(r);
	}
	if (p.working_set == WS_RECORD) /* a request stops it, or --working-set-ms (0: none) */
		ctl_working_set_arm(c, ws_limit_ms);
	struct api_model m;
	if (api_model_from_config(&m, c->cfg) == 0)
		api_set_running(&c->api, &m);
	api_model_free(&m);
	ctl_identity_disk_index(c);
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

/* While the VMM waits for its VM: the seccomp filters of the threads that confine themselves
 * between the request that builds it (PUT /snapshot/load, InstanceStart) and its vCPUs running,
 * compiled now (sandbox_prepare()), so that they load at once then: the broker's and the API
 * thread's second entry, the console's, the working set's loader, the main thread's and the
 * vCPUs' (with and without --mem-shared, which a fork's children have). A VM that needs another
 * filter (a passed-through device) builds it as before. */
static void prepare_filters(void)
{
	size_t n;
	const struct sandbox_list *const *lists = api_http_broker_lists(&n, true);
	sandbox_prepare("api", lists, n);
	console_prepare_filter();
	working_set_prepare_filter();
	vm_prepare_filters(false);
	vm_prepare_filters(true);
}

/* API only: serves until a client starts the VM (0) or a signal ends the VMM (its status). */
static int wait_for_start(struct control *c, int sig_fd)
{
	log_info("api: waiting on %s for the VM's configuration and InstanceStart",
		 c->cfg->api_sock);
	/* What the host's KVM supports, asked now (0.3-0.4 ms on kvm_pvm) and not when a request
	 * checks a snapshot's CPU against it or builds the vCPUs: the answer is cached
	 * (host/kvm/cpu_host.h). With this thread's capabilities, before they go; best effort. */
	cpu_host_warm_up(c->cfg->kvm_path);
	/* The VM itself too (host/kvm/kvm.h): the request then builds on it. */
	kvm_prepare_vm(c->cfg->kvm_path);
	/* The broker builds the VM; this thread only waits, then seals Landlock and runs the VM
	 * (vm_run() confines it before the vCPUs start): it needs no capability but for a --user
	 * switch (sandbox_keep_only() keeps those). No filter yet: vm_run() starts the devices'
	 * threads, the console and the display before its own, and a filter is only ever
	 * narrowed. */
	if (sandbox_keep_only("main", 0))
		return VMM_EXIT_ERROR;
	prepare_filters();
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

static void *receive_thread(void *opaque)
{
	struct control *c = opaque;
	const struct vm_migrate_early_start early = {start_early, c};
	uint64_t one = 1;

	c->recv_status = ctl_receive_vm(c, c->cfg->migrate_from, -1, &early);
	/* a VM started early is the API's only once it runs (paused until then: a resume, a
	 * snapshot or a migration of it would act on a VM without its state), and once the main
	 * thread has started it (ctl_report_running()) */
	if (!c->recv_status && atomic_load(&c->recv_early))
		ctl_report_running(c);
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
	if (!c->recv_joinable) /* the API's running VM once vm_run() started it */
		ctl_report_running(c);
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
		ctl_identity_disk_index(c);
		struct api_model m;
		if (api_model_from_config(&m, c->cfg) == 0)
			api_set_running(&c->api, &m);
		api_model_free(&m);
	} else {
		api_set_running(&c->api, NULL);
	}
	return 0;
}

/* The broker and the opener first (they must start before any thread confines itself: the
 * broker opens and builds for the API thread, host/sandbox/broker.h; the opener creates the
 * files a request writes, outside Landlock, host/sandbox/opener.h), then the API thread,
 * confined from the start. */
static int start_api(struct control *c)
{
	char err[300] = "";
	size_t n;
	if (c->cfg->switch_user)
		sandbox_announce_user_switch(); /* the API thread confines itself at start */
	/* what a device maps before any thread is confined (libslirp, for a VM the API builds later
	 * with a user-mode NIC) */
	device_table_preload();
	const struct sandbox_list *const *lists = api_http_broker_lists(&n, false);
	if (sandbox_broker_start(lists, n) || sandbox_opener_start())
		return VMM_EXIT_ERROR;
	/* A VM the command line gives (a kernel, firmware, --restore) is built and started before
	 * the first request is answered (ctl_mark_started() opens the socket once vm_run() has
	 * started the VM's threads, the hotplug thread among them): one sent as soon as the socket
	 * appears would otherwise see no devices yet, "not supported before starting", or a
	 * hot-add with no hotplug thread to run it. A migration's receiver answers at once (its
	 * state is asked while it waits); its VM is reported running once it runs
	 * (ctl_report_running()). */
	bool held = c->from == FROM_KERNEL || c->from == FROM_RESTORE;
	int r = api_http_start(&c->http, c->cfg->api_sock, &c->api, held, err, sizeof(err));
	if (r) {
		log_error("--api-sock %s", err);
		return vmm_exit_status(r);
	}
	return 0;
}

static enum vm_source vm_source_of(const struct vm_config *cfg)
{
	return cfg->restore		      ? FROM_RESTORE
	       : cfg->migrate_from	      ? FROM_MIGRATION
	       : cfg->kernel || cfg->firmware ? FROM_KERNEL
					      : FROM_API;
}

/* On the broker when there is one: the set's paths are looked up with its capabilities (the
 * operator's folders, whatever their mode), as the main thread that waited has none. */
static int seal_landlock(void *unused)
{
	(void)unused;
	return sandbox_landlock_seal();
}

/* Firecracker's --log-path, --level, --module, --show-level, --show-log-origin and
 * --metrics-path: what PUT /logger and PUT /metrics with those fields do, before anything else
 * (a --config-file's "logger" then reconfigures, as a later PUT would). */
static int apply_cli_logging(struct control *c)
{
	const struct vm_config *cfg = c->cfg;
	char err[512] = "";
	int r = 0;
	if (cfg->fc_log.given) {
		json_t *body = json_object();
		if (cfg->fc_log.path)
			json_object_set_new(body, "log_path", json_string(cfg->fc_log.path));
		if (cfg->fc_log.level)
			json_object_set_new(body, "level", json_string(cfg->fc_log.level));
		if (cfg->fc_log.module)
			json_object_set_new(body, "module", json_string(cfg->fc_log.module));
		if (cfg->fc_log.show_level)
			json_object_set_new(body, "show_level", json_true());
		if (cfg->fc_log.show_origin)
			json_object_set_new(body, "show_log_origin", json_true());
		r = body ? api_logger_put(body, err, sizeof(err)) : -ENOMEM;
		json_decref(body);
	}
	if (!r && cfg->fc_metrics_path) {
		r = ctl_set_metrics(cfg->fc_metrics_path, NULL, NULL, err, sizeof(err));
		c->api.metrics_set = !r; /* once only, as after a PUT /metrics */
		c->config_metrics = !r;
	}
	if (r) {
		log_error("%s", err[0] ? err : strerror(-r));
		return VMM_EXIT_USAGE;
	}
	return 0;
}

static int run_phases(struct control *c, int sig_fd)
{
	int status = apply_cli_logging(c);
	if (!status && c->cfg->config_file)
		status = load_config_file(c);
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
	uint64_t t0 = mono_us();
	/* The user switch first: every thread takes part in it, so none may be confined yet; then
	 * the metrics and API threads confine themselves, before the guest runs. */
	if (c->cfg->switch_user && sandbox_switch_user(c->cfg->uid, c->cfg->gid)) {
		ctl_mark_started(c); /* nothing will run: the API's start request may answer */
		return VMM_EXIT_USAGE;
	}
	/* Landlock: the set is complete (the API socket's directory for its removal at exit);
	 * the metrics and API threads apply it as they confine themselves (sandbox.h) */
	if (c->cfg->api_sock)
		sandbox_landlock_allow_dir_of(c->cfg->api_sock, LANDLOCK_CHANGE);
	size_t n;
	const struct sandbox_list *const *lists = api_http_broker_lists(&n, true);
	int confined = sandbox_broker_confine(seal_landlock, NULL, lists, n);
	uint64_t t1 = mono_us();
	if (!confined) {
		metrics_attach_vm(&c->vm); /* its flush thread confines itself: after the seal */
		confined = ctl_confine_api(c);
	}
	log_debug("before the VM runs: Landlock sealed and broker confined %llu us, API thread "
		  "confined %llu us",
		  (unsigned long long)(t1 - t0), (unsigned long long)(mono_us() - t1));
	if (confined) { /* before the VM runs */
		log_error("api: the Landlock set could not be sealed or the API thread or its "
			  "broker could not be confined: not running the VM");
		ctl_mark_started(c);
		return VMM_EXIT_ERROR;
	}
	c->ran = true;
	/* whatever built the VM: the API opens, and a received VM is reported running, only once
	 * vm_run() has started its threads (the hotplug thread: a hot-add is run there) */
	c->vm.on_started = ctl_mark_started;
	c->vm.on_started_opaque = c;
	status = vm_run(&c->vm);
	api_set_stopping(&c->api);
	return status;
}

/* Firecracker's api_server startup metrics, as Firecracker reports them when its jailer (or
 * vmm-jail) passed its start: with --start-time-us the wall time since then, with
 * --start-time-cpu-us the CPU time this process used past it plus the launcher's own
 * (--parent-cpu-time-us); one not given stays 0. A clock behind the value counts as 0. */
static void set_startup_times(const struct vm_config *cfg)
{
	struct timespec cpu;
	uint64_t now = mono_ns() / 1000, us = 0, cpu_us = 0;
	if (cfg->have_start_time)
		us = now > cfg->start_time_us ? now - cfg->start_time_us : 0;
	if (cfg->have_start_time_cpu && clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0) {
		cpu_us = (uint64_t)cpu.tv_sec * 1000000u + (uint64_t)cpu.tv_nsec / 1000u;
		cpu_us = cpu_us > cfg->start_time_cpu_us ? cpu_us - cfg->start_time_cpu_us : 0;
		cpu_us += cfg->parent_cpu_time_us;
	}
	metrics_set_startup(us, cpu_us);
}

int control_run(struct vm_config *cfg, enum vm_stop_reason *why)
{
	static struct control c;
	sigset_t set;

	c = (struct control){.cfg = cfg, .start_fd = -1};
	/* The main thread runs a VM the API built as soon as it is handed over, past a running
	 * guest's vCPU (base/thread_sched.h); the threads it starts keep the default slice. */
	(void)thread_sched_short_slice(THREAD_SCHED_CONTROL_SLICE_NS);
	pthread_mutex_init(&c.started_lock, NULL);
	pthread_cond_init(&c.started_cond, NULL);
	ws_stopper_init(&c.ws_stop);
	for (int i = 0; i < API_MAX_DRIVES; i++)
		c.disk_index[i] = -1;
	int sig_fd = vm_block_signals(&set);
	c.start_fd = eventfd(0, EFD_CLOEXEC);
	if (sig_fd < 0 || c.start_fd < 0 || api_init(&c.api, &ctl_backend, &c)) {
		log_error("control: cannot set up: %s", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	if (cfg->api_max_payload)
		c.api.max_body = cfg->api_max_payload;
	/* Firecracker: the MMDS store's limit is the payload limit unless --mmds-size-limit says */
	if (cfg->mmds_size_limit || cfg->api_max_payload)
		mmds_set_limit(&c.api.mmds,
			       cfg->mmds_size_limit ? cfg->mmds_size_limit : cfg->api_max_payload);
	if (cfg->instance_id) /* checked by the command line: 64 bytes at most */
		snprintf(c.api.id, sizeof(c.api.id), "%s", cfg->instance_id);
	if (cfg->have_start_time || cfg->have_start_time_cpu)
		set_startup_times(cfg);
	cfg->mmds = &c.api.mmds; /* kept in snapshots (vmm/snapshot/vm_snapshot.c) */
	int status = run_phases(&c, sig_fd);
	ws_stopper_end(&c.ws_stop);	   /* its time limit, before the broker and the VM go */
	atomic_store(&c.mig_cancel, true); /* a receive-migration that still waits */
	if (c.recv_joinable)		   /* before the VM goes: it may still stop it */
		pthread_join(c.recv_thread, NULL);
	api_http_stop(c.http); /* no request runs past this point */
	sandbox_broker_stop();
	sandbox_opener_stop();
	if (c.mig && ctl_migrating(&c))
		vm_migrate_cancel(c.mig); /* the VM ended under it */
	if (c.mig)
		vm_migrate_join(c.mig);
	if (c.config_metrics && !c.ran)
		metrics_discard(); /* a failed start leaves no metrics file it made behind */
	else
		metrics_shutdown();
	if (why) /* the VM's threads are joined: nothing changes it now */
		*why = c.ran ? c.vm.stop_reason : VM_STOP_ERROR;
	if (c.vm_created)
		vm_destroy(&c.vm);
	if (c.run_pending) /* received, never run */
		api_model_free(&c.run_model);
	api_destroy(&c.api);
	free(c.append);
	close(c.start_fd);
	close(sig_fd);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return status;
}
