/* The MMDS routes of the API (vmm/api/api_router.c over vmm/mmds/): PUT/PATCH/GET /mmds with
 * nulls kept as data and merge-patch semantics, 413 over the size limit, PATCH before PUT,
 * PUT /mmds/config with its checks (version, link-local address, ids of configured NICs, no
 * unknown field) and only before start, while the store stays writable after it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "vmm/api/api_model.h"
#include "vmm/api/api_router.h"

static struct api api;
static struct api_response resp;
static json_t *doc;

static const struct api_backend_ops ops = {0};

static void drop_response(void)
{
	free(resp.body);
	resp.body = NULL;
	json_decref(doc);
	doc = NULL;
}

static void setup(void)
{
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

static void teardown(void)
{
	drop_response();
	api_destroy(&api);
}

TestSuite(api_mmds, .init = setup, .fini = teardown);

static unsigned req(const char *method, const char *path, const char *body)
{
	drop_response();
	api_handle(&api, method, path, body, body ? strlen(body) : 0, &resp);
	if (resp.body)
		doc = json_loads(resp.body, JSON_DECODE_ANY, NULL);
	return resp.status;
}

static const char *fault(void)
{
	const char *m = json_string_value(json_object_get(doc, "fault_message"));
	return m ? m : "";
}

static void assert_store(const char *want)
{
	cr_assert_eq(req("GET", "/mmds", NULL), 200);
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	cr_assert(json_equal(doc, w), "GET /mmds: %s, want %s", resp.body, want);
	json_decref(w);
}

static void add_nic(const char *id)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"iface_id\": \"%s\", \"host_dev_name\": \"tap0\"}", id);
	char path[128];
	snprintf(path, sizeof(path), "/network-interfaces/%s", id);
	cr_assert_eq(req("PUT", path, body), 204, "%s", resp.body);
}

Test(api_mmds, get_before_put_is_empty_object)
{
	assert_store("{}");
}

Test(api_mmds, put_get_patch)
{
	cr_assert_eq(
	    req("PUT", "/mmds", "{\"latest\":{\"meta-data\":{\"ami-id\":\"a\",\"x\":null}}}"), 204);
	assert_store("{\"latest\":{\"meta-data\":{\"ami-id\":\"a\",\"x\":null}}}");
	cr_assert_eq(
	    req("PATCH", "/mmds", "{\"latest\":{\"meta-data\":{\"ami-id\":\"b\",\"x\":null}}}"),
	    204);
	assert_store("{\"latest\":{\"meta-data\":{\"ami-id\":\"b\"}}}");
}

Test(api_mmds, patch_before_put_is_400)
{
	cr_assert_eq(req("PATCH", "/mmds", "{\"a\":1}"), 400);
	cr_assert(strstr(fault(), "not initialized"), "%s", fault());
}

Test(api_mmds, over_the_limit_is_413_and_keeps_the_store)
{
	/* a body the API takes (--http-api-max-payload-size 102400) over the store's limit */
	api.max_body = 2 * MMDS_DEFAULT_SIZE_LIMIT;
	cr_assert_eq(req("PUT", "/mmds", "{\"a\":1}"), 204);
	size_t n = MMDS_DEFAULT_SIZE_LIMIT;
	char *body = malloc(n + 32);
	strcpy(body, "{\"big\":\"");
	memset(body + 8, 'x', n);
	strcpy(body + 8 + n, "\"}");
	cr_assert_eq(req("PUT", "/mmds", body), 413);
	cr_assert(strstr(fault(), "doesn't fit"), "%s", fault());
	cr_assert_eq(req("PATCH", "/mmds", body), 413);
	free(body);
	assert_store("{\"a\":1}");
}

Test(api_mmds, bad_bodies_are_400)
{
	cr_assert_eq(req("PUT", "/mmds", "{\"a\":"), 400);
	cr_assert(strstr(fault(), "malformed JSON"), "%s", fault());
	cr_assert_eq(req("PUT", "/mmds", ""), 400);
	cr_assert_eq(req("GET", "/mmds", "{}"), 400);
	cr_assert_eq(req("DELETE", "/mmds", NULL), 400);
	cr_assert_eq(req("GET", "/mmds/config", NULL), 400);
	cr_assert_eq(req("PUT", "/mmds/other", "{}"), 400);
}

Test(api_mmds, config_needs_known_nics)
{
	cr_assert_eq(req("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"), 400);
	cr_assert(strstr(fault(), "does not correspond to any existing network interface"), "%s",
		  fault());
	add_nic("eth0");
	cr_assert_eq(req("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\", \"eth1\"]}"),
		     400);
	cr_assert_eq(req("PUT", "/mmds/config", "{\"network_interfaces\": []}"), 400);
	cr_assert(strstr(fault(), "is empty"), "%s", fault());
	cr_assert_eq(req("PUT", "/mmds/config", "{\"version\": \"V2\"}"), 400);
	cr_assert_eq(req("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"), 204);
	struct mmds_config c;
	cr_assert(mmds_get_config(&api.mmds, &c));
	cr_assert_eq(c.version, MMDS_V1);
	cr_assert_eq(c.ipv4, MMDS_DEFAULT_IPV4);
	cr_assert_not(c.imds_compat);
	cr_assert(mmds_config_has_iface(&c, "eth0"));
}

Test(api_mmds, config_fields)
{
	add_nic("eth0");
	cr_assert_eq(req("PUT", "/mmds/config",
			 "{\"network_interfaces\": [\"eth0\"], \"version\": \"V2\", "
			 "\"ipv4_address\": \"169.254.170.2\", \"imds_compat\": true}"),
		     204, "%s", resp.body);
	struct mmds_config c;
	cr_assert(mmds_get_config(&api.mmds, &c));
	cr_assert_eq(c.version, MMDS_V2);
	cr_assert_eq(c.ipv4, 0xa9feaa02);
	cr_assert(c.imds_compat);
	/* nulls are absent fields here (api_json_parse), as in the other configuration bodies */
	cr_assert_eq(req("PUT", "/mmds/config",
			 "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": null}"),
		     204);
	static const char *const bad[] = {
	    "{\"network_interfaces\": [\"eth0\"], \"version\": \"V3\"}",
	    "{\"network_interfaces\": [\"eth0\"], \"version\": 2}",
	    "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"10.0.0.1\"}",
	    "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.0.1\"}",
	    "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.255.1\"}",
	    "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.1\"}",
	    "{\"network_interfaces\": [\"eth0\"], \"imds_compat\": \"yes\"}",
	    "{\"network_interfaces\": [\"eth0\"], \"bogus\": 1}",
	    "{\"network_interfaces\": \"eth0\"}",
	    "{\"network_interfaces\": [7]}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(req("PUT", "/mmds/config", bad[i]), 400, "%s", bad[i]);
		cr_assert(fault()[0], "%s: no fault_message", bad[i]);
	}
	cr_assert_eq(req("PUT", "/mmds/config",
			 "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"169.254.0.1\"}"),
		     400);
	cr_assert_str_eq(fault(), MMDS_MSG_BAD_IPV4);
}

Test(api_mmds, config_only_before_start_store_always)
{
	add_nic("eth0");
	api_set_running(&api, NULL);
	cr_assert_eq(req("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"), 400);
	cr_assert(strstr(fault(), "not supported after starting"), "%s", fault());
	cr_assert_eq(req("PUT", "/mmds", "{\"k\":\"v\"}"), 204);
	cr_assert_eq(req("PATCH", "/mmds", "{\"k\":\"w\"}"), 204);
	assert_store("{\"k\":\"w\"}");
}

Test(api_mmds, any_json_value_is_a_document)
{
	cr_assert_eq(req("PUT", "/mmds", "\"just a string\""), 204);
	assert_store("\"just a string\"");
	cr_assert_eq(req("PUT", "/mmds", "{\"a\":1,\"a\":2}"), 400); /* duplicate keys */
}

Test(api_mmds, vm_config_shows_the_configuration)
{
	add_nic("eth0");
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	cr_assert_null(json_object_get(doc, "mmds-config"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/mmds/config",
			 "{\"network_interfaces\": [\"eth0\"], \"version\": \"V2\", "
			 "\"ipv4_address\": \"169.254.170.2\"}"),
		     204, "%s", resp.body);
	cr_assert_eq(req("GET", "/vm/config", NULL), 200);
	json_t *want = json_loads("{\"version\": \"V2\", \"network_interfaces\": [\"eth0\"], "
				  "\"ipv4_address\": \"169.254.170.2\", \"imds_compat\": false}",
				  0, NULL);
	cr_assert(json_equal(json_object_get(doc, "mmds-config"), want), "%s", resp.body);
	json_decref(want);
}

/* The configuration file's "mmds-config" is PUT /mmds/config after the NICs (api_model_load). */
Test(api_mmds, config_file_section)
{
	static const char *const boot = "\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					"\"network-interfaces\": [{\"iface_id\": \"eth0\", "
					"\"host_dev_name\": \"tap0\"}]";
	char text[512];
	char err[256] = "";
	struct api_model m;

	snprintf(text, sizeof(text), "{%s, \"mmds-config\": {\"network_interfaces\": [\"eth0\"]}}",
		 boot);
	json_t *root = json_loads(text, 0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	cr_assert(m.mmds_set);
	cr_assert_eq(m.mmds.version, MMDS_V1);
	cr_assert_eq(m.mmds.ipv4, MMDS_DEFAULT_IPV4);
	cr_assert(mmds_config_has_iface(&m.mmds, "eth0"));
	api_model_free(&m);
	json_decref(root);

	snprintf(text, sizeof(text), "{%s, \"mmds-config\": {\"network_interfaces\": [\"eth1\"]}}",
		 boot);
	root = json_loads(text, 0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "mmds-config: ") && strstr(err, "does not correspond"), "%s", err);
	cr_assert_not(m.mmds_set);
	api_model_free(&m);
	json_decref(root);

	snprintf(text, sizeof(text), "{%s, \"mmds-config\": null}", boot);
	root = json_loads(text, 0, NULL);
	api_model_init(&m);
	cr_assert_eq(api_model_load(&m, root, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(m.mmds_set);
	api_model_free(&m);
	json_decref(root);
}
