/* The VM's configuration from the API's model, and the VM built from it (InstanceStart). See
 * control.h and control_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "vmm/api/api_devices.h"
#include "vmm/api/control_internal.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/descriptors/device_api_ext.h"
#include "vmm/vm/cpu_template_config.h"

#define DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1"

/* A request may build the VM only where the command line left that to the API. */
int ctl_api_may_build(const struct control *c, char *err, size_t errlen)
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

/* The drives' descriptor (Firecracker's "drives", whose documents disk_index follows). */
static const struct device_desc *drives(void)
{
	return device_table_section("drives");
}

/* How many instances of `d` the configuration has. */
static int count_of(const struct device_desc *d, const struct vm_config *cfg)
{
	return d && d->record_count ? d->record_count(cfg) : 0;
}

/* A VM described by its command line or a snapshot: model drive i is disk i. */
void ctl_identity_disk_index(struct control *c)
{
	int n = count_of(drives(), c->cfg);
	for (int i = 0; i < API_MAX_DRIVES; i++)
		c->disk_index[i] = i < n ? i : -1;
}

/* ---- the configuration from the model ---- */

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

/* Model drive i's disk: one of the disks added past `first`, the instance its document stands
 * for (device_api_instance(): found by the id= its record carries); -1 for a vhost-user disk,
 * which has no in-process device to patch. */
static void disk_indexes(const struct vm_config *cfg, const struct api_model *m, int first,
			 int *disk_index)
{
	for (int i = 0; i < API_MAX_DRIVES; i++) {
		int k = device_api_instance(drives(), cfg, api_model_drive(m, i));
		disk_index[i] = k >= first ? k : -1;
	}
}

/* What the configuration had before the model's devices were added, to go back to: its disks
 * (their count), and its recorded options (the core's, before record_boot()). The devices come
 * back with their configuration blocks (device_cfg_restore()). */
struct devices_mark {
	int ndisks, nrec;
};

static struct devices_mark devices_mark(const struct vm_config *cfg)
{
	return (struct devices_mark){count_of(drives(), cfg), cfg->nrecorded};
}

/* Takes back the options record_boot() recorded. */
static void undo_devices(struct vm_config *cfg, const struct devices_mark *mark)
{
	cli_unrecord_to(cfg, mark->nrec);
}

/* What the model sets without a parser, recorded for a snapshot's configuration. */
static int record_boot(struct vm_config *cfg, const struct api_model *m, const char *append)
{
	char mem[32], cpus[32];
	snprintf(mem, sizeof(mem), "%uM", m->mem_mib);
	if (m->max_vcpus)
		snprintf(cpus, sizeof(cpus), "boot=%u,max=%u", m->vcpus, m->max_vcpus);
	else
		snprintf(cpus, sizeof(cpus), "%u", m->vcpus);
	int r = m->firmware ? cli_record(cfg, "firmware", m->firmware)
			    : cli_record(cfg, "kernel", m->kernel);
	if (!r && m->firmware_log)
		r = cli_record(cfg, "firmware-log", m->firmware_log);
	if (!r && m->firmware_vars)
		r = cli_record(cfg, "firmware-vars", m->firmware_vars);
	if (!r && m->acpi_off)
		r = cli_record(cfg, "acpi", "off");
	if (!r && m->initrd)
		r = cli_record(cfg, "initrd", m->initrd);
	if (!r && !m->firmware) /* a firmware has no command line from us */
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

/* The model's CPU template (static by name or custom JSON) into cfg->cpu_template. */
static int build_cpu_template(struct vm_config *cfg, const struct api_model *m, char *err,
			      size_t errlen)
{
	if (!m->cpu_template[0] && !m->cpu_config)
		return 0;
	struct cpu_template *t;
	int r = m->cpu_config ? cpu_template_new_json(m->cpu_config, &t, err, errlen)
			      : cpu_template_new_static(m->cpu_template, &t);
	if (r) {
		if (r == -ENOMEM || r == -ENOENT)
			snprintf(err, errlen, "cpu_template: %s", strerror(-r));
		return r;
	}
	free(cfg->cpu_template);
	cfg->cpu_template = t;
	return 0;
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
	cfg->append = m->firmware ? NULL : *append;
	cfg->firmware = m->firmware;
	cfg->firmware_log = m->firmware_log;
	cfg->firmware_vars = m->firmware_vars;
	cfg->acpi_off |= m->acpi_off;
	cfg->ncpus = m->vcpus;
	cfg->max_vcpus = m->max_vcpus;
	cfg->mem_size = (uint64_t)m->mem_mib << 20;
	cfg->track_dirty_pages |= m->track_dirty;
	cfg->hugepages |= m->hugepages;
	cfg->smt |= m->smt;
	return build_cpu_template(cfg, m, err, errlen);
}

/* The NICs PUT /mmds/config (or the config file's "mmds-config") named answer MMDS
 * (virtio/net/mmds_filter.h), as the model's configuration says: each the instance its document
 * stands for (device_api_instance(); none for a vhost-user NIC, which mmds-config cannot name),
 * through its descriptor's hook (device_api_ext.mmds_attach). */
void ctl_attach_mmds(struct control *c, const struct api_model *m)
{
	const struct device_desc *d = device_table_section("network-interfaces");
	const json_t *docs = api_devices_doc(m, d->api->section);
	const json_t *doc;
	size_t i;

	if (!m->mmds_set)
		return;
	mmds_set_config(&c->api.mmds, &m->mmds);
	if (!d->api->ext || !d->api->ext->mmds_attach)
		return;
	json_array_foreach(docs, i, doc)
	{
		int k = device_api_instance(d, c->cfg, doc);
		if (k >= 0 &&
		    mmds_config_has_iface(&m->mmds, api_json_str(doc, d->api->id_field, "")))
			d->api->ext->mmds_attach(c->cfg, k, &c->api.mmds, m->mmds.ipv4);
	}
}

/* InstanceStart, on the broker: the VM built from the model (handed over by be_start()). */
int ctl_build_here(struct control *c, const struct api_model *m, char *err, size_t errlen)
{
	if (ctl_api_may_build(c, err, errlen)) /* before c->cfg is read: that thread replaces it */
		return -EBUSY;
	struct devices_mark mark = devices_mark(c->cfg);
	struct device_cfg_saved saved;
	if (device_cfg_save(c->cfg, &saved)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int r = control_build_config(c->cfg, m, &c->append, c->disk_index, err, errlen);
	if (r) {
		device_cfg_saved_free(&saved);
		return r;
	}
	ctl_attach_mmds(c, m);
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
void ctl_process_config(const struct control *c, struct vm_config *fresh)
{
	vm_config_init(fresh);
	fresh->api_sock = c->cfg->api_sock;
	fresh->kvm_path = c->cfg->kvm_path;
	fresh->cpu_check_off = c->cfg->cpu_check_off;
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
