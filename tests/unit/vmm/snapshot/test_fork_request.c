/* PUT /vmm/fork's body (vmm/snapshot/fork_request.h): its shape, and each child's overrides
 * against the parent's host resources (taken from a real configuration's device claims) and
 * the other children's; the load body handed to each child. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/snapshot/fork_request.h"

static struct vm_config cfg;
static struct fork_parent parent;
static struct fork_request req;
static char err[512];

static void apply(const char *name, const char *arg)
{
	cr_assert_eq(cli_apply(&cfg, name, arg, err, sizeof(err)), 0, "--%s %s: %s", name, arg,
		     err);
}

/* A parent with a tap NIC (net0), a written disk (drive0), a read-only one (base) and a vsock. */
static void setup(void)
{
	vm_config_init(&cfg);
	cfg.api_sock = "/run/parent.sock";
	apply("net", "tap=tap0");
	apply("disk", "/img/scratch.img");
	apply("disk", "/img/base.img,ro,id=base");
	apply("vsock", "cid=3,uds=/run/v.sock");
	cr_assert_eq(fork_parent_from_config(&cfg, &parent), 0);
}

static void teardown(void)
{
	cli_free(&cfg);
}

TestSuite(fork_request, .init = setup, .fini = teardown);

/* Parses `text` as a body; 0 or the error with err filled. */
static int parse(const char *text)
{
	json_error_t je;
	json_t *body = json_loads(text, 0, &je);
	cr_assert(body, "bad test JSON: %s: %s", text, je.text);
	err[0] = '\0';
	int r = fork_request_parse(body, &parent, &req, err, sizeof(err));
	json_decref(body); /* req borrows: only read before this in the tests that succeed */
	return r;
}

#define CHILD(n)                                                                                   \
	"{\"api_socket\": \"/run/c" #n ".sock\", "                                                 \
	"\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"tap" #n "\", "      \
	"\"guest_mac\": \"52:54:00:00:00:0" #n "\"}], "                                            \
	"\"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": \"/img/c" #n           \
	".qcow2\"}], \"vsock_override\": {\"uds_path\": \"/run/v" #n ".sock\"}}"

static void refused(const char *text, const char *words)
{
	cr_assert_eq(parse(text), -EINVAL, "accepted: %s", text);
	cr_assert(strstr(err, words), "'%s' does not say '%s'", err, words);
}

Test(fork_request, the_parent_holds_its_taps_disks_and_sockets)
{
	cr_assert_str_eq(parent.api_sock, "/run/parent.sock");
	int taps = 0, written = 0, ro = 0, socks = 0;
	for (int i = 0; i < parent.nheld; i++) {
		const struct fork_held *h = &parent.held[i];
		taps += h->tap && !strcmp(h->value, "tap0") && !strcmp(h->id, "net0");
		written +=
		    !strcmp(h->value, "/img/scratch.img") && h->write && !strcmp(h->id, "drive0");
		ro += !strcmp(h->value, "/img/base.img") && !h->write && !strcmp(h->id, "base");
		socks += !strcmp(h->value, "/run/v.sock") && !strcmp(h->option, "vsock");
	}
	cr_assert_eq(taps + written + ro + socks, 4);
}

Test(fork_request, children_with_their_own_resources)
{
	json_error_t je;
	json_t *body = json_loads("{\"state_path\": \"/f/state\", \"count\": 2, \"children\": "
				  "[" CHILD(1) ", " CHILD(2) "]}",
				  0, &je);
	cr_assert(body, "%s", je.text);
	cr_assert_eq(fork_request_parse(body, &parent, &req, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(req.count, 2);
	cr_assert_str_eq(req.state_path, "/f/state");
	cr_assert_str_eq(req.children[1].api_socket, "/run/c2.sock");

	json_t *load = fork_child_load_body(&req, 1, "/proc/1/fd/9");
	cr_assert(load);
	cr_assert_str_eq(json_string_value(json_object_get(load, "snapshot_path")), "/f/state");
	cr_assert_str_eq(json_string_value(json_object_get(load, "mem_file_path")), "/proc/1/fd/9");
	cr_assert(json_is_true(json_object_get(load, "resume_vm")));
	json_t *nic = json_array_get(json_object_get(load, "network_overrides"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(nic, "host_dev_name")), "tap2");
	cr_assert(json_object_get(load, "drive_overrides"));
	cr_assert(json_object_get(load, "vsock_override"));
	cr_assert_null(json_object_get(load, "api_socket"));
	json_decref(load);
	json_decref(body);
}

Test(fork_request, the_bodys_shape)
{
	refused("[]", "object");
	refused("{\"children\": []}", "state_path");
	refused("{\"state_path\": \"\", \"children\": [" CHILD(1) "]}", "state_path is empty");
	refused("{\"state_path\": \"/s\", \"children\": []}", "1 to 64 children");
	refused("{\"state_path\": \"/s\", \"count\": 3, \"children\": [" CHILD(1) "]}",
		"count is 3");
	refused("{\"state_path\": \"/s\", \"children\": [" CHILD(1) "], \"extra\": 1}", "extra");
	refused("{\"state_path\": \"/s\", \"children\": [{\"network_overrides\": []}]}",
		"api_socket");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", \"x\": 1}]}",
		"children[0]");
}

/* each of CHILD(1)'s overrides left out in turn */
Test(fork_request, a_child_gives_its_own_tap_disk_and_vsock)
{
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/run/c.sock\", "
		"\"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": \"/c\"}], "
		"\"vsock_override\": {\"uds_path\": \"/run/v1\"}}]}",
		"NIC net0 uses the parent's tap tap0");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/run/c.sock\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\", \"guest_mac\": "
		"\"52:54:00:00:00:09\"}], \"drive_overrides\": [{\"drive_id\": \"drive0\", "
		"\"path_on_host\": \"/c\"}], \"vsock_override\": {\"uds_path\": \"/run/v1\"}}]}",
		"NIC net0 uses the parent's tap tap0");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/run/c.sock\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"t1\"}], "
		"\"vsock_override\": {\"uds_path\": \"/run/v1\"}}]}",
		"drive drive0 (/img/scratch.img) is written by the parent");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/run/c.sock\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"t1\"}], "
		"\"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": \"/c\"}]}]}",
		"vsock_override");
}

/* CHILD(1) with one thing changed to the parent's */
Test(fork_request, collisions_with_the_parent)
{
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/run/parent.sock\"}]}",
		"is the parent's");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/run/v.sock\"}]}",
		"is the parent's (vsock)");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"tap0\"}]}]}",
		"tap tap0 is the parent's");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": "
		"\"/img/scratch.img\"}]}]}",
		"is the parent's disk");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": "
		"\"/img/base.img\"}]}]}",
		"own file");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"vsock_override\": {\"uds_path\": \"/run/v.sock\"}}]}",
		"vsock uds_path /run/v.sock is the parent's");
}

Test(fork_request, a_read_only_disk_may_stay_shared)
{
	cr_assert_eq(parse("{\"state_path\": \"/s\", \"children\": [" CHILD(
			 1) ", {\"api_socket\": "
			    "\"/run/c2.sock\", \"network_overrides\": [{\"iface_id\": \"net0\", "
			    "\"host_dev_name\": \"tap2\"}], \"drive_overrides\": [{\"drive_id\": "
			    "\"drive0\", \"path_on_host\": \"/img/c2\"}, {\"drive_id\": \"base\", "
			    "\"path_on_host\": \"/img/base.img\"}], \"vsock_override\": "
			    "{\"uds_path\": \"/run/v2\"}}]}"),
		     0, "%s", err);
}

Test(fork_request, overrides_name_the_parents_devices)
{
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"network_overrides\": [{\"iface_id\": \"eth9\", \"guest_mac\": "
		"\"52:54:00:00:00:05\"}]}]}",
		"the parent has no NIC `eth9`");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"drive_overrides\": [{\"drive_id\": \"drive1\", \"path_on_host\": \"/x\"}]}]}",
		"the parent has no drive `drive1`");
	cr_assert_eq(parent.nnics, 1);
	cr_assert_str_eq(parent.nics[0], "net0");
	cr_assert_eq(parent.ndrives, 2);
	cr_assert_str_eq(parent.drives[0], "drive0");
	cr_assert_str_eq(parent.drives[1], "base");
}

Test(fork_request, collisions_between_children)
{
	refused("{\"state_path\": \"/s\", \"children\": [" CHILD(1) ", " CHILD(1) "]}",
		"children[1]: api_socket /run/c1.sock is children[0]'s too");
	refused("{\"state_path\": \"/s\", \"children\": [" CHILD(
		    1) ", {\"api_socket\": \"/b\", "
		       "\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": "
		       "\"tap1\"}]}]}",
		"tap tap1 is children[0]'s too");
	refused(
	    "{\"state_path\": \"/s\", \"children\": [" CHILD(
		1) ", {\"api_socket\": \"/b\", "
		   "\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"t9\", "
		   "\"guest_mac\": \"52:54:00:00:00:01\"}]}]}",
	    "guest_mac 52:54:00:00:00:01 is children[0]'s too");
	refused(
	    "{\"state_path\": \"/s\", \"children\": [" CHILD(
		1) ", {\"api_socket\": \"/b\", "
		   "\"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"t9\"}], "
		   "\"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": "
		   "\"/img/c1.qcow2\"}]}]}",
	    "disk /img/c1.qcow2 is children[0]'s too");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\", \"guest_mac\": "
		"\"01:00:00:00:00:01\"}]}]}",
		"bad MAC");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\"}]}]}",
		"host_dev_name and/or guest_mac");
	refused("{\"state_path\": \"/s\", \"children\": [{\"api_socket\": \"/a\", "
		"\"network_overrides\": [{\"iface_id\": \"net0\", \"guest_mac\": "
		"\"52:54:00:00:00:05\"}, {\"iface_id\": \"net0\", \"host_dev_name\": \"t5\"}]}]}",
		"iface_id net0 given twice");
}

/* "disk_snapshots": a written disk of the parent frozen, the parent's new overlay a new file of
 * its own; the children's overlays are their drive_overrides. */
Test(fork_request, disk_snapshots)
{
	json_t *body =
	    json_loads("{\"state_path\": \"/f/state\", \"disk_snapshots\": "
		       "[{\"drive_id\": \"drive0\", \"parent_path\": \"/img/p1.qcow2\"}],"
		       " \"children\": [" CHILD(1) ", " CHILD(2) "]}",
		       0, NULL);
	cr_assert_eq(fork_request_parse(body, &parent, &req, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(req.nsnaps, 1);
	cr_assert_eq(req.snaps[0].disk, 0);
	cr_assert_str_eq(req.snaps[0].parent_path, "/img/p1.qcow2");
	cr_assert_str_eq(fork_child_drive_path(&req, 1, "drive0"), "/img/c2.qcow2");
	cr_assert_null(fork_child_drive_path(&req, 1, "base"));
	json_decref(body);

	refused("{\"state_path\": \"/f/s\", \"disk_snapshots\": [{\"drive_id\": \"base\", "
		"\"parent_path\": \"/img/p.qcow2\"}], \"children\": [" CHILD(1) "]}",
		"drive base is read-only");
	refused("{\"state_path\": \"/f/s\", \"disk_snapshots\": [{\"drive_id\": \"nope\", "
		"\"parent_path\": \"/img/p.qcow2\"}], \"children\": [" CHILD(1) "]}",
		"the parent has no drive `nope`");
	refused("{\"state_path\": \"/f/s\", \"disk_snapshots\": [{\"drive_id\": \"drive0\", "
		"\"parent_path\": \"/img/scratch.img\"}], \"children\": [" CHILD(1) "]}",
		"a file the parent holds");
	refused("{\"state_path\": \"/f/s\", \"disk_snapshots\": [{\"drive_id\": \"drive0\", "
		"\"parent_path\": \"/img/c1.qcow2\"}], \"children\": [" CHILD(1) "]}",
		"is the parent's new overlay too");
	refused("{\"state_path\": \"/f/s\", \"disk_snapshots\": [{\"drive_id\": \"drive0\", "
		"\"parent_path\": \"/img/a\"}, {\"drive_id\": \"drive0\", \"parent_path\": "
		"\"/img/b\"}], \"children\": [" CHILD(1) "]}",
		"drive drive0 given twice");
	refused("{\"state_path\": \"/f/s\", \"disk_snapshots\": [{\"drive_id\": \"drive0\"}], "
		"\"children\": [" CHILD(1) "]}",
		"disk_snapshots[0]");
}
