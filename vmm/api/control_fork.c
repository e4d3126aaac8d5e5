/* PUT /vmm/fork's backend: the body checked against this VM's host resources, the VM's state
 * captured on the broker (it writes the state file) and the answer: what each child's VMM is to
 * be given (vmm/snapshot/fork.h, docs/sandboxes.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/sandbox/broker.h"
#include "host/sandbox/landlock.h"
#include "vmm/api/control_internal.h"
#include "vmm/snapshot/fork.h"
#include "vmm/snapshot/fork_request.h"

struct fork_call {
	struct control *c;
	const char *state_path;
	struct vm_fork_result res;
	char *err;
	size_t errlen;
};

static int fork_on_broker(void *arg)
{
	struct fork_call *k = arg;
	return vm_fork_capture(&k->c->vm, k->state_path, &k->res, k->err, k->errlen);
}

/* {"parent_pid", "state_path", "mem_file_path", "pause_us", "state_us", "remap_us",
 *  "children": [{"api_socket", "load": the body of its PUT /snapshot/load}]} */
static json_t *answer(const struct fork_request *req, const struct vm_fork_result *res)
{
	json_t *kids = json_array();
	for (int i = 0; kids && i < req->count; i++) {
		json_t *load = fork_child_load_body(req, i, res->mem_path);
		if (!load || json_array_append_new(kids, json_pack("{s:s, s:o}", "api_socket",
								   req->children[i].api_socket,
								   "load", load))) {
			json_decref(kids);
			return NULL;
		}
	}
	return json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:o*}", "parent_pid", (int)getpid(),
			 "state_path", req->state_path, "mem_file_path", res->mem_path, "pause_us",
			 (json_int_t)res->pause_us, "state_us", (json_int_t)res->state_us,
			 "remap_us", (json_int_t)res->remap_us, "children", kids);
}

int ctl_fork(void *ctx, const json_t *body, json_t **doc, char *err, size_t errlen)
{
	static struct fork_request req; /* large; the API's lock makes it one at a time */
	struct control *c = ctx;
	struct fork_parent parent;
	struct fork_call k = {.c = c, .err = err, .errlen = errlen};

	if (fork_parent_from_config(c->cfg, &parent)) {
		snprintf(err, errlen, "this VM holds too many host resources to be forked");
		return -ENOTSUP;
	}
	int r = fork_request_parse(body, &parent, &req, err, errlen);
	if (!r && ctl_refuse_for_migration(c, "a migration of this VM is running: fork it after",
					   err, errlen))
		r = -EBUSY;
	if (!r)
		r = ctl_refuse_for_cpu_hotplug(c, err, errlen); /* control_resize.c */
	if (!r)
		r = vm_fork_check(&c->vm, err, errlen);
	if (r)
		return r;
	k.state_path = req.state_path;
	if (!sandbox_landlock_allows(req.state_path, LANDLOCK_WRITE | LANDLOCK_CHANGE)) {
		snprintf(err, errlen,
			 "%s is outside what this VMM may write (Landlock: start it with "
			 "--landlock-rules DIR:rw for the fork's directory)",
			 req.state_path);
		return -EACCES;
	}
	r = sandbox_broker_run(fork_on_broker, &k);
	if (r)
		return r;
	*doc = answer(&req, &k.res);
	if (!*doc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
