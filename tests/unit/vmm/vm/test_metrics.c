/* The metrics document and its sink (vmm/vm/metrics.c): the document's shape without a VM and
 * with a small fake one (vCPU exits, devices on both transports), API counters, the sink to a
 * regular file, to a FIFO with and without a reader (never blocking), bad paths, the refused second
 * sink, periodic flushing, attaching / detaching the VM, and the fields every line carries
 * (Firecracker's emit_id and properties). Each test runs in its own process, so each
 * starts with fresh metrics state. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/core/device.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/metrics.h"
#include "vmm/vm/vcpu.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_virtio.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/vmm-metrics-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics", dir);
}

static void teardown(void)
{
	metrics_shutdown();
	unlink(path);
	rmdir(dir);
}

TestSuite(metrics, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t get_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
	return (uint64_t)json_integer_value(v);
}

/* ---- the document ---- */

Test(metrics, document_without_a_vm)
{
	json_t *doc = metrics_json(NULL);
	cr_assert_not_null(doc);
	cr_assert_gt(get_int(doc, "utc_timestamp_ms"), 1600000000000ull, "milliseconds since 1970");
	get_int(doc, "uptime_ms");
	cr_assert_null(json_object_get(doc, "vcpus"));
	cr_assert_null(json_object_get(doc, "devices"));
	json_t *api = json_object_get(doc, "api");
	cr_assert_eq(get_int(api, "requests"), 0);
	cr_assert_eq(get_int(api, "errors"), 0);
	json_decref(doc);
}

Test(metrics, api_requests_and_errors_are_counted)
{
	metrics_count_api_request(false);
	metrics_count_api_request(true);
	metrics_count_api_request(false);
	json_t *doc = metrics_json(NULL);
	json_t *api = json_object_get(doc, "api");
	cr_assert_eq(get_int(api, "requests"), 3);
	cr_assert_eq(get_int(api, "errors"), 1);
	json_decref(doc);
}

Test(metrics, exit_kinds_and_names)
{
	cr_assert_eq(vcpu_exit_kind_of(KVM_EXIT_IO), VCPU_EXIT_IO);
	cr_assert_eq(vcpu_exit_kind_of(KVM_EXIT_MMIO), VCPU_EXIT_MMIO);
	cr_assert_eq(vcpu_exit_kind_of(KVM_EXIT_INTR), VCPU_EXIT_INTR);
	cr_assert_eq(vcpu_exit_kind_of(KVM_EXIT_FAIL_ENTRY), VCPU_EXIT_ERROR);
	cr_assert_eq(vcpu_exit_kind_of(KVM_EXIT_INTERNAL_ERROR), VCPU_EXIT_ERROR);
	cr_assert_eq(vcpu_exit_kind_of(KVM_EXIT_DEBUG), VCPU_EXIT_OTHER);
	for (int k = 0; k < VCPU_EXIT_KINDS; k++)
		cr_assert_not_null(vcpu_exit_kind_name((enum vcpu_exit_kind)k));
	cr_assert_str_eq(vcpu_exit_kind_name(VCPU_EXIT_SYSTEM_EVENT), "system_event");
	cr_assert_null(vcpu_exit_kind_name(VCPU_EXIT_KINDS));
}

/* A VM with two vCPUs, a virtio-blk on an mmio window and a virtio-net on PCI: only the parts
 * the document reads. */
struct fake_vm {
	struct vm *vm;
	struct virtio_dev blk, net;
	struct vm_pci_dev pdev;
};

/* A device counter of its own (virtio_dev_ops.counters), as vhost-user's calls_relayed. */
static void net_counters(struct virtio_dev *dev, virtio_counter_fn put, void *ctx)
{
	(void)dev;
	put(ctx, "calls_relayed", 11);
}
static const struct virtio_dev_ops net_ops = {.counters = net_counters};

static void fake_vm_init(struct fake_vm *f)
{
	/* on the caller's stack: every field the VM's walkers read (pdev.gone) starts at 0 */
	memset(f, 0, sizeof(*f));
	f->vm = calloc(1, sizeof(*f->vm));
	cr_assert_not_null(f->vm);
	f->vm->ncpus = 2;
	for (unsigned i = 0; i < 2; i++)
		f->vm->vcpus[i].index = i;
	f->vm->vcpus[0].seen_mp_state = KVM_MP_STATE_HALTED; /* the halt watch sampled vCPU 0 */
	f->vm->vcpus[0].seen_pc = 0xffffffff81000010ull;
	f->vm->vcpus[0].seen_irqs_on = 0;
	f->vm->vcpus[0].seen_pt_root = 0x117306000ull;
	f->vm->vcpus[1].seen_mp_state = -1; /* never sampled */
	f->blk = (struct virtio_dev){.name = "virtio-blk", .device_id = 2};
	f->net = (struct virtio_dev){.name = "virtio-net", .device_id = 1, .ops = &net_ops};
	f->vm->virtio = calloc(1, sizeof(*f->vm->virtio));
	f->vm->pci = calloc(1, sizeof(*f->vm->pci));
	cr_assert(f->vm->virtio && f->vm->pci);
	f->vm->virtio->slots[0].dev = &f->blk;
	f->vm->virtio->count = 1;
	f->pdev.dev = &f->net;
	f->vm->pci->devs[0] = &f->pdev;
	f->vm->pci->ndevs = 1;

	for (int i = 0; i < 5; i++)
		vcpu_count_exit(&f->vm->vcpus[0], VCPU_EXIT_IO);
	vcpu_count_exit(&f->vm->vcpus[0], VCPU_EXIT_MMIO);
	vcpu_count_exit(&f->vm->vcpus[1], VCPU_EXIT_HLT);
	virtio_dev_count(&f->blk.counters.kicks, 7);
	virtio_dev_count_requests(&f->blk, 6, 4096);
	virtio_dev_count_error(&f->blk);
	virtio_dev_count_stall(&f->net);
	virtio_dev_count(&f->net.counters.interrupts, 3);
}

static void fake_vm_free(struct fake_vm *f)
{
	free(f->vm->virtio);
	free(f->vm->pci);
	free(f->vm);
}

static void check_vm_document(json_t *doc)
{
	json_t *vcpus = json_object_get(doc, "vcpus");
	cr_assert_eq(json_array_size(vcpus), 2);
	json_t *v0 = json_array_get(vcpus, 0), *e0 = json_object_get(v0, "exits");
	cr_assert_eq(get_int(v0, "index"), 0);
	cr_assert_eq(get_int(e0, "io"), 5);
	cr_assert_eq(get_int(e0, "mmio"), 1);
	cr_assert_eq(get_int(e0, "other"), 0);
	cr_assert_eq(json_object_size(e0), VCPU_EXIT_KINDS);
	cr_assert_eq(get_int(v0, "exits_total"), 6);
	json_t *seen = json_object_get(v0, "seen");
	cr_assert_str_eq(json_string_value(json_object_get(seen, "mp_state")), "halted");
	/* x86: "rip" and "cr3"; aarch64: "pc" and "ttbr1" */
	cr_assert_str_eq(json_string_value(json_object_get(seen, vcpu_arch_seen_names.pc)),
			 "0xffffffff81000010");
	cr_assert(json_is_false(json_object_get(seen, "interrupts")));
	cr_assert_str_eq(json_string_value(json_object_get(seen, vcpu_arch_seen_names.pt_root)),
			 "0x117306000");
	json_t *v1 = json_array_get(vcpus, 1);
	cr_assert_eq(get_int(v1, "index"), 1);
	cr_assert_null(json_object_get(v1, "seen"), "never sampled: no \"seen\"");
	cr_assert_eq(get_int(json_object_get(v1, "exits"), "hlt"), 1);

	json_t *devs = json_object_get(doc, "devices");
	cr_assert_eq(json_array_size(devs), 2);
	json_t *blk = json_array_get(devs, 0), *net = json_array_get(devs, 1);
	cr_assert_str_eq(json_string_value(json_object_get(blk, "name")), "virtio-blk");
	cr_assert_str_eq(json_string_value(json_object_get(blk, "transport")), "mmio");
	cr_assert_eq(get_int(blk, "device_id"), 2);
	cr_assert_eq(get_int(blk, "kicks"), 7);
	cr_assert_eq(get_int(blk, "requests"), 6);
	cr_assert_eq(get_int(blk, "bytes"), 4096);
	cr_assert_eq(get_int(blk, "errors"), 1);
	cr_assert_eq(get_int(blk, "stalls"), 0);
	cr_assert_eq(get_int(blk, "interrupts"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(net, "name")), "virtio-net");
	cr_assert_str_eq(json_string_value(json_object_get(net, "transport")), "pci");
	cr_assert_eq(get_int(net, "index"), 1);
	cr_assert_eq(get_int(net, "stalls"), 1);
	cr_assert_eq(get_int(net, "interrupts"), 3);
	cr_assert_eq(get_int(net, "calls_relayed"), 11, "the device's own counter");
	cr_assert_null(json_object_get(blk, "calls_relayed"), "a device without counters()");
}

Test(metrics, document_of_a_vm)
{
	struct fake_vm f;
	fake_vm_init(&f);
	json_t *doc = metrics_json(f.vm);
	cr_assert_not_null(doc);
	check_vm_document(doc);
	json_decref(doc);
	fake_vm_free(&f);
}

/* ---- the sink ---- */

/* Reads the whole file and parses each line; returns the number of lines. `last` gets the last
 * document (new reference) when not NULL. Every line must be one compact JSON object. */
static int parse_lines(const char *text, json_t **last)
{
	int n = 0;
	const char *p = text;

	if (last)
		*last = NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		cr_assert_not_null(nl, "line %d does not end in a newline", n);
		json_error_t e;
		json_t *doc = json_loadb(p, (size_t)(nl - p), 0, &e);
		cr_assert_not_null(doc, "line %d: %s", n, e.text);
		cr_assert(json_is_object(doc));
		if (last) {
			json_decref(*last);
			*last = doc;
		} else {
			json_decref(doc);
		}
		n++;
		p = nl + 1;
	}
	return n;
}

static char *slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int file_lines(json_t **last)
{
	char *text = slurp(path);
	int n = parse_lines(text, last);
	free(text);
	return n;
}

Test(metrics, flush_without_a_sink_is_refused)
{
	cr_assert_eq(metrics_flush(), -ENOENT);
}

Test(metrics, regular_file_is_created_then_appended_one_line_per_flush)
{
	char err[256] = "";
	cr_assert_eq(metrics_set_sink(path, 0, err, sizeof(err)), 0, "%s", err);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(metrics_flush(), 0);
	cr_assert_eq(metrics_flush(), 0);
	json_t *last;
	cr_assert_eq(file_lines(&last), 2);
	cr_assert_eq(get_int(json_object_get(last, "metrics"), "flushes"), 1,
		     "the second line counts the first flush");
	json_decref(last);
	char *text = slurp(path);
	cr_assert_null(strstr(text, ": "), "compact JSON: %s", text);
	free(text);
}

Test(metrics, existing_file_is_appended_not_truncated)
{
	FILE *f = fopen(path, "w");
	fputs("{\"old\":1}\n", f);
	fclose(f);
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	cr_assert_eq(metrics_flush(), 0);
	cr_assert_eq(file_lines(NULL), 2);
	char *text = slurp(path);
	cr_assert_eq(strncmp(text, "{\"old\":1}\n", 10), 0);
	free(text);
}

Test(metrics, second_sink_is_refused)
{
	char err[256] = "";
	char other[160];
	snprintf(other, sizeof(other), "%s/other", dir);
	cr_assert_eq(metrics_set_sink(path, 0, err, sizeof(err)), 0);
	cr_assert_eq(metrics_set_sink(other, 0, err, sizeof(err)), -EALREADY);
	cr_assert_not_null(strstr(err, path), "names the sink in use: %s", err);
	cr_assert_neq(access(other, F_OK), 0, "nothing created for the refused sink");
}

Test(metrics, bad_paths_fail_with_a_clear_errno_and_leave_no_sink)
{
	char err[256] = "", p[160];
	cr_assert_eq(metrics_set_sink("", 0, err, sizeof(err)), -EINVAL);
	cr_assert_eq(metrics_set_sink(NULL, 0, err, sizeof(err)), -EINVAL);
	snprintf(p, sizeof(p), "%s/no/such/dir", dir);
	cr_assert_eq(metrics_set_sink(p, 0, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, p), "names the path: %s", err);
	cr_assert_eq(metrics_set_sink(dir, 0, err, sizeof(err)), -EISDIR);
	cr_assert_eq(metrics_flush(), -ENOENT, "no sink was set");
	cr_assert_eq(metrics_set_sink(path, 0, err, sizeof(err)), 0, "a later call succeeds");
}

/* A start that fails: metrics_discard() writes no last line and removes the file the sink
 * created; a file that was there is kept as it was. */
Test(metrics, discard_removes_only_a_created_file_and_writes_nothing)
{
	char err[256] = "";
	struct stat st;

	cr_assert_eq(metrics_set_sink(path, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(access(path, F_OK), 0);
	metrics_discard();
	cr_assert_neq(access(path, F_OK), 0, "the file it created is gone");

	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "x\n", 2), 2);
	close(fd);
	cr_assert_eq(metrics_set_sink(path, 0, err, sizeof(err)), 0, "%s", err);
	metrics_discard();
	cr_assert_eq(stat(path, &st), 0, "a file that was there stays");
	cr_assert_eq(st.st_size, 2, "with no line written");
}

Test(metrics, proc_and_devices_are_refused)
{
	char err[256] = "";
	cr_assert_eq(metrics_set_sink("/proc/self/mem", 0, err, sizeof(err)), -EACCES);
	cr_assert_not_null(strstr(err, "on /proc"), "%s", err);
	cr_assert_eq(metrics_set_sink("/dev/null", 0, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "a character device"), "%s", err);
}

Test(metrics, fifo_without_a_reader_never_blocks)
{
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0, "opening waits for no reader");
	cr_assert_eq(metrics_flush(), 0, "the line waits in the pipe");
	/* Fill the pipe: a flush that finds no room fails at once, dropping its line whole. */
	int err = 0, i;
	for (i = 0; i < 100000 && !err; i++)
		err = metrics_flush();
	cr_assert_eq(err, -EAGAIN, "after %d flushes", i);
	/* A reader that comes later gets whole lines. */
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	static char buf[1 << 16];
	ssize_t n = read(fd, buf, 4096);
	cr_assert_gt(n, 0);
	char *nl = memchr(buf, '\n', (size_t)n);
	cr_assert_not_null(nl);
	nl[1] = 0;
	cr_assert_eq(parse_lines(buf, NULL), 1);
	close(fd);
	json_t *doc = metrics_json(NULL);
	cr_assert_geq(get_int(json_object_get(doc, "metrics"), "flush_errors"), 1);
	json_decref(doc);
}

Test(metrics, fifo_with_a_reader_gets_each_flush)
{
	cr_assert_eq(mkfifo(path, 0600), 0);
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	cr_assert_eq(metrics_flush(), 0);
	cr_assert_eq(metrics_flush(), 0);
	static char buf[1 << 16];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	cr_assert_eq(parse_lines(buf, NULL), 2);
	close(fd);
	cr_assert_eq(metrics_flush(), 0, "the reader went away: no SIGPIPE, no error");
}

Test(metrics, periodic_flushes_with_a_short_period)
{
	cr_assert_eq(metrics_set_sink(path, 20, NULL, 0), 0);
	/* No timing assumption: wait (bounded, generously) for the thread's lines to appear. */
	int n = 0;
	for (int i = 0; i < 6000 && n < 3; i++) {
		usleep(10000);
		n = file_lines(NULL);
	}
	cr_assert_geq(n, 3, "the flush thread wrote %d lines", n);
	metrics_shutdown();
	int after = file_lines(NULL);
	cr_assert_gt(after, n, "a last line at shutdown");
	usleep(100000);
	cr_assert_eq(file_lines(NULL), after, "nothing after shutdown");
}

Test(metrics, default_period_writes_nothing_at_once)
{
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	usleep(50000);
	cr_assert_eq(file_lines(NULL), 0, "the first periodic line comes after 60 s");
}

Test(metrics, attached_vm_is_reported_until_detached)
{
	struct fake_vm f;
	fake_vm_init(&f);
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	metrics_attach_vm(f.vm);
	cr_assert_eq(metrics_flush(), 0);
	json_t *snap = metrics_snapshot();
	check_vm_document(snap);
	json_decref(snap);
	metrics_attach_vm(NULL);
	fake_vm_free(&f);
	cr_assert_eq(metrics_flush(), 0);

	char *text = slurp(path);
	char *second = strchr(text, '\n') + 1;
	second[-1] = 0;
	json_t *doc = json_loads(text, 0, NULL);
	check_vm_document(doc);
	json_decref(doc);
	doc = json_loads(second, 0, NULL);
	cr_assert_not_null(doc);
	cr_assert_null(json_object_get(doc, "vcpus"), "detached: no VM in the document");
	json_decref(doc);
	free(text);
}

Test(metrics, shutdown_forgets_the_sink)
{
	char other[160];
	snprintf(other, sizeof(other), "%s/other", dir);
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	metrics_shutdown();
	cr_assert_eq(file_lines(NULL), 1, "the last line");
	cr_assert_eq(metrics_flush(), -ENOENT);
	cr_assert_eq(metrics_set_sink(other, 0, NULL, 0), 0);
	metrics_shutdown();
	unlink(other);
}

/* Firecracker's emit_id and properties: each line has "id" and "properties" right after its
 * timestamp; the document of GET /vmm/metrics does not; fixed once the sink is set. */
Test(metrics, lines_carry_the_id_and_properties)
{
	json_t *props = json_pack("{s:s, s:s}", "customer_id", "1234", "bundle_id", "fn-abc");
	json_t *last;

	cr_assert_eq(metrics_set_line_fields("ignored", NULL), 0);
	cr_assert_eq(metrics_set_line_fields("vmm-42", props), 0, "a later call replaces them");
	json_object_set_new(props, "late", json_string("change")); /* a copy was taken */
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	cr_assert_eq(metrics_set_line_fields(NULL, NULL), -EALREADY);
	cr_assert_eq(metrics_flush(), 0);
	cr_assert_eq(file_lines(&last), 1);
	cr_assert_str_eq(json_string_value(json_object_get(last, "id")), "vmm-42");
	json_t *got = json_object_get(last, "properties");
	cr_assert_eq(json_object_size(got), 2);
	cr_assert_str_eq(json_string_value(json_object_get(got, "bundle_id")), "fn-abc");
	cr_assert(json_is_object(json_object_get(last, "api")), "the counters are still there");
	json_decref(last);
	char *text = slurp(path);
	cr_assert_eq(strncmp(text, "{\"utc_timestamp_ms\":", 20), 0, "%s", text);
	cr_assert(strstr(text, ",\"id\":\"vmm-42\",\"properties\":{"), "%s", text);
	free(text);

	json_t *doc = metrics_snapshot();
	cr_assert_null(json_object_get(doc, "id"), "not in GET /vmm/metrics");
	json_decref(doc);
	json_decref(props);
}

Test(metrics, no_line_fields_by_default)
{
	json_t *last;
	cr_assert_eq(metrics_set_sink(path, 0, NULL, 0), 0);
	cr_assert_eq(metrics_flush(), 0);
	cr_assert_eq(file_lines(&last), 1);
	cr_assert_null(json_object_get(last, "id"));
	cr_assert_null(json_object_get(last, "properties"));
	json_decref(last);
}

/* Firecracker's api_server startup times: absent until set (no jailer passed its start). */
Test(metrics, startup_times_once_set)
{
	json_t *doc = metrics_json(NULL);
	cr_assert_null(json_object_get(doc, "api_server"));
	json_decref(doc);
	metrics_set_startup(1500, 700);
	doc = metrics_json(NULL);
	json_t *s = json_object_get(doc, "api_server");
	cr_assert_not_null(s);
	cr_assert_eq(json_integer_value(json_object_get(s, "process_startup_time_us")), 1500);
	cr_assert_eq(json_integer_value(json_object_get(s, "process_startup_time_cpu_us")), 700);
	json_decref(doc);
}
