/* Snapshot and restore of a whole VM. See snapshot.h. */
#include "vmm/snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/base/snapshot_io.h"
#include "vmm/kvm/kvm_state.h"
#include "vmm/snapshot/snap_mem.h"
#include "vmm/vm.h"
#include "vmm/vm_pause.h"
#include "vmm/vm_snapshot_devices.h"

#define CONFIG_VERSION 1

/* ---- taking one ---- */

static json_t *config_json(const struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	json_t *opts = json_array();
	for (int i = 0; i < cfg->nrecorded; i++) {
		const struct cli_record *r = &cfg->recorded[i];
		json_array_append_new(opts, json_pack("[s, s?]", r->name, r->arg));
	}
	return json_pack("{s:i, s:I, s:i, s:o}", "version", CONFIG_VERSION, "mem_size",
			 (json_int_t)vm->mem.ram_size, "vcpus", (int)vm->ncpus, "options", opts);
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

static int collect(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	int r = put_json(w, SNAP_CONFIG, config_json(vm));
	if (!r)
		r = put_json(w, SNAP_INFO, info_json(vm));
	if (r) {
		snprintf(err, errlen, "cannot describe the VM: %s", strerror(-r));
		return r;
	}
	r = kvm_vm_save(vm->kvm.vm_fd, snap_put, w, err, errlen);
	for (unsigned i = 0; !r && i < vm->ncpus; i++)
		r = kvm_vcpu_save(vm->kvm.dev_fd, vm->vcpus[i].fd, i, snap_put, w, err, errlen);
	if (!r)
		r = vm_devices_save(vm, snap_put, w, err, errlen);
	return r;
}

int vm_snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, char *err,
		       size_t errlen)
{
	struct snap_writer w;

	if (!vm_is_paused(vm)) {
		snprintf(err, errlen, "the VM must be paused first");
		return -EAGAIN;
	}
	int r = snap_writer_init(&w);
	if (r) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	r = collect(vm, &w, err, errlen);
	if (!r)
		r = snap_mem_save(&vm->mem, mem_path, NULL, err, errlen);
	if (!r) /* the state last: a state file always has its memory file */
		r = snap_writer_save(&w, state_path, err, errlen);
	snap_writer_free(&w);
	if (!r)
		log_info("snapshot: state %s, memory %s", state_path, mem_path);
	return r;
}

/* ---- restoring one ---- */

/* Replaces "tap=OLD" at the start of a --net argument by "tap=NEW". */
static int override_tap(struct cli_record *rec, const char *tap)
{
	if (!tap || strncmp(rec->arg ? rec->arg : "", "tap=", 4))
		return 0;
	const char *rest = strchr(rec->arg, ',');
	char *arg;
	if (asprintf(&arg, "tap=%s%s", tap, rest ? rest : "") < 0)
		return -ENOMEM;
	free(rec->arg);
	rec->arg = arg;
	return 0;
}

static int parse_options(struct snapshot_load *l, const json_t *opts, char *err, size_t errlen)
{
	size_t i;
	json_t *o;

	if (!json_is_array(opts) || json_array_size(opts) > CLI_MAX_RECORDED) {
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

static int read_config(struct snapshot_load *l, const struct vm_config *cfg_cli,
		       const char *const *taps, int ntaps, char *err, size_t errlen)
{
	size_t len;
	const char *text = snap_get(&l->reader, SNAP_CONFIG, 0, &len);
	json_t *j = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	int r = 0;

	(void)cfg_cli;
	if (!j || json_integer_value(json_object_get(j, "version")) != CONFIG_VERSION) {
		snprintf(err, errlen, "snapshot has no readable configuration (version %d)",
			 CONFIG_VERSION);
		json_decref(j);
		return -EINVAL;
	}
	r = parse_options(l, json_object_get(j, "options"), err, errlen);
	json_decref(j);
	for (int i = 0, nic = 0; !r && i < l->noptions; i++) {
		if (strcmp(l->options[i].name, "net"))
			continue;
		r = override_tap(&l->options[i], nic < ntaps ? taps[nic] : NULL);
		nic++;
	}
	return r;
}

int snapshot_open(struct snapshot_load *l, const char *state_path, const char *mem_path,
		  struct vm_config *cfg, const char *const *taps, int ntaps, char *err,
		  size_t errlen)
{
	*l = (struct snapshot_load){.mem_fd = -1};
	int r = snap_open(&l->reader, state_path, err, errlen);
	if (r)
		return r;
	struct vm_config saved = *cfg; /* how this process runs stays as given */
	r = read_config(l, cfg, taps, ntaps, err, errlen);
	if (!r)
		r = cli_replay(cfg, l->options, l->noptions, err, errlen);
	cfg->api_sock = saved.api_sock;
	cfg->kvm_path = saved.kvm_path;
	cfg->verbosity = saved.verbosity;
	cfg->restore = saved.restore;
	if (!r)
		r = snap_mem_open(mem_path, cfg->mem_size, &l->mem_fd, err, errlen);
	return r;
}

int snapshot_restore(struct vm *vm, struct snapshot_load *l, char *err, size_t errlen)
{
	int r = kvm_vm_restore(vm->kvm.vm_fd, snap_get, &l->reader, err, errlen);
	for (unsigned i = 0; !r && i < vm->ncpus; i++)
		r = kvm_vcpu_restore(vm->kvm.dev_fd, vm->vcpus[i].fd, i, snap_get, &l->reader, err,
				     errlen);
	if (!r)
		r = vm_devices_restore(vm, snap_get, &l->reader, err, errlen);
	return r;
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
	*l = (struct snapshot_load){.mem_fd = -1};
}
