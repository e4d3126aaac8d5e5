/* --console and PUT /serial (vmm/descriptors/dev_console.c, api_serial.c): the output's kind with
 * an optional byte bucket (bw=, Firecracker's serial rate_limiter), the host check that takes a
 * FIFO without waiting for a reader and refuses a directory or a device, and the API document's
 * round trip through the option. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/cli/cli.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"

#include "tests/unit/fixtures/cli_args.h"

Test(dev_console, kinds_with_a_byte_bucket)
{
	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "file:/tmp/o,bw=1K:100:4K"), CLI_RUN);
	struct dev_console_cfg con = dev_console_config(&c);
	cr_assert_eq(con.mode, CONSOLE_MODE_FILE);
	cr_assert_str_eq(con.path, "/tmp/o");
	cr_assert_eq(con.rate.size, 1024);
	cr_assert_eq(con.rate.refill_ms, 100);
	cr_assert_eq(con.rate.one_time_burst, 4096);
	cli_free(&c);

	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "stdio,bw=10:1"), CLI_RUN);
	con = dev_console_config(&c);
	cr_assert_eq(con.mode, CONSOLE_MODE_STDIO);
	cr_assert_eq(con.rate.size, 10);
	cli_free(&c);

	cr_assert_eq(PARSE(&c, "-k", "x", "--console", "file:/tmp/a", "--console", "virtio"),
		     CLI_RUN, "the last one wins");
	con = dev_console_config(&c);
	cr_assert(con.virtio);
	cr_assert_null(con.path);
	cr_assert_eq(con.rate.size, 0);
	cli_free(&c);
}

Test(dev_console, bad_specs_are_usage_errors, .init = quiet)
{
	struct vm_config c;
	char *bad[] = {"file:",		"file:/o,",	"file:/o,bw=", "file:/o,bw=1",
		       "stdio,bw=x:1",	"stdio,nope=1", "none,bw=1:1", "stdio,bw=1:1,bw=2:2",
		       "serial:/dev/x", "file:/o,,,"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(PARSE(&c, "-k", "x", "--console", bad[i]), CLI_EXIT_USAGE, "%s",
			     bad[i]);
}

static int check_path(const char *path)
{
	struct vm_config c;
	char arg[256];
	snprintf(arg, sizeof(arg), "file:%s", path);
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", arg), CLI_RUN);
	int r = device_console.check(&c);
	cli_free(&c);
	return r;
}

/* What PUT /serial and the command line are told before the VM: a FIFO with no reader passes at
 * once (it is opened read-write, as Firecracker does), a directory, a device and a missing
 * folder do not, and the check leaves no file behind. */
Test(dev_console, host_check, .init = quiet, .timeout = 10)
{
	char dir[] = "/tmp/test_dev_console_XXXXXX", fifo[96], file[96], missing[96];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(file, sizeof(file), "%s/out", dir);
	snprintf(missing, sizeof(missing), "%s/no/out", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(check_path(fifo), 0);
	cr_assert_eq(check_path(file), 0);
	cr_assert_neq(access(file, F_OK), 0, "the check created nothing");
	cr_assert_lt(check_path(dir), 0, "a directory");
	cr_assert_lt(check_path("/dev/null"), 0, "a device");
	cr_assert_eq(check_path(missing), -ENOENT);
	unlink(fifo);
	rmdir(dir);
}

/* The API's document becomes the option, which parses back to the same console. */
Test(dev_console, api_document_to_option)
{
	const struct device_api *api = device_console.api;
	char err[256] = "", arg[256];
	json_t *doc = NULL, *body = json_pack("{s:s, s:{s:i, s:i, s:i}}", "serial_out_path",
					      "/tmp/f", "rate_limiter", "size", 2048,
					      "one_time_burst", 16, "refill_time", 50);
	cr_assert_eq(api->check(body, NULL, NULL, &doc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(device_record_doc_spec(&device_console, doc, arg, sizeof(arg)), 0);
	cr_assert_str_eq(arg, "file:/tmp/f,bw=2048:50:16");

	struct vm_config c;
	cr_assert_eq(PARSE(&c, "-k", "x", "--console", arg), CLI_RUN);
	json_t *shown = api->describe(&c);
	cr_assert(json_equal(shown, doc), "%s", json_dumps(shown, 0));
	json_decref(shown);
	cli_free(&c);
	json_decref(doc);
	json_decref(body);

	/* a limit alone: COM1 on stdio, limited */
	body = json_pack("{s:{s:i, s:i}}", "rate_limiter", "size", 64, "refill_time", 10);
	cr_assert_eq(api->check(body, NULL, NULL, &doc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(device_record_doc_spec(&device_console, doc, arg, sizeof(arg)), 0);
	cr_assert_str_eq(arg, "stdio,bw=64:10:0");
	json_decref(doc);
	json_decref(body);

	/* size 0 is no limit (Firecracker's rule): nothing to show */
	body = json_pack("{s:{s:i, s:i}}", "rate_limiter", "size", 0, "refill_time", 10);
	cr_assert_eq(api->check(body, NULL, NULL, &doc, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(json_object_get(doc, "rate_limiter"));
	cr_assert_eq(device_record_doc_spec(&device_console, doc, arg, sizeof(arg)), 0);
	cr_assert_str_eq(arg, "stdio");
	json_decref(doc);
	json_decref(body);

	/* refused bodies say why */
	const char *bad[] = {"{\"rate_limiter\": {\"size\": 1}}",
			     "{\"rate_limiter\": {\"size\": 1, \"refill_time\": 1, \"x\": 1}}",
			     "{\"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1}}}",
			     "{\"rate_limiter\": {\"size\": -1, \"refill_time\": 1}}",
			     "{\"serial_out_path\": 3}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = json_loads(bad[i], 0, NULL);
		cr_assert_not_null(body);
		err[0] = '\0';
		cr_assert_eq(api->check(body, NULL, NULL, &doc, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_assert(err[0], "%s: a reason", bad[i]);
		json_decref(body);
	}
}
