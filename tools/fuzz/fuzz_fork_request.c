/* libFuzzer target: the body of PUT /vmm/fork (vmm/snapshot/fork_request.c), parsed as the API
 * parses a body (api_json_parse(): nulls dropped) and checked against a parent with a tap NIC,
 * a written disk, a read-only disk and a vsock socket (their device claims, from a real
 * configuration). Input: the body's bytes.
 * Invariants: a refusal is -EINVAL with a reason; an accepted request has 1 to
 * FORK_MAX_CHILDREN children, each with its own non-empty API socket that is neither the
 * parent's nor another child's, a tap of its own for the parent's tap NIC, a file of its own for
 * the written disk and a vsock socket of its own; and each child's load body carries the state
 * path and the memory path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/api_json.h"
#include "vmm/snapshot/fork_request.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg;
static struct fork_parent parent;
static struct fork_request req;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const opts[][2] = {{"net", "tap=tap0"},
					      {"disk", "/img/scratch.img"},
					      {"disk", "/img/base.img,ro,id=base"},
					      {"vsock", "cid=3,uds=/run/v.sock"}};
	char err[256];
	(void)argc, (void)argv;
	vm_config_init(&cfg);
	cfg.api_sock = "/run/parent.sock";
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (cli_apply(&cfg, opts[i][0], opts[i][1], err, sizeof(err))) {
			fprintf(stderr, "--%s %s: %s\n", opts[i][0], opts[i][1], err);
			abort();
		}
	if (fork_parent_from_config(&cfg, &parent))
		abort();
	return 0;
}

/* The value of `key` in the entry of `list` whose `idkey` is `id`, or NULL. */
static const char *lookup(const json_t *list, const char *idkey, const char *id, const char *key)
{
	size_t i;
	const json_t *o;
	json_array_foreach(list, i, o)
	{
		if (!strcmp(api_json_str(o, idkey, ""), id))
			return api_json_str(o, key, NULL);
	}
	return NULL;
}

static void check_child(int i)
{
	const struct fork_child *c = &req.children[i];
	const json_t *vs = json_object_get(c->spec, "vsock_override");
	const char *tap = lookup(json_object_get(c->spec, "network_overrides"), "iface_id", "net0",
				 "host_dev_name");
	const char *disk = lookup(json_object_get(c->spec, "drive_overrides"), "drive_id", "drive0",
				  "path_on_host");
	const char *uds = api_json_str(vs, "uds_path", NULL);

	if (!c->api_socket[0] || !strcmp(c->api_socket, "/run/parent.sock") || !tap ||
	    !strcmp(tap, "tap0") || !disk || !strcmp(disk, "/img/scratch.img") || !uds ||
	    !strcmp(uds, "/run/v.sock"))
		abort(); /* a child sharing the parent's resources got through */
	for (int k = 0; k < i; k++)
		if (!strcmp(req.children[k].api_socket, c->api_socket))
			abort();
	json_t *load = fork_child_load_body(&req, i, "/proc/1/fd/3");
	if (!load || strcmp(api_json_str(load, "snapshot_path", ""), req.state_path) ||
	    strcmp(api_json_str(load, "mem_file_path", ""), "/proc/1/fd/3"))
		abort();
	json_decref(load);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	json_t *body = api_json_parse((const char *)data, size, err, sizeof(err));
	if (!body)
		return 0;
	err[0] = '\0';
	int r = fork_request_parse(body, &parent, &req, err, sizeof(err));
	if (r && (r != -EINVAL || !err[0]))
		abort(); /* a refusal says why */
	if (!r && (req.count < 1 || req.count > FORK_MAX_CHILDREN || !req.state_path[0]))
		abort();
	for (int i = 0; !r && i < req.count; i++)
		check_child(i);
	json_decref(body);
	return 0;
}
