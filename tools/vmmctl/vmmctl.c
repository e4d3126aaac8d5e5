/* vmmctl: the command-line client of the VMM's HTTP API (vmm --api-sock PATH).
 * Exit status: 0 ok; 1 the API answered an error, or an answer vmmctl cannot use; 2 usage
 * error; 3 the socket cannot be reached. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmmctl/fork.h"
#include "tools/vmmctl/http.h"
#include "tools/vmmctl/render.h"
#include "tools/vmmctl/request.h"

#define VMMCTL_VERSION	  "0.1.0"
#define DEFAULT_TIMEOUT_S 30
#define EXIT_API_ERROR	  1
#define EXIT_USAGE	  2
#define EXIT_UNREACHABLE  3

static const char usage_text[] =
    "Usage: vmmctl [OPTIONS] COMMAND [ARGS]\n"
    "Controls a running vmm through its HTTP API socket (vmm --api-sock PATH).\n"
    "\n"
    "Options:\n"
    "  -s, --sock PATH       the VMM's API socket; default $VMM_API_SOCK\n"
    "  -j, --json            print answers as JSON instead of tables and summaries\n"
    "  -t, --timeout S       give up on an answer after S seconds; default 30\n"
    "                        (stop: its --timeout-ms plus 30 s)\n"
    "  -h, --help            this text\n"
    "  -V, --version         version\n"
    "\n"
    "Inspecting:\n"
    "  info                  instance id, version, state and uptime\n"
    "  metrics               the metrics document: API counters, per-device and\n"
    "                        per-vCPU tables\n"
    "  devices               per-device counters (requests, bytes, errors, kicks, ...)\n"
    "  vcpus                 per-vCPU exit counters\n"
    "  config                the VM's configuration: machine, boot source, drives\n"
    "                        and network interfaces (with their rate limits), vsock,\n"
    "                        balloon\n"
    "  balloon               the balloon's target, actual size and options\n"
    "  balloon-stats         the guest's memory statistics from the balloon (after\n"
    "                        start, with a statistics interval)\n"
    "\n"
    "Controlling:\n"
    "  start                 start the configured instance (InstanceStart)\n"
    "  pause                 pause every vCPU and device\n"
    "  resume                resume after pause\n"
    "  stop [--timeout-ms N]\n"
    "                        graceful stop: Ctrl-Alt-Del, then a forced stop after\n"
    "                        N ms (0 to 3600000, one hour); default 10000\n"
    "  ctrl-alt-del          send Ctrl-Alt-Del to the guest\n"
    "  power-button          press the guest's ACPI power button (a clean shutdown)\n"
    "  flush-metrics         write the metrics document to the metrics file now\n"
    "  snapshot-create SNAPSHOT MEM [--type Full|Diff]\n"
    "                        save the paused VM: its state to the file SNAPSHOT, its\n"
    "                        RAM to the file MEM; Diff writes only the pages changed\n"
    "                        since the last snapshot (needs dirty-page tracking)\n"
    "  snapshot-load SNAPSHOT MEM [--resume] [--uffd] [--clock-realtime]\n"
    "                [--net IFACE,tap=TAP[,mac=MAC]]...\n"
    "                        before start: become the snapshotted VM, paused unless\n"
    "                        --resume; --clock-realtime: the guest's clock moves on by\n"
    "                        the wall time since the snapshot (clock_realtime);\n"
    "                        --uffd: MEM is the Unix socket of a page-fault\n"
    "                        handler that serves the RAM (e.g. vmm-uffd-handler);\n"
    "                        --net gives NIC IFACE (net0, net1, ...)\n"
    "                        another tap and/or MAC, once per NIC;\n"
    "                        --working-set load|off|record: the snapshot's working set\n"
    "                        (default load; docs/snapshots.md); --working-set-ms MS:\n"
    "                        with record, the VMM stops the recording itself after MS\n"
    "  working-set-stop      end a working set's recording and write it\n"
    "  fork BODY|@FILE [--vmm PATH] [--out DIR] [--vmm-arg ARG]...\n"
    "                        live fork (PUT /vmm/fork with BODY), then start each\n"
    "                        child's VMM (unless one waits on its api_socket) with\n"
    "                        ARGs and load it; prints the times (docs/sandboxes.md)\n"
    "  migrate URL [--local] [--max-downtime-ms N] [--max-rounds N]\n"
    "          [--max-bandwidth BYTES_PER_S[K|M|G]]\n"
    "                        live-migrate the VM to the VMM waiting on URL\n"
    "                        (unix:PATH or tcp:HOST:PORT; --local: hand RAM over\n"
    "                        by file descriptor, unix: only); --max-rounds: rounds\n"
    "                        while the guest runs (default 30); --max-bandwidth:\n"
    "                        cap those rounds (K = 1024; the last goes uncapped);\n"
    "                        see migration\n"
    "  migration             the migration's progress (rounds, bytes, downtime)\n"
    "  add-disk PATH [--ro] [--direct] [--serial S] [--id ID] [--num-queues N]\n"
    "                        hot-add a virtio-blk disk on PCI to the running VM;\n"
    "                        prints its id and PCI address\n"
    "  add-net TAP [--mac MAC] [--id ID] [--num-queues N]\n"
    "                        hot-add a virtio-net NIC on an existing tap\n"
    "  add-vsock CID SOCKET [--id ID]\n"
    "                        hot-add a virtio-vsock (the VM's only one) whose host\n"
    "                        side is the Unix socket SOCKET\n"
    "  add-pmem FILE [--size BYTES] [--discard-writes] [--id ID]\n"
    "                        hot-add a virtio-pmem device over FILE (a multiple of\n"
    "                        2 MiB); --discard-writes maps it read-only\n"
    "  add-fs TAG SOCKET [--id ID] [--num-queues N] [--queue-size N]\n"
    "                        hot-add a virtio-fs share served by the vhost-user\n"
    "                        back-end on SOCKET (virtiofsd); the guest mounts TAG\n"
    "  add-device /sys/bus/pci/devices/DDDD:BB:DD.F [--id ID]\n"
    "                        hot-add a host PCI device bound to vfio-pci (passthrough,\n"
    "                        docs/vfio.md)\n"
    "  remove-device ID [--timeout-ms N]\n"
    "                        ask the guest to release a hot-added device, or a\n"
    "                        virtio-pci one it booted with but the root disk\n"
    "                        (docs/hotplug.md), and wait for it (default 30000\n"
    "                        ms); the device stays if it does not\n"
    "  resize --vcpus N [--timeout-ms N]\n"
    "                        make N vCPUs present (vCPU hotplug, up to --cpus\n"
    "                        max=M); a shrink waits for the guest (default 10000 ms)\n"
    "  migrate-cancel        stop the migration; the guest runs on here\n"
    "  receive-migration URL before start: wait on URL for a migrating VM\n"
    "\n"
    "Configuring (before start unless said otherwise):\n"
    "  put-machine-config --vcpus N --mem-mib M [--smt] [--track-dirty-pages]\n"
    "                        number of vCPUs and guest RAM in MiB; --track-dirty-pages:\n"
    "                        KVM logs the guest's writes (for Diff snapshots)\n"
    "  put-boot-source KERNEL [--initrd PATH] [--args CMDLINE]\n"
    "  put-boot-source --firmware FILE [--firmware-log FILE]\n"
    "                        kernel image, initial ramdisk, kernel command line\n"
    "  put-drive ID PATH [--ro] [--root] [--bw LIMIT] [--ops LIMIT]\n"
    "                        add a virtio-blk drive backed by the file PATH\n"
    "  patch-drive ID [PATH] [--bw LIMIT] [--ops LIMIT]\n"
    "                        after start: point drive ID at another file, and/or\n"
    "                        change its rate limits (a limit not given stays as it\n"
    "                        is; --bw 0 --ops 0 removes both)\n"
    "  put-net ID TAP [--mac MAC] [--rx-bw LIMIT] [--rx-ops LIMIT]\n"
    "                 [--tx-bw LIMIT] [--tx-ops LIMIT]\n"
    "                        add a virtio-net interface on the host tap device TAP\n"
    "  patch-net ID [--rx-bw LIMIT] [--rx-ops LIMIT] [--tx-bw LIMIT] [--tx-ops LIMIT]\n"
    "            [--egress RULE[;RULE]...|off]\n"
    "                        after start: change the rate limits of interface ID;\n"
    "                        a limit not given stays as it is, 0 removes it; --egress\n"
    "                        replaces its egress policy (--net egress= rules), off\n"
    "                        removes it (none: a policy allowing only the link's needs)\n"
    "  put-vsock CID UDS_PATH [--id ID]\n"
    "                        add a virtio-vsock: guest CID 3-4294967294, host side on\n"
    "                        the Unix socket UDS_PATH (guest port P: UDS_PATH_P)\n"
    "  put-balloon MIB [--deflate-on-oom] [--stats-interval S]\n"
    "                  [--free-page-reporting]\n"
    "                        add a virtio-balloon asking the guest for MIB of its\n"
    "                        RAM; statistics every S seconds (0-86400; default 0:\n"
    "                        none)\n"
    "  patch-balloon MIB     after start: a new balloon target in MiB\n"
    "  patch-balloon-stats S after start: statistics every S seconds (1-86400)\n"
    "  hotplug               the memory hotplug region: sizes, plugged and requested\n"
    "  put-hotplug TOTAL_MIB [--block-mib N] [--slot-mib N]\n"
    "                        add a virtio-mem region of TOTAL_MIB (blocks of 2 MiB and\n"
    "                        KVM slots of 128 MiB unless given)\n"
    "  patch-hotplug MIB     after start: ask the guest to have MIB plugged\n"
    "  put-pmem ID PATH [--ro] [--root]\n"
    "                        add a virtio-pmem device backed by the file PATH\n"
    "  set-metrics PATH      the file flush-metrics writes to\n"
    "  raw METHOD PATH [JSON]\n"
    "                        any request: prints the answer as it came\n"
    "\n"
    "Rate limits (LIMIT, spelled as in vmm --disk bw=, ops= and --net rx-bw=, ...):\n"
    "  SIZE:REFILL_MS[:BURST]\n"
    "                        a bucket of SIZE tokens (bytes for --bw, requests or\n"
    "                        frames for --ops), refilled every REFILL_MS ms (1 to\n"
    "                        86400000), plus BURST tokens once; SIZE and BURST take\n"
    "                        K, M, G (powers of 1024): --bw 2M:1000 is 2 MiB/s,\n"
    "                        --ops 500:1000 is 500 requests/s\n"
    "  0                     no limit\n"
    "\n"
    "Exit status:\n"
    "  0                     ok\n"
    "  1                     the API answered an error (its fault_message is printed)\n"
    "                        or an answer vmmctl cannot use\n"
    "  2                     bad command line\n"
    "  3                     the socket cannot be reached\n"
    "\n"
    "Examples:\n"
    "  vmmctl --sock /tmp/vmm.sock info\n"
    "                        state and uptime of the VMM started with\n"
    "                        vmm --api-sock /tmp/vmm.sock\n"
    "  VMM_API_SOCK=/tmp/vmm.sock vmmctl pause\n"
    "                        the socket from the environment\n"
    "  vmmctl --sock /tmp/vmm.sock --json metrics\n"
    "                        the metrics document as JSON, for scripts\n"
    "  vmmctl patch-drive rootfs --bw 20M:1000 --ops 1000:1000\n"
    "                        limit a running drive to 20 MiB/s and 1000 requests/s\n"
    "  vmmctl pause; vmmctl snapshot-create snap/state snap/memory\n"
    "                        save the VM; vmm --restore snap runs it again\n";

struct opts {
	const char *sock;
	int json;
	long timeout_s; /* 0: the default */
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "vmmctl: %s\nTry 'vmmctl --help' for more information.\n", msg);
	return EXIT_USAGE;
}

/* Global options; returns -1 to go on with the command at argv[optind], else an exit status. */
static int parse_global(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"sock", required_argument, NULL, 's'},    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:jt:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->sock = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 't':
			errno = 0;
			o->timeout_s = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->timeout_s < 1 ||
			    o->timeout_s > 86400)
				return usage_error("--timeout wants seconds, 1-86400");
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("vmmctl " VMMCTL_VERSION "\n");
			return 0;
		default:
			fprintf(stderr, "vmmctl: bad option '%s'\n", argv[optind - 1]);
			return usage_error("options go before the command");
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	if (!o->sock || !o->sock[0])
		o->sock = getenv("VMM_API_SOCK");
	if (!o->sock || !o->sock[0])
		return usage_error("no API socket: give --sock PATH or set VMM_API_SOCK");
	return -1;
}

/* The answer's fault_message, or a short excerpt of what came instead. */
static void print_fault(const struct http_response *r)
{
	json_t *doc = r->body ? json_loads(r->body, 0, NULL) : NULL;
	json_t *msg = json_object_get(doc, "fault_message");
	if (json_is_string(msg))
		fprintf(stderr, "vmmctl: %s (HTTP %ld)\n", json_string_value(msg), r->status);
	else
		fprintf(stderr, "vmmctl: %s%.200s (HTTP %ld)\n",
			r->body ? "no fault_message in the answer: " : "error without a body",
			r->body ? r->body : "", r->status);
	json_decref(doc);
}

/* One request; on success (2xx) *doc is its JSON (NULL if the answer had no body). */
static int call(const struct opts *o, const char *method, const char *path, json_t *body,
		json_t **doc)
{
	char err[512];
	struct http_response r;
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	enum http_result res =
	    http_request(o->sock, method, path, text, o->timeout_s, &r, err, sizeof(err));
	free(text);
	*doc = NULL;
	if (res != HTTP_OK) {
		fprintf(stderr, "vmmctl: %s %s on %s: %s\n", method, path, o->sock, err);
		return res == HTTP_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_API_ERROR;
	}
	int status = 0;
	if (r.status < 200 || r.status > 299) {
		print_fault(&r);
		status = EXIT_API_ERROR;
	} else if (r.body && r.len) {
		json_error_t je;
		*doc = json_loadb(r.body, r.len, JSON_DECODE_ANY, &je);
		if (!*doc) {
			fprintf(stderr, "vmmctl: %s %s: malformed JSON in the answer: %s\n", method,
				path, je.text);
			status = EXIT_API_ERROR;
		}
	}
	http_response_free(&r);
	return status;
}

static int show(const struct opts *o, const struct vmmctl_request *req, json_t *doc, json_t *state)
{
	if (req->view == VIEW_NONE)
		return 0;
	if (!doc) {
		if (req->view == VIEW_RAW)
			return 0;
		fprintf(stderr, "vmmctl: %s %s: the answer has no body\n", req->method, req->path);
		return EXIT_API_ERROR;
	}
	if (o->json) {
		json_t *out = doc;
		if (req->view == VIEW_INFO)
			out = json_pack("{s:O, s:O?}", "instance", doc, "vmm", state);
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		fputc('\n', stdout);
		if (out != doc)
			json_decref(out);
		return 0;
	}
	if (vmmctl_render(req->view, doc, state, stdout)) {
		fprintf(stderr, "vmmctl: %s %s: the answer is not shaped as expected\n",
			req->method, req->path);
		return EXIT_API_ERROR;
	}
	return 0;
}

static int run(struct opts *o, const struct vmmctl_request *req)
{
	int err = http_probe_socket(o->sock);
	if (err) {
		fprintf(stderr, "vmmctl: cannot reach the VMM API socket %s: %s\n", o->sock,
			err == -ENOTSOCK ? "not a socket" : strerror(-err));
		return EXIT_UNREACHABLE;
	}
	if (!o->timeout_s)
		o->timeout_s = DEFAULT_TIMEOUT_S + (long)(req->stop_timeout_ms / 1000);
	json_t *doc = NULL, *state = NULL;
	int status = call(o, req->method, req->path, req->body, &doc);
	if (!status && req->view == VIEW_INFO)
		status = call(o, "GET", VMMCTL_STATE_PATH, NULL, &state);
	if (!status)
		status = show(o, req, doc, state);
	json_decref(doc);
	json_decref(state);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct vmmctl_request req;
	char err[256];
	int status = parse_global(argc, argv, &o);
	if (status >= 0)
		return status;
	bool fork_cmd = !strcmp(argv[optind], "fork"); /* not one request: fork.h */
	memset(&req, 0, sizeof(req));
	if (!fork_cmd && vmmctl_request_build(argc - optind, argv + optind, &req, err, sizeof(err)))
		return usage_error(err);
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "vmmctl: cannot initialise libcurl\n");
		vmmctl_request_free(&req);
		return EXIT_UNREACHABLE;
	}
	if (fork_cmd)
		status = vmmctl_fork(o.sock, o.timeout_s ? o.timeout_s : DEFAULT_TIMEOUT_S,
				     argc - optind, argv + optind);
	else
		status = run(&o, &req);
	vmmctl_request_free(&req);
	curl_global_cleanup();
	return status;
}
