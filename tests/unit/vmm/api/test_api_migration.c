/* Live migration in the API: the bodies of PUT /vmm/send-migration and /vmm/receive-migration,
 * the progress document, and the routes against a fake backend (states, faults, 204/200). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "tests/unit/vmm/api/route_fixture.h"
#include "vmm/api/api_migration.h"
#include "vmm/api/api_router.h"

static char err[256];

static int send_parse(const char *text, struct api_send_migration *p)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	int r = api_migration_send_parse(j, p, err, sizeof(err));
	json_decref(j);
	return r;
}

Test(api_migration, send_bodies)
{
	struct api_send_migration p;
	cr_assert_eq(send_parse("{\"destination_url\": \"unix:/run/m.sock\", \"local\": true}", &p),
		     0, "%s", err);
	cr_assert(p.local);
	cr_assert_eq(p.max_downtime_ms, MIG_DEFAULT_DOWNTIME_MS);
	cr_assert_eq(send_parse("{\"destination_url\": \"tcp:10.0.0.2:6000\", "
				"\"max_downtime_ms\": 50}",
				&p),
		     0, "%s", err);
	cr_assert_not(p.local);
	cr_assert_eq(p.max_downtime_ms, 50);
	cr_assert_eq(p.max_rounds, MIG_DEFAULT_ROUNDS);
	cr_assert_eq(p.max_bandwidth, 0, "no cap unless asked");
	cr_assert_eq(send_parse("{\"destination_url\": \"unix:/m\", \"max_rounds\": 3, "
				"\"max_bandwidth_bytes_per_s\": 8388608}",
				&p),
		     0, "%s", err);
	cr_assert_eq(p.max_rounds, 3);
	cr_assert_eq(p.max_bandwidth, 8u << 20);
	cr_assert_eq(send_parse("{\"destination_url\": \"unix:/m\", \"max_rounds\": 1, "
				"\"max_bandwidth_bytes_per_s\": 65536}",
				&p),
		     0, "%s", err);
	cr_assert_eq(send_parse("{\"destination_url\": \"unix:/m\", \"max_rounds\": 1000, "
				"\"max_bandwidth_bytes_per_s\": 1099511627776}",
				&p),
		     0, "%s", err);
	cr_assert_eq(p.max_bandwidth, 1ull << 40);
}

static void send_refused(const char *text, const char *what)
{
	struct api_send_migration p;
	cr_assert_eq(send_parse(text, &p), -EINVAL, "%s", text);
	cr_assert(strstr(err, what), "`%s`: '%s' not in '%s'", text, what, err);
}

Test(api_migration, send_refusals)
{
	send_refused("{}", "destination_url");
	send_refused("{\"destination_url\": 5}", "destination_url");
	send_refused("{\"destination_url\": \"ftp://x\"}", "destination_url: unknown migration");
	send_refused("{\"destination_url\": \"tcp:10.0.0.1:0\"}", "port must be 1..65535");
	send_refused("{\"destination_url\": \"tcp:10.0.0.1:1\", \"local\": true}", "needs a unix:");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_downtime_ms\": 0}", "1..60000");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_downtime_ms\": 60001}", "1..60000");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_rounds\": 0}",
		     "max_rounds must be 1..1000 (rounds while the guest runs");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_rounds\": 1001}", "1..1000");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_rounds\": -1}",
		     "a non-negative integer");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_rounds\": 2.5}", "max_rounds");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_bandwidth_bytes_per_s\": 0}",
		     "max_bandwidth_bytes_per_s must be 65536..1099511627776 (64 KiB/s to 1 "
		     "TiB/s; leave it out for no cap)");
	send_refused("{\"destination_url\": \"unix:/x\", \"max_bandwidth_bytes_per_s\": 65535}",
		     "65536..");
	send_refused("{\"destination_url\": \"unix:/x\", "
		     "\"max_bandwidth_bytes_per_s\": 1099511627777}",
		     "..1099511627776");
	send_refused("{\"destination_url\": \"unix:/x\", "
		     "\"max_bandwidth_bytes_per_s\": \"8M\"}",
		     "max_bandwidth_bytes_per_s");
	send_refused("{\"destination_url\": \"unix:/x\", \"local\": true, \"max_rounds\": 2}",
		     "a local migration copies no page");
	send_refused("{\"destination_url\": \"unix:/x\", \"local\": true, "
		     "\"max_bandwidth_bytes_per_s\": 1048576}",
		     "do not apply");
	send_refused("{\"destination_url\": \"unix:/x\", \"bogus\": 1}", "bogus");
	send_refused("[]", "JSON object");
}

Test(api_migration, receive_bodies)
{
	const char *url;
	json_t *j = json_loads("{\"receiver_url\": \"tcp:0.0.0.0:0\"}", 0, NULL);
	cr_assert_eq(api_migration_receive_parse(j, &url, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(url, "tcp:0.0.0.0:0");
	json_decref(j);
	j = json_loads("{\"receiver_url\": \"unix:\"}", 0, NULL);
	cr_assert_eq(api_migration_receive_parse(j, &url, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "receiver_url: unix: wants a socket path"), "%s", err);
	json_decref(j);
}

Test(api_migration, progress_document)
{
	struct mig_progress p = {.phase = MIG_PHASE_PRECOPY,
				 .rounds = 3,
				 .bytes = 1 << 20,
				 .pages = 256,
				 .remaining_pages = 10,
				 .dirty_rate = 500,
				 .bandwidth = 1000000,
				 .expected_downtime_ms = UINT64_MAX};
	json_t *j = api_migration_progress_json(&p, "");
	cr_assert_not_null(j);
	cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "precopy");
	cr_assert_eq(json_integer_value(json_object_get(j, "rounds")), 3);
	cr_assert_eq(json_integer_value(json_object_get(j, "expected_downtime_ms")), INT64_MAX);
	cr_assert_eq(json_integer_value(json_object_get(j, "max_rounds")), 0);
	cr_assert(json_is_false(json_object_get(j, "round_limit_reached")));
	cr_assert_eq(json_integer_value(json_object_get(j, "max_bandwidth_bytes_per_s")), 0);
	cr_assert_null(json_object_get(j, "error"));
	json_decref(j);
	p.max_rounds = 3;
	p.round_limit_reached = true;
	p.max_bandwidth = 4u << 20;
	j = api_migration_progress_json(&p, "");
	cr_assert_eq(json_integer_value(json_object_get(j, "max_rounds")), 3);
	cr_assert(json_is_true(json_object_get(j, "round_limit_reached")));
	cr_assert_eq(json_integer_value(json_object_get(j, "max_bandwidth_bytes_per_s")), 4u << 20);
	json_decref(j);
	p.phase = MIG_PHASE_FAILED;
	j = api_migration_progress_json(&p, "destination refused: no room");
	cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "failed");
	cr_assert_str_eq(json_string_value(json_object_get(j, "error")),
			 "destination refused: no room");
	json_decref(j);
}

/* ---- the routes ---- */

static struct {
	int sends, cancels, receives, running, fail;
	char url[128];
	bool local;
	uint32_t downtime;
} fk;

static int f_send(void *ctx, const struct api_send_migration *p, char *e, size_t l)
{
	(void)ctx;
	if (fk.fail) {
		snprintf(e, l, "a device cannot move");
		return fk.fail;
	}
	if (fk.running) { /* as control.c's backend */
		snprintf(e, l, "a migration is already running");
		return -EBUSY;
	}
	fk.sends++;
	fk.running = 1;
	snprintf(fk.url, sizeof(fk.url), "%s", p->url);
	fk.local = p->local;
	fk.downtime = p->max_downtime_ms;
	return 0;
}

static int f_progress(void *ctx, struct mig_progress *p, char *e, size_t l)
{
	(void)ctx;
	if (!fk.sends)
		return -ENOENT;
	memset(p, 0, sizeof(*p));
	p->phase = fk.running ? MIG_PHASE_PRECOPY : MIG_PHASE_CANCELLED;
	p->rounds = 2;
	snprintf(e, l, "%s", fk.running ? "" : "cancelled");
	return 0;
}

static int f_cancel(void *ctx)
{
	(void)ctx;
	if (!fk.running)
		return -ENOENT;
	fk.running = 0;
	fk.cancels++;
	return 0;
}

static int f_receive(void *ctx, const char *url, char *e, size_t l)
{
	(void)ctx;
	if (fk.fail) {
		snprintf(e, l, "migration from %s failed: connection closed", url);
		return fk.fail;
	}
	fk.receives++;
	snprintf(fk.url, sizeof(fk.url), "%s", url);
	return 0;
}

static const struct api_backend_ops ops = {.migrate_send = f_send,
					   .migrate_progress = f_progress,
					   .migrate_cancel = f_cancel,
					   .migrate_receive = f_receive};
static const struct api_backend_ops no_ops = {0};

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

TestSuite(api_migration_routes, .init = setup, .fini = route_teardown);

Test(api_migration_routes, send_progress_cancel)
{
	const char *body = "{\"destination_url\": \"unix:/run/m.sock\", \"local\": true}";
	cr_assert_eq(req("PUT", "/vmm/send-migration", body), 400, "not before start");
	cr_assert_eq(req("GET", "/vmm/migration", NULL), 400);
	cr_assert(says("no migration was started"), "%s", resp.body);
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/send-migration", body), 204, "%s", resp.body);
	cr_assert_str_eq(fk.url, "unix:/run/m.sock");
	cr_assert(fk.local);
	cr_assert_eq(req("GET", "/vmm/migration", NULL), 200, "%s", resp.body);
	cr_assert(says("\"state\": \"precopy\"") || says("\"state\":\"precopy\""), "%s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/migration/cancel", "{}"), 204, "%s", resp.body);
	cr_assert_eq(fk.cancels, 1);
	cr_assert_eq(req("PUT", "/vmm/migration/cancel", "{}"), 400);
	cr_assert(says("no migration is running"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/migration/cancel", "{\"now\": true}"), 400);
	cr_assert_eq(req("GET", "/vmm/migration", NULL), 200);
	cr_assert(says("cancelled"), "%s", resp.body);
	fk.fail = -ENOTSUP;
	cr_assert_eq(req("PUT", "/vmm/send-migration", body), 400);
	cr_assert(says("a device cannot move"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/send-migration", "{\"destination_url\": \"x\"}"), 400);
	cr_assert(says("unix:PATH or tcp:HOST:PORT"), "%s", resp.body);
}

Test(api_migration_routes, receive_only_before_start)
{
	cr_assert_eq(req("PUT", "/vmm/receive-migration", "{\"receiver_url\": \"unix:/run/r\"}"),
		     204, "%s", resp.body);
	cr_assert_eq(fk.receives, 1);
	cr_assert_str_eq(fk.url, "unix:/run/r");
	cr_assert_eq(req("PUT", "/vmm/receive-migration", "{\"receiver_url\": \"unix:/run/r\"}"),
		     400, "a VM exists now");
	cr_assert_eq(fk.receives, 1);
}

Test(api_migration_routes, a_vmm_without_migration_says_so)
{
	api_destroy(&api);
	cr_assert_eq(api_init(&api, &no_ops, NULL), 0);
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/send-migration", "{\"destination_url\": \"unix:/x\"}"), 400);
	cr_assert(says("live migration is not available"), "%s", resp.body);
	cr_assert_eq(req("GET", "/vmm/migration", NULL), 400);
	cr_assert_eq(req("PUT", "/vmm/migration/cancel", "{}"), 400);
	cr_assert_eq(req("PATCH", "/vmm/migration", "{}"), 400);
}

Test(api_migration_routes, no_second_migration_while_one_runs)
{
	const char *body = "{\"destination_url\": \"unix:/run/m.sock\"}";
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/vmm/send-migration", body), 204, "%s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/send-migration", body), 400);
	cr_assert(says("a migration is already running"), "%s", resp.body);
	cr_assert_eq(fk.sends, 1);
	cr_assert_eq(req("PUT", "/vmm/migration/cancel", "{}"), 204);
	cr_assert_eq(req("GET", "/", NULL), 200);
	cr_assert(says("Running"), "a cancelled migration leaves the VM running: %s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/send-migration", body), 204, "again after the cancel");
	cr_assert_eq(fk.sends, 2);
}

Test(api_migration_routes, a_failed_receive_leaves_the_vmm_waiting)
{
	const char *body = "{\"receiver_url\": \"unix:/run/r\"}";
	fk.fail = -EPIPE;
	cr_assert_eq(req("PUT", "/vmm/receive-migration", body), 400);
	cr_assert(says("connection closed"), "%s", resp.body);
	cr_assert_eq(req("GET", "/", NULL), 200);
	cr_assert(says("Not started"), "%s", resp.body);
	fk.fail = 0;
	cr_assert_eq(req("PUT", "/vmm/receive-migration", body), 204, "another try: %s", resp.body);
	cr_assert_eq(req("PUT", "/vmm/send-migration", "{\"destination_url\": \"unix:/x\"}"), 204,
		     "the received VM may move on: %s", resp.body);
}
