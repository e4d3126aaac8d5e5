/* libFuzzer target: the API's request layer (vmm/api/api_router.c, api_model.c, api_json.c)
 * with a fake backend whose calls fail when the input says so. The input is a series of
 * requests, each: one byte choosing the method, the path up to '\n', the body up to a 0xff byte
 * (or the end); the last request's text is also loaded as a whole config file. Invariants: every
 * answer has a known status; 200 carries a JSON document and every error a JSON object with a
 * string fault_message; the state only moves as the router's rules allow (a VM starts at most
 * once, and only after a kernel was configured; pause/resume/stop only after the start); a
 * file the backend's check refuses (PUT /boot-source, /drives) answers 400 and changes no
 * model; a snapshot load and PUT /metrics reach the backend with sane arguments. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/balloon/balloon.h"
#include "virtio/core/rate_limiter.h"
#include "virtio/mem/mem.h"
#include "vmm/api/api_logger.h"
#include "vmm/api/api_router.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_live.h"
#include "vmm/migration/stream/mig_send.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz_in *cur; /* the input, for the fake backend's verdicts */
static int started;

static int verdict(void)
{
	static const int errs[] = {0, 0, 0, -EINVAL, -EIO, -ETIMEDOUT, -ENOMEM, -EAGAIN};
	return errs[fz_u8(cur) % 8];
}

static int f_start(void *c, const struct api_model *m, char *err, size_t n)
{
	(void)c;
	FZ_ASSERT(m->kernel && m->kernel[0], "started without a kernel");
	int r = verdict();
	if (r)
		snprintf(err, n, "fake failure");
	started += !r;
	return r;
}
/* The host file checks of PUT /boot-source and PUT /drives: the input decides; a refusal must
 * answer 400 and leave the model as it was (one_request()). */
static bool check_refused;
static int f_check(int r, char *err, size_t n)
{
	if (r)
		snprintf(err, n, "fake: no such file");
	check_refused |= r != 0;
	return r;
}
static int f_check_boot(void *c, const char *kernel, const char *initrd, char *err, size_t n)
{
	(void)c;
	FZ_ASSERT(kernel && kernel[0] && (!initrd || initrd[0]), "an empty path to check");
	return f_check(verdict(), err, n);
}
static int f_check_drive(void *c, const char *path, bool ro, char *err, size_t n)
{
	(void)c, (void)ro;
	FZ_ASSERT(path && path[0], "a drive path the model refuses");
	return f_check(verdict(), err, n);
}
static int f_op(void *c)
{
	(void)c;
	FZ_ASSERT(started == 1, "a run-time action before the start");
	return verdict();
}
static int f_stop(void *c, unsigned ms)
{
	(void)c, (void)ms;
	return f_op(NULL);
}
static int f_patch(void *c, int i, const char *path, char *err, size_t n)
{
	(void)c, (void)err, (void)n;
	FZ_ASSERT(i >= 0 && i < API_MAX_DRIVES && path, "patch of drive %d", i);
	return f_op(NULL);
}
static int f_set_metrics(void *c, const char *path, const char *id, const json_t *properties,
			 char *err, size_t n)
{
	(void)c, (void)err, (void)n;
	FZ_ASSERT(path && path[0], "metrics without a path");
	FZ_ASSERT(!id || id[0], "an empty instance id");
	FZ_ASSERT(!properties || json_is_object(properties), "properties that are no object");
	return verdict();
}
static int f_flush(void *c)
{
	(void)c;
	return verdict();
}
static json_t *f_metrics(void *c)
{
	(void)c;
	return fz_u8(cur) & 1 ? NULL : json_pack("{s:[], s:[]}", "devices", "vcpus");
}

static int f_snap_create(void *c, const char *state, const char *mem, bool diff, char *err,
			 size_t n)
{
	(void)state, (void)mem, (void)diff, (void)err, (void)n;
	return f_op(c);
}
static int f_snap_load(void *c, const struct api_snapshot_load *p, char *err, size_t n)
{
	(void)c, (void)err, (void)n;
	FZ_ASSERT(p->nnics >= 0 && p->nnics <= API_MAX_NICS, "%d taps", p->nnics);
	FZ_ASSERT(p->npaths >= 0 && p->npaths <= API_MAX_DRIVES + 1, "%d path overrides",
		  p->npaths);
	for (int i = 0; i < p->npaths; i++)
		FZ_ASSERT(p->paths[i].option && p->paths[i].id && p->paths[i].path,
			  "path override %d incomplete", i);
	FZ_ASSERT(p->state_path && p->mem_path, "a load without its files");
	FZ_ASSERT(p->track_dirty != API_LOAD_AS_SAVED, "track_dirty_pages is the request's");
	int r = verdict();
	started += !r;
	return r;
}

/* A device's PUT, what it names on the host (a tap, a vsock's folder, a pmem file, the serial
 * output): the input decides, as for the files above. */
static int f_check_device(void *c, const struct device_desc *d, const json_t *doc, char *err,
			  size_t n)
{
	(void)c;
	FZ_ASSERT(d && d->api && json_is_object(doc), "a device check without its document");
	return f_check(verdict(), err, n);
}

/* PUT /logger: the body is checked as the real backend would, but the process's log is left
 * alone. */
static int f_set_logger(void *c, const json_t *body, char *err, size_t n)
{
	(void)c;
	int r = api_logger_check(body, NULL, err, n);
	return r ? r : verdict();
}

/* PATCH /drives and /network-interfaces rate limiters: the patch must name a bucket, and the
 * limits in force after it are the patched ones. */
static int f_patch_rl(const struct rate_limiter_patch *p, struct rate_limiter_cfg *now)
{
	int r = verdict();
	if (!r && p) {
		*now = (struct rate_limiter_cfg){0};
		rate_limiter_cfg_patch(now, p);
	}
	return r;
}
static int f_patch_drive_rl(void *c, int i, const struct rate_limiter_patch *p,
			    struct rate_limiter_cfg *now, char *err, size_t n)
{
	(void)c, (void)err, (void)n;
	FZ_ASSERT(i >= 0 && i < API_MAX_DRIVES, "drive %d", i);
	FZ_ASSERT(rate_limiter_patch_any(p), "a drive rate-limiter patch naming no bucket");
	return f_patch_rl(p, now);
}
static int f_patch_nic_rl(void *c, int i, const struct rate_limiter_patch *rx,
			  const struct rate_limiter_patch *tx, struct rate_limiter_cfg *rx_now,
			  struct rate_limiter_cfg *tx_now, char *err, size_t n)
{
	(void)c, (void)err, (void)n;
	FZ_ASSERT(i >= 0, "nic %d", i);
	int r = f_patch_rl(rx, rx_now);
	return r ? r : f_patch_rl(tx, tx_now);
}
/* A balloon and a virtio-mem device, or none (-ENODEV), as the input says. */
static int f_balloon_info(void *c, struct virtio_balloon_info *info)
{
	(void)c;
	if (fz_u8(cur) % 4 == 0)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	info->target_pages = fz_u16(cur);
	info->actual_pages = fz_u16(cur);
	info->stats_interval_s = fz_u8(cur);
	info->stats_seen = fz_bool(cur);
	for (int i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
		info->stat_valid[i] = fz_bool(cur);
		info->stats[i] = i % 2 ? fz_u64(cur) : fz_u16(cur);
	}
	return verdict();
}
static int f_balloon_set(void *c, uint64_t v, char *err, size_t n)
{
	(void)c, (void)v;
	int r = verdict();
	if (r)
		snprintf(err, n, "fake balloon failure");
	return r;
}
static int f_memhp_info(void *c, struct virtio_mem_info *info)
{
	(void)c;
	if (fz_u8(cur) % 4 == 0)
		return -ENODEV;
	*info = (struct virtio_mem_info){.block_size = 2u << 20, .region_size = 256u << 20};
	info->plugged_size = (uint64_t)fz_u8(cur) << 21;
	info->requested_size = (uint64_t)fz_u8(cur) << 21;
	return verdict();
}
/* The backend's live calls (api_backend_ops.live_get, live_set) to the fakes above; the
 * documents are the descriptors' (dev_live.h). */
static int f_live_get(void *c, const struct device_desc *d, const char *view, json_t **doc)
{
	struct virtio_balloon_info b;
	struct virtio_mem_info m;
	if (!strcmp(d->name, "balloon")) {
		int r = f_balloon_info(c, &b);
		return r ? r : dev_balloon_live_doc(&b, view, doc);
	}
	FZ_ASSERT(!strcmp(d->name, "memory-hotplug"), "a live document of %s", d->name);
	int r = f_memhp_info(c, &m);
	return r ? r : dev_memhp_live_doc(&m, view, doc);
}
static int f_live_set(void *c, const struct device_desc *d, int i, struct device_live_set *s,
		      char *err, size_t n)
{
	if (!strcmp(s->member, "path_on_host"))
		return f_patch(c, i, s->str, err, n);
	if (!strcmp(s->member, "rate_limiter"))
		return f_patch_drive_rl(c, i, s->rl[0], s->rl_now[0], err, n);
	if (!strcmp(s->member, "rate_limiters"))
		return f_patch_nic_rl(c, i, s->rl[0], s->rl[1], s->rl_now[0], s->rl_now[1], err, n);
	FZ_ASSERT(!strcmp(d->name, "balloon") || !strcmp(d->name, "memory-hotplug"),
		  "a live change of %s", d->name);
	return f_balloon_set(c, s->num, err, n);
}
/* Live migration: a send must carry a URL; progress of one that may or may not have run. */
static int f_mig_send(void *c, const struct api_send_migration *p, char *err, size_t n)
{
	(void)c;
	FZ_ASSERT(p->url && p->url[0], "a migration without a URL");
	int r = verdict();
	if (r)
		snprintf(err, n, "fake migration failure");
	return r;
}
static int f_mig_progress(void *c, struct mig_progress *p, char *err, size_t n)
{
	(void)c, (void)err, (void)n;
	if (fz_u8(cur) % 4 == 0)
		return -ENOENT;
	memset(p, 0, sizeof(*p));
	p->phase = (enum mig_phase)(fz_u8(cur) % (MIG_PHASE_CANCELLED + 1));
	p->rounds = fz_u8(cur);
	p->bytes = fz_u32(cur);
	return verdict();
}
/* A cancel may come at any time (before start it finds no migration: -ENOENT, a 400). */
static int f_mig_cancel(void *c)
{
	(void)c;
	return fz_u8(cur) % 2 ? -ENOENT : verdict();
}
static int f_mig_receive(void *c, const char *url, char *err, size_t n)
{
	(void)c;
	FZ_ASSERT(url && url[0], "a receive without a URL");
	int r = f_balloon_set(c, 0, err, n);
	started += !r; /* a received VM is a started one, as after a snapshot load */
	return r;
}
static unsigned counted;
static void f_count(void *c, unsigned status)
{
	(void)c, (void)status;
	counted++;
}
static const struct api_backend_ops ops = {.set_logger = f_set_logger,
					   .snapshot_create = f_snap_create,
					   .snapshot_load = f_snap_load,
					   .start = f_start,
					   .check_boot_source = f_check_boot,
					   .check_drive = f_check_drive,
					   .check_device = f_check_device,
					   .pause = f_op,
					   .resume = f_op,
					   .ctrl_alt_del = f_op,
					   .power_button = f_op,
					   .stop = f_stop,
					   .set_metrics = f_set_metrics,
					   .flush_metrics = f_flush,
					   .metrics = f_metrics,
					   .live_get = f_live_get,
					   .live_set = f_live_set,
					   .count_request = f_count,
					   .migrate_send = f_mig_send,
					   .migrate_progress = f_mig_progress,
					   .migrate_cancel = f_mig_cancel,
					   .migrate_receive = f_mig_receive};

static void check_answer(const struct api_response *r)
{
	static const unsigned ok[] = {200, 204, 400, 404, 405, 413, 500};
	bool known = false;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		known |= r->status == ok[i];
	FZ_ASSERT(known, "status %u", r->status);
	FZ_ASSERT((r->status == 204) == (r->body == NULL), "status %u with body %p", r->status,
		  (void *)r->body);
	if (!r->body)
		return;
	json_t *j = json_loads(r->body, 0, NULL);
	FZ_ASSERT(j, "answer is not JSON: %s", r->body);
	if (r->status >= 400)
		FZ_ASSERT(json_is_string(json_object_get(j, "fault_message")), "no fault: %s",
			  r->body);
	json_decref(j);
}

/* Copies the next `stop`-terminated run of the input into a fresh NUL-terminated string. */
static char *take_until(struct fz_in *in, uint8_t stop, size_t *len)
{
	const uint8_t *p = in->data + in->pos;
	size_t n = 0, left = fz_left(in), got;
	while (n < left && p[n] != stop)
		n++;
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	fz_take(in, n < left ? n + 1 : n, &got);
	*len = n;
	return s;
}

static void one_request(struct api *a, struct fz_in *in, char **last_body, size_t *last_len)
{
	static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE", "POST", "put"};
	const char *m = methods[fz_u8(in) % 6];
	size_t plen, blen;
	char *path = take_until(in, '\n', &plen);
	char *body = take_until(in, 0xff, &blen);
	struct api_response r;
	int before = started;
	const char *kernel = a->model.kernel, *initrd = a->model.initrd;
	const json_t *drives[API_MAX_DRIVES];
	int ndrives = api_model_count(&a->model, &dev_disk_api);

	for (int i = 0; i < ndrives && i < API_MAX_DRIVES; i++)
		drives[i] = api_model_drive(&a->model, i);
	check_refused = false;
	api_handle(a, m, path, body, blen, &r);
	check_answer(&r);
	if (check_refused) {
		FZ_ASSERT(r.status == 400, "a refused file answered %u", r.status);
		FZ_ASSERT(a->model.kernel == kernel && a->model.initrd == initrd &&
			      api_model_count(&a->model, &dev_disk_api) == ndrives,
			  "a refused file reached the model");
		for (int i = 0; i < ndrives && i < API_MAX_DRIVES; i++)
			FZ_ASSERT(api_model_drive(&a->model, i) == drives[i],
				  "a refused drive was taken");
	}
	FZ_ASSERT(started == before || (started == 1 && r.status == 204),
		  "a start that did not answer 204");
	FZ_ASSERT(started <= 1, "started twice");
	free(r.body);
	free(path);
	free(*last_body);
	*last_body = body;
	*last_len = blen;
}

static void load_config(const char *text, size_t len)
{
	struct api_model m;
	char err[256];
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	api_model_init(&m);
	if (root && api_model_load(&m, root, err, sizeof(err)) == 0)
		FZ_ASSERT(m.kernel && m.vcpus >= 1 && m.mem_mib >= 1,
			  "accepted an incomplete file");
	json_t *back = api_model_json(&m);
	FZ_ASSERT(back, "model not describable");
	json_decref(back);
	json_decref(root);
	api_model_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	struct api a;
	char *last = NULL;
	size_t last_len = 0;

	cur = &in;
	started = 0;
	if (api_init(&a, &ops, NULL))
		abort();
	for (int i = 0; i < 64 && fz_left(&in); i++)
		one_request(&a, &in, &last, &last_len);
	if (last)
		load_config(last, last_len);
	free(last);
	api_destroy(&a);
	return 0;
}
