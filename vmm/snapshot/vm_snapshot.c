/* Snapshot and restore of a whole VM. See snapshot.h. */
#include "vmm/snapshot/vm_snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/log.h"
#include "base/options.h"
#include "base/parse.h"
#include "base/snapshot_io.h"
#include "host/kvm/kvm_state.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_save.h"
#include "vmm/snapshot/cpu_check.h"
#include "vmm/snapshot/format/snap_file.h"
#include "vmm/snapshot/format/snap_mem.h"
#include "vmm/snapshot/restore_paths.h"
#include "vmm/snapshot/snapshot_records.h"
#include "vmm/snapshot/vm_snapshot_devices.h"
#include "vmm/snapshot/vm_uffd.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pause.h"

/* The configuration section's versions: 1, every option as recorded then (the devices' too, as
 * option strings); 2, the core's options as recorded and the devices as their records
 * (vmm/descriptors/device_record.h, snapshot_records.h). A restore reads both: version 1's
 * device options fill the blocks through cli_replay() and are not recorded again, so a
 * snapshot of the restored VM writes them once, as records. */
#define CONFIG_VERSION	       2
#define CONFIG_VERSION_OPTIONS 1

/* ---- taking one ---- */

/* Version 2: the recorded options (the core's: vm_config.h) and every device's records. */
static json_t *config_json(const struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	json_t *opts = json_array();
	for (int i = 0; opts && i < cfg->nrecorded; i++)
		json_array_append_new(
		    opts, json_pack("[s, s?]", cfg->recorded[i].name, cfg->recorded[i].arg));
	json_t *devices = device_records(cfg);
	if (!opts || !devices) {
		json_decref(opts);
		json_decref(devices);
		return NULL;
	}
	return json_pack("{s:i, s:I, s:i, s:o, s:o}", "version", CONFIG_VERSION, "mem_size",
			 (json_int_t)vm->mem.ram_size, "vcpus", (int)vm->ncpus, "options", opts,
			 "devices", devices);
}

static int put_json(struct snap_writer *w, uint32_t tag, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	int r = snap_put(w, tag, 0, text, strlen(text));
	free(text);
	return r;
}

static json_t *info_json(const struct vm *vm)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return json_pack("{s:s, s:I, s:i, s:I}", "vmm_version", "0.1.0", "created_utc_ms",
			 (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "vcpus",
			 (int)vm->ncpus, "mem_size", (json_int_t)vm->mem.ram_size);
}

/* The vCPUs' fds in index order (aarch64's GIC keeps per-vCPU state: kvm_vm_save()). */
static unsigned vcpu_fds(const struct vm *vm, int fds[VM_MAX_CPUS])
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		fds[i] = vm->vcpus[i].fd;
	return vm->ncpus;
}

/* Every section of the VM's state, the VM paused (a snapshot's state file, migration's last
 * round). A migration is refused while a device holds state it does not carry (plugged
 * virtio-mem blocks: device_save_uncarried(), checked here, where the VM is stopped, so a plug
 * made meanwhile is seen too). */
static int collect(struct vm *vm, struct snap_writer *w, bool migration, char *err, size_t errlen)
{
	int fds[VM_MAX_CPUS];
	int r = migration ? device_save_uncarried(vm, "a migration", err, errlen) : 0;
	if (r)
		return r;
	r = put_json(w, SNAP_CONFIG, config_json(vm));
	if (!r)
		r = put_json(w, SNAP_INFO, info_json(vm));
	if (r) {
		snprintf(err, errlen, "cannot describe the VM: %s", strerror(-r));
		return r;
	}
	if (!r && vm->cfg->mmds)
		r = put_json(w, SNAP_MMDS, device_save_mmds(vm->cfg));
	if (r) {
		snprintf(err, errlen, "cannot save MMDS: %s", strerror(-r));
		return r;
	}
	r = kvm_vm_save(&vm->kvm, fds, vcpu_fds(vm, fds), snap_put, w, err, errlen);
	for (unsigned i = 0; !r && i < vm->ncpus; i++) {
		r = vm_pause_take_vcpu_state(vm, i, w); /* saved by its thread at the pause */
		if (r < 0)
			snprintf(err, errlen, "cannot store vCPU %u's state: %s", i, strerror(-r));
		if (r > 0)
			r = kvm_vcpu_save(vm->kvm.dev_fd, vm->vcpus[i].fd, i, snap_put, w, err,
					  errlen);
	}
	if (!r)
		r = cpu_check_put_model(vm, w, err, errlen);
	if (!r)
		r = vm_devices_save(vm, snap_put, w, err, errlen);
	return r;
}

int vm_snapshot_collect(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	return collect(vm, w, true, err, errlen);
}

char *vm_snapshot_config_text(const struct vm *vm)
{
	json_t *j = config_json(vm);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

/* A diff is written into an earlier snapshot's memory file: never the one this VM's RAM is
 * mapped from (its unwritten pages would change under the guest). */
static int check_diff_target(const struct vm *vm, const char *mem_path, char *err, size_t errlen)
{
	struct stat st;
	if (!vm->cfg->track_dirty_pages) {
		snprintf(err, errlen,
			 "Diff snapshots need dirty-page tracking (machine-config "
			 "track_dirty_pages, or --track-dirty-pages)");
		return -EINVAL;
	}
	if (stat(mem_path, &st) == 0 && st.st_dev == vm->mem_file_dev &&
	    st.st_ino == vm->mem_file_ino && vm->mem_file_ino) {
		snprintf(err, errlen, "%s backs this VM's memory: write the diff onto a copy of it",
			 mem_path);
		return -EINVAL;
	}
	return 0;
}

/* The pages written since the last snapshot (the guest's and the VMM's), taken and cleared;
 * NULL when not tracking. put_back_dirty() returns them after a failed save. */
static uint64_t *take_dirty(struct vm *vm)
{
	size_t words = guest_mem_dirty_words(&vm->mem);
	uint64_t *bitmap = vm->cfg->track_dirty_pages ? calloc(words, sizeof(uint64_t)) : NULL;
	if (bitmap) {
		if (kvm_dirty_log_get(&vm->kvm, &vm->mem, bitmap))
			memset(bitmap, 0xff, words * sizeof(uint64_t)); /* unknown: all dirty */
		guest_mem_dirty_take(&vm->mem, bitmap);
	}
	return bitmap;
}

static void put_back_dirty(struct vm *vm, const uint64_t *bitmap)
{
	for (size_t i = 0; bitmap && vm->mem.dirty && i < guest_mem_dirty_words(&vm->mem); i++)
		__atomic_fetch_or(&vm->mem.dirty[i], bitmap[i], __ATOMIC_RELAXED);
}

int vm_snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, bool diff,
		       char *err, size_t errlen)
{
	struct snap_writer w;
	struct stat st;
	const char *why = device_table_unsaveable(vm->cfg);

	if (why) {
		snprintf(err, errlen, "this VM cannot be snapshotted: %s", why);
		return -ENOTSUP;
	}
	if (!vm_is_paused(vm)) {
		snprintf(err, errlen, "the VM must be paused first");
		return -EAGAIN;
	}
	int r = diff ? check_diff_target(vm, mem_path, err, errlen) : 0;
	if (!r && diff) /* before the dirty log is taken */
		r = device_save_uncarried(vm, "a Diff snapshot", err, errlen);
	if (r)
		return r;
	r = snap_writer_init(&w);
	if (r) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	r = kvm_vm_flush_to_ram(&vm->kvm, err, errlen); /* in this diff's dirty log */
	if (r) {
		snap_writer_free(&w);
		return r;
	}
	uint64_t *dirty = take_dirty(vm);
	if (diff && !dirty) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (!r)
		r = collect(vm, &w, false, err, errlen);
	if (!r) /* the state file's folder takes a file: else nothing is written nor replaced */
		r = snap_probe_target(state_path, err, errlen);
	/* a Full memory file this request makes (none was there) goes again if the request fails */
	bool mem_made = !r && !diff && lstat(mem_path, &st) < 0 && errno == ENOENT;
	if (!r)
		r = snap_mem_save(&vm->mem, mem_path, diff ? dirty : NULL, err, errlen);
	mem_made = mem_made && !r;
	if (!r && vm_uffd_failed(vm, err, errlen)) /* pages it never served read as zeros */
		r = -EIO;
	if (r)
		put_back_dirty(vm, dirty);
	free(dirty);
	if (!r) /* the state last: a state file always has its memory file */
		r = snap_writer_save(&w, state_path, err, errlen);
	snap_writer_free(&w);
	if (r && mem_made && snap_remove_made(mem_path))
		log_warn("snapshot: cannot remove the memory file %s of the failed snapshot",
			 mem_path);
	if (!r)
		log_info("snapshot: state %s, memory %s", state_path, mem_path);
	return r;
}

/* ---- restoring one ---- */

/* ---- a version-1 snapshot's option strings, edited as items (base/options.h): what is written
 * back has a comma of a value as ",," ---- */

/* rec->arg made the string form of `l` (`head`: the key its first item is read as). 0 or
 * -ENOMEM. */
static int put_items(struct cli_record *rec, const struct opt_items *l, const char *head)
{
	char *arg = opt_items_string(l, head);
	if (!arg)
		return -ENOMEM;
	free(rec->arg);
	rec->arg = arg;
	return 0;
}

/* The first item of a --net argument (tap=OLD or tapfd=N) made "tap=TAP", the rest as written.
 * 0 or -ENOMEM. */
static int replace_kind(struct cli_record *rec, const char *tap)
{
	struct opt_items l = {0};
	char *kind = opt_items_add(&l, "tap", tap) ? NULL : opt_items_string(&l, NULL), *arg = NULL;
	opt_items_free(&l);
	if (kind && asprintf(&arg, "%s%s", kind, opts_item_end(rec->arg)) < 0)
		arg = NULL;
	free(kind);
	if (!arg)
		return -ENOMEM;
	free(rec->arg);
	rec->arg = arg;
	return 0;
}

/* Replaces "tap=OLD" at the start of a --net argument by "tap=NEW". */
static int override_tap(struct cli_record *rec, const char *tap)
{
	if (!tap || strncmp(rec->arg ? rec->arg : "", "tap=", 4))
		return 0;
	return replace_kind(rec, tap);
}

static int parse_options(struct snapshot_load *l, const json_t *opts, char *err, size_t errlen)
{
	size_t i;
	json_t *o;

	if (!json_is_array(opts) || json_array_size(opts) > VM_MAX_RECORDED) {
		snprintf(err, errlen, "snapshot configuration: bad option list");
		return -EINVAL;
	}
	l->options = calloc(json_array_size(opts) + 1, sizeof(*l->options));
	if (!l->options)
		return -ENOMEM;
	json_array_foreach(opts, i, o)
	{
		const json_t *name = json_array_get(o, 0), *arg = json_array_get(o, 1);
		if (!json_is_array(o) || json_array_size(o) != 2 || !json_is_string(name) ||
		    !(json_is_string(arg) || json_is_null(arg))) {
			snprintf(err, errlen, "snapshot configuration: option %zu is malformed", i);
			return -EINVAL;
		}
		struct cli_record *rec = &l->options[l->noptions++];
		rec->name = strdup(json_string_value(name));
		rec->arg = json_is_string(arg) ? strdup(json_string_value(arg)) : NULL;
		if (!rec->name || (json_is_string(arg) && !rec->arg))
			return -ENOMEM;
	}
	return 0;
}

/* Replaces every "mac=" item of a --net argument by one "mac=MAC" at its end. 0, -ENOMEM, or
 * -EINVAL with err filled (an argument opts_split() refuses). */
static int override_mac(struct cli_record *rec, const char *mac, char *err, size_t errlen)
{
	struct opt_items l;
	char *old = NULL;
	int r = opts_split(rec->arg, NULL, &l, err, errlen);
	while (!r && opt_items_take(&l, "mac", &old))
		free(old);
	if (!r)
		r = opt_items_add(&l, "mac", mac);
	if (!r)
		r = put_items(rec, &l, NULL);
	opt_items_free(&l);
	return r;
}

/* Applies NIC override `spec` to the --net option `rec` of NIC `nic`. */
static int override_nic(struct snapshot_load *l, struct cli_record *rec, int nic, const char *spec,
			char *err, size_t errlen)
{
	char *tap = NULL, *mac = NULL;
	int r = snapshot_nic_override_take(l, nic, spec, &tap, &mac, err, errlen);

	if (!r && mac)
		r = override_mac(rec, mac, err, errlen);
	/* an fd number means nothing in another process: only a tap name may replace it */
	if (!r && rec->arg && !strncmp(rec->arg, "tapfd=", 6)) {
		if (!tap) {
			snprintf(err, errlen,
				 "the snapshot's NIC %d used a tap fd: give it a tap "
				 "(--net tap=NAME, or network_overrides)",
				 nic);
			r = -EINVAL;
		} else {
			r = replace_kind(rec, tap);
		}
	} else if (!r) {
		r = override_tap(rec, tap);
	}
	free(tap);
	free(mac);
	return r;
}

/* True when override `o` is for saved NIC number `nic`, whose --net argument is `arg`. */
static bool override_for(const struct snapshot_nic_override *o, int nic, const char *arg)
{
	char id[DEVICE_SAVE_ID_MAX], fallback[16];

	if (!o->id)
		return o->index == nic;
	if (device_save_option_id("net", arg ? arg : "", id, sizeof(id)))
		return false; /* cli_replay() reports it (or a vhost-user NIC's has no such id) */
	snprintf(fallback, sizeof(fallback), "net%d", nic);
	return !strcmp(o->id, id[0] ? id : fallback);
}

/* Applies the overrides to the saved --net options; each must find its NIC. */
static int override_nics(struct snapshot_load *l, const struct snapshot_nic_override *nics,
			 int nnics, char *err, size_t errlen)
{
	bool used[VM_MAX_NICS] = {false};
	int r = 0, nic = 0;

	if (nnics > VM_MAX_NICS) {
		snprintf(err, errlen, "network overrides: more than %d", VM_MAX_NICS);
		return -EINVAL;
	}
	for (int i = 0; !r && i < l->noptions; i++) {
		struct cli_record *rec = &l->options[i];
		if (strcmp(rec->name, "net"))
			continue;
		if (nic >= VM_MAX_NICS) {
			snprintf(err, errlen, "snapshot configuration: too many NICs");
			return -EINVAL;
		}
		const char *spec = NULL;
		for (int k = 0; k < nnics; k++) {
			if (used[k] || !override_for(&nics[k], nic, rec->arg))
				continue;
			spec = nics[k].spec;
			used[k] = true;
			break;
		}
		r = override_nic(l, rec, nic, spec, err, errlen);
		nic++;
	}
	return r ? r : snapshot_nic_overrides_unused(nics, nnics, used, nic, err, errlen);
}

/* Gives the first "KEY=" item of `rec`'s argument the value `value` (the item added when
 * missing); `head` is the key its first item is read as (a --disk's PATH: "path"), NULL: none.
 * 0, -ENOMEM, or -EINVAL with err filled (an argument opts_split() refuses). */
static int replace_item(struct cli_record *rec, const char *head, const char *key,
			const char *value, char *err, size_t errlen)
{
	struct opt_items l;
	int r = opts_split(rec->arg, head, &l, err, errlen);
	if (!r)
		r = opt_items_set(&l, key, value);
	if (!r)
		r = put_items(rec, &l, head);
	opt_items_free(&l);
	return r;
}

/* Whether path override `o` is for the `n`-th saved device of its option, whose id= is `id`
 * (`parsed` 0; else its option refused it: cli_replay() reports it). */
static bool path_override_for(const struct snapshot_path_override *o, int parsed, const char *id,
			      int n)
{
	char fallback[16];

	if (!o->id)
		return o->index == n;
	if (strcmp(o->option, "disk")) /* the vsock: "" finds it whatever it is */
		return !o->id[0] || (!parsed && !strcmp(o->id, id));
	if (parsed)
		return false;
	snprintf(fallback, sizeof(fallback), "drive%d", n);
	return !strcmp(o->id, id[0] ? id : fallback);
}

/* The saved option path override `o` is for: a "disk" (not vhost-user: its device has no
 * option_id, device_save_option_id() -ENOENT) or the "vsock". */
static struct cli_record *path_override_target(struct snapshot_load *l,
					       const struct snapshot_path_override *o)
{
	int n = 0;

	for (int i = 0; i < l->noptions; i++) {
		struct cli_record *rec = &l->options[i];
		char id[DEVICE_SAVE_ID_MAX] = "";
		if (strcmp(rec->name, o->option))
			continue;
		int parsed =
		    device_save_option_id(rec->name, rec->arg ? rec->arg : "", id, sizeof(id));
		if (parsed == -ENOENT)
			continue;
		if (path_override_for(o, parsed, id, n++))
			return rec;
	}
	return NULL;
}

/* A "firmware" or "firmware-vars" override (`option`): every saved --OPTION gets `path` (the
 * last one is the one in effect, and none of them may name what the operator did not allow). */
static int override_firmware(struct snapshot_load *l, const char *option, const char *path,
			     char *err, size_t errlen)
{
	int n = 0;

	for (int i = 0; i < l->noptions; i++) {
		struct cli_record *rec = &l->options[i];
		if (strcmp(rec->name, option))
			continue;
		char *copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		free(rec->arg);
		rec->arg = copy;
		n++;
	}
	if (!n) {
		snprintf(err, errlen, "%s override: the snapshot boots no %s", option,
			 strcmp(option, "firmware") ? "firmware with a variable store"
						    : "firmware");
		return -EINVAL;
	}
	return 0;
}

/* Applies the path overrides to the saved options; each must find its device. */
static int override_paths(struct snapshot_load *l, const struct snapshot_overrides *ov, char *err,
			  size_t errlen)
{
	for (int k = 0; ov && k < ov->npaths; k++) {
		const struct snapshot_path_override *o = &ov->paths[k];
		if ((!strcmp(o->option, "firmware") || !strcmp(o->option, "firmware-vars")) &&
		    o->path[0]) {
			int r = override_firmware(l, o->option, o->path, err, errlen);
			if (r)
				return r;
			continue;
		}
		bool disk = !strcmp(o->option, "disk");
		if (l->devices)
			continue; /* version 2: the records' (snapshot_records_override_paths()) */
		if ((!disk && strcmp(o->option, "vsock")) || !o->path[0]) {
			/* a comma in it is written ",," where it goes (replace_item()) */
			snprintf(err, errlen, "%s override `%s`: want a disk's or the vsock's path",
				 o->option, o->path);
			return -EINVAL;
		}
		struct cli_record *rec = path_override_target(l, o);
		if (!rec && !disk)
			snprintf(err, errlen, "vsock override: the snapshot has no vsock%s%s",
				 o->id && o->id[0] ? " " : "", o->id ? o->id : "");
		else if (!rec && o->id)
			snprintf(err, errlen, "%s override: the snapshot has no %s `%s`", o->option,
				 disk ? "drive" : "vsock", o->id);
		else if (!rec)
			snprintf(err, errlen, "%s override %d: the snapshot has no %s %d",
				 o->option, o->index, disk ? "disk" : "vsock", o->index);
		if (!rec)
			return -EINVAL;
		int r = replace_item(rec, disk ? "path" : NULL, disk ? "path" : "uds", o->path, err,
				     errlen);
		if (r)
			return r;
	}
	return 0;
}

/* The configuration section of a state (NULL: none), parsed; its version checked. */
static json_t *config_of(const char *text, size_t len, char *err, size_t errlen)
{
	json_t *j = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_int_t v = json_integer_value(json_object_get(j, "version"));

	if (!j || (v != CONFIG_VERSION && v != CONFIG_VERSION_OPTIONS)) {
		snprintf(err, errlen, "snapshot has no readable configuration (version %d or %d)",
			 CONFIG_VERSION_OPTIONS, CONFIG_VERSION);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* True when option `name` (argument `arg`) is a device's whose record says it (version 2). */
static bool in_records(const char *name, const char *arg)
{
	const struct device_desc *d = device_table_option_owner(name, arg);
	return d && device_record_known(d);
}

/* Version 2: the core's options and the devices' records, apart (no device option among the
 * options: a record must say it, where its paths are checked the same way). */
static int read_records(struct snapshot_load *l, json_t *j, char *err, size_t errlen)
{
	json_t *devices = json_object_get(j, "devices");
	for (int i = 0; i < l->noptions; i++) {
		if (in_records(l->options[i].name, l->options[i].arg)) {
			snprintf(err, errlen,
				 "snapshot configuration: --%s is a device's option: its record "
				 "belongs in \"devices\"",
				 l->options[i].name);
			return -EINVAL;
		}
	}
	if (!json_is_object(devices)) {
		snprintf(err, errlen, "snapshot configuration: \"devices\" is not an object");
		return -EINVAL;
	}
	l->devices = json_deep_copy(devices);
	return l->devices ? 0 : -ENOMEM;
}

static int read_config(struct snapshot_load *l, const char *text, size_t len,
		       const struct snapshot_overrides *ov, char *err, size_t errlen)
{
	json_t *j = config_of(text, len, err, errlen);
	if (!j)
		return -EINVAL;
	int r = parse_options(l, json_object_get(j, "options"), err, errlen);
	bool records = json_integer_value(json_object_get(j, "version")) == CONFIG_VERSION;
	if (!r && records)
		r = read_records(l, j, err, errlen);
	json_decref(j);
	const struct snapshot_nic_override *nics = ov ? ov->nics : NULL;
	int nnics = ov ? ov->nnics : 0;
	if (!r)
		r = records
			? snapshot_records_override_nics(l, l->devices, nics, nnics, err, errlen)
			: override_nics(l, nics, nnics, err, errlen);
	if (!r && records)
		r = snapshot_records_override_paths(l->devices, ov, err, errlen);
	return r ? r : override_paths(l, ov, err, errlen);
}

/* The saved configuration into `cfg`: the options replayed, then (version 2) the devices'
 * records added; a passed-through device, which no snapshot carries, refused. */
static int replay(struct snapshot_load *l, struct vm_config *cfg, char *err, size_t errlen)
{
	char why[512];
	int r = cli_replay(cfg, l->options, l->noptions, err, errlen);
	if (!r && l->devices) {
		r = device_records_load(cfg, l->devices, why, sizeof(why));
		if (r)
			snprintf(err, errlen, "snapshot configuration: devices: %s", why);
	}
	if (!r && device_table_passes_through(cfg)) {
		snprintf(err, errlen,
			 "snapshot configuration: a passed-through device (--device "
			 "vfio=) cannot be restored");
		r = -EINVAL;
	}
	return r;
}

/* The replayed configuration's host paths and taps against what the operator allowed: the
 * folder `dir` (NULL: a migration, whose source's taps are taken), the overrides `ov`, and the
 * process's --landlock-rules (restore_paths.h). */
static int check_paths(const struct vm_config *cfg, const char *dir,
		       const struct snapshot_overrides *ov, char *err, size_t errlen)
{
	const char *paths[VM_MAX_DISKS + 2], *taps[VM_MAX_NICS];
	char *tapbuf[VM_MAX_NICS] = {NULL};
	struct restore_allow a = {.dir = dir,
				  .rules = cfg->landlock_rules,
				  .paths = paths,
				  .taps = (const char *const *)taps,
				  .any_tap = !dir};
	int r = 0;

	for (int k = 0; ov && k < ov->npaths && a.npaths < (int)(sizeof(paths) / sizeof(paths[0]));
	     k++)
		paths[a.npaths++] = ov->paths[k].path;
	for (int k = 0; !r && ov && k < ov->nnics && k < VM_MAX_NICS; k++) {
		char *mac = NULL;
		if (!ov->nics[k].spec)
			continue;
		r = snapshot_nic_override_split(ov->nics[k].spec, &tapbuf[a.ntaps], &mac, err,
						errlen);
		free(mac);
		if (!r && tapbuf[a.ntaps]) {
			taps[a.ntaps] = tapbuf[a.ntaps];
			a.ntaps++;
		}
	}
	if (!r)
		r = restore_paths_check(cfg, &a, err, errlen);
	for (int k = 0; k < VM_MAX_NICS; k++)
		free(tapbuf[k]);
	return r;
}

/* The saved MMDS state, checked, kept in l->mmds for snapshot_restore(); the replayed NICs its
 * configuration names (by id, or netN) answer MMDS. Without an MMDS here (cfg->mmds NULL: no
 * API) the section is ignored. */
static int read_mmds(struct snapshot_load *l, struct vm_config *cfg, char *err, size_t errlen)
{
	size_t len;
	const char *text = snap_get(&l->reader, SNAP_MMDS, 0, &len);

	if (!text || !cfg->mmds)
		return 0;
	l->mmds = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!l->mmds) {
		snprintf(err, errlen, "snapshot MMDS state: not JSON");
		return -EINVAL;
	}
	return device_save_mmds_check(cfg, l->mmds, err, errlen);
}

/* The configuration `text` into `cfg`, its paths checked (check_paths(), `dir`). */
static int replay_config(struct snapshot_load *l, const char *text, size_t len,
			 struct vm_config *cfg, const struct snapshot_overrides *ov,
			 const char *dir, char *err, size_t errlen)
{
	struct vm_config saved = *cfg; /* how this process runs stays as given */
	int r = read_config(l, text, len, ov, err, errlen);
	if (!r)
		r = replay(l, cfg, err, errlen);
	/* how this process runs stays as its command line said (never from the file) */
	cfg->api_sock = saved.api_sock;
	cfg->config_file = saved.config_file;
	cfg->kvm_path = saved.kvm_path;
	cfg->cpu_check_off = saved.cpu_check_off;
	cfg->verbosity = saved.verbosity;
	cfg->restore = saved.restore;
	cfg->seccomp = saved.seccomp;
	cfg->switch_user = saved.switch_user;
	cfg->uid = saved.uid;
	cfg->gid = saved.gid;
	cfg->mmds = saved.mmds;
	cfg->landlock_off = saved.landlock_off;
	cfg->landlock_rules = saved.landlock_rules;
	return r ? r : check_paths(cfg, dir, ov, err, errlen);
}

/* The configuration of the state in l->reader into `cfg`, and its MMDS state. */
static int open_config(struct snapshot_load *l, struct vm_config *cfg,
		       const struct snapshot_overrides *ov, const char *dir, char *err,
		       size_t errlen)
{
	size_t len = 0;
	const char *text = snap_get(&l->reader, SNAP_CONFIG, 0, &len);
	int r = replay_config(l, text, len, cfg, ov, dir, err, errlen);
	return r ? r : read_mmds(l, cfg, err, errlen);
}

int snapshot_open_config(struct snapshot_load *l, const char *config, struct vm_config *cfg,
			 char *err, size_t errlen)
{
	*l = (struct snapshot_load){.mem_fd = -1};
	return replay_config(l, config, strlen(config), cfg, NULL, NULL, err, errlen);
}

/* The state's configuration is `config`: the same bytes when both come from one VMM (one
 * serialisation), else the same JSON. */
static bool same_config(const char *text, size_t n, const char *config, char *err, size_t errlen)
{
	if (text && n == strlen(config) && !memcmp(text, config, n))
		return true;
	json_t *now = config_of(text, n, err, errlen);
	json_t *then = now ? config_of(config, strlen(config), err, errlen) : NULL;
	bool same = now && then && json_equal(now, then);
	json_decref(now);
	json_decref(then);
	return same;
}

int snapshot_attach_state(struct snapshot_load *l, struct snap_reader *parsed, const char *config,
			  struct vm_config *cfg, char *err, size_t errlen)
{
	l->reader = *parsed;
	memset(parsed, 0, sizeof(*parsed));
	size_t n = 0;
	const char *text = snap_get(&l->reader, SNAP_CONFIG, 0, &n);
	err[0] = 0;
	int r = cpu_check_reader(&l->reader, "the migrated state", cfg->kvm_path,
				 !cfg->cpu_check_off, err, errlen);
	if (r)
		return r;
	if (!same_config(text, n, config, err, errlen)) {
		if (!err[0])
			snprintf(
			    err, errlen,
			    "the VM's configuration changed during the migration (a device added "
			    "or changed through the API?): try again");
		return -EINVAL;
	}
	return read_mmds(l, cfg, err, errlen);
}

/* The folder of the state file `state_path` in out[len]: what a restore's paths may be under. */
static void folder_of(const char *state_path, char *out, size_t len)
{
	const char *slash = strrchr(state_path, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == state_path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - state_path), state_path);
}

int snapshot_open(struct snapshot_load *l, const char *state_path, const char *mem_path,
		  struct vm_config *cfg, const struct snapshot_overrides *ov, char *err,
		  size_t errlen)
{
	char dir[4096];

	*l = (struct snapshot_load){.mem_fd = -1};
	folder_of(state_path, dir, sizeof(dir));
	/* From here on, every host_path_open() of a path beneath the folder (the state file
	 * itself, the memory file, the working set, a disk, the console file...) is made beneath
	 * it, following no symbolic link inside it (base/host_path.h rule 6): the folder's
	 * contents are the snapshot's, as hostile as its configuration. Undone when the restore
	 * fails (ctl_restore_vm()). */
	char why[HOST_PATH_ERR_MAX];
	int r = host_path_confine(dir, why, sizeof(why));
	if (r) /* no such folder: said as the state file's problem, as snap_open() would */
		snprintf(err, errlen, "%s: %s", state_path, why);
	if (!r)
		r = snap_open(&l->reader, state_path, err, errlen);
	if (!r)
		r = open_config(l, cfg, ov, dir, err, errlen);
	/* before anything is built (after the configuration's own errors): a host that lacks a
	 * feature the guest saw is refused */
	if (!r)
		r = cpu_check_reader(&l->reader, state_path, cfg->kvm_path, !cfg->cpu_check_off,
				     err, errlen);
	/* mem_path NULL: a page-fault handler has the memory (vmm/snapshot/vm_uffd.h) */
	if (!r && mem_path)
		r = snap_mem_open(mem_path, cfg->mem_size, device_save_mem_beyond(cfg), &l->mem_fd,
				  err, errlen);
	return r;
}

/* The bytes of the virtio-mem blocks the device state plugged again (vm_devices_restore()) come
 * from the memory file; a Uffd handler's region list and a migration's pre-copy have RAM only. */
static int restore_plugged_memory(struct vm *vm, void *opaque, char *err, size_t errlen)
{
	const struct snapshot_load *l = opaque;
	uint64_t plugged = snap_memhp_plugged(&vm->mem);

	if (!plugged)
		return 0;
	if (l->mem_fd < 0) {
		snprintf(err, errlen,
			 "the snapshot has %llu MiB of hotplugged memory plugged, which %s cannot "
			 "restore yet: load it with a memory file (File backend)",
			 (unsigned long long)(plugged >> 20),
			 vm->uffd ? "a page-fault handler (Uffd)" : "a migration");
		return -EINVAL;
	}
	return snap_memhp_load(&vm->mem, l->mem_fd, err, errlen);
}

int snapshot_restore(struct vm *vm, struct snapshot_load *l, char *err, size_t errlen)
{
	int fds[VM_MAX_CPUS];
	int r = kvm_vm_restore(&vm->kvm, fds, vcpu_fds(vm, fds), snap_get, &l->reader,
			       l->clock_realtime, err, errlen);
	for (unsigned i = 0; !r && i < vm->ncpus; i++)
		r = kvm_vcpu_restore(vm->kvm.dev_fd, vm->vcpus[i].fd, i, snap_get, &l->reader, err,
				     errlen);
	if (!r)
		r = kvm_vm_restore_late(&vm->kvm, fds, vm->ncpus, snap_get, &l->reader,
					l->clock_realtime, err, errlen);
	if (!r)
		cpu_check_note_restored(vm, &l->reader);
	if (!r)
		r = vm_devices_restore(vm, snap_get, &l->reader, restore_plugged_memory, l, err,
				       errlen);
	if (!r)
		device_save_set_macs(vm, l->mac_set, (const uint8_t(*)[6])l->mac, VM_MAX_NICS);
	if (!r && l->mmds && vm->cfg->mmds)
		r = device_save_mmds_load(vm->cfg, l->mmds, err, errlen);
	return r;
}

int vm_snapshot_new_generation(struct vm *vm, char *err, size_t errlen)
{
	int r = vm_devices_new_generation(vm);
	if (r) {
		snprintf(err, errlen, "cannot give the VM a new generation ID: %s", strerror(-r));
		return r;
	}
	return device_save_new_generation(vm);
}

void snapshot_close(struct snapshot_load *l)
{
	snap_close(&l->reader);
	if (l->mem_fd >= 0)
		close(l->mem_fd);
	for (int i = 0; l->options && i < l->noptions; i++) {
		free(l->options[i].name);
		free(l->options[i].arg);
	}
	free(l->options);
	json_decref(l->devices);
	json_decref(l->mmds);
	*l = (struct snapshot_load){.mem_fd = -1};
}
