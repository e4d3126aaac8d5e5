/* MMDS in a snapshot (vmm/mmds/mmds_state.h): the configuration and the store survive a save
 * and a load, V2 tokens do not, and a state from a file is checked as a PUT would be. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/mmds/mmds_state.h"

static struct mmds a, b;
static char err[256];

static void setup(void)
{
	cr_assert_eq(mmds_init(&a, MMDS_DEFAULT_SIZE_LIMIT), 0);
	cr_assert_eq(mmds_init(&b, MMDS_DEFAULT_SIZE_LIMIT), 0);
}

static void teardown(void)
{
	mmds_destroy(&a);
	mmds_destroy(&b);
}

TestSuite(mmds_state, .init = setup, .fini = teardown);

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	cr_assert(j, "%s", text);
	return j;
}

Test(mmds_state, round_trip)
{
	struct mmds_config c, got;
	json_t *doc = parse("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\"}}, \"n\": null}");
	json_t *body = parse("{\"network_interfaces\": [\"eth0\", \"eth1\"], \"version\": \"V2\", "
			     "\"ipv4_address\": \"169.254.170.2\", \"imds_compat\": true}");
	cr_assert_eq(mmds_config_parse(body, &c, err, sizeof(err)), 0, "%s", err);
	mmds_set_config(&a, &c);
	cr_assert_eq(mmds_put(&a, doc), 0);

	uint8_t rnd[MMDS_TOKEN_RAND_LEN] = {1, 2, 3};
	char tok[MMDS_TOKEN_LEN + 1];
	cr_assert_eq(mmds_guest_new_token(&b, 60, 1000, rnd, tok), 0);
	cr_assert(mmds_guest_token_ok(&b, tok, strlen(tok), 2000));

	json_t *state = mmds_state_save(&a);
	cr_assert(state);
	cr_assert_eq(mmds_state_load(&b, state, err, sizeof(err)), 0, "%s", err);
	cr_assert(mmds_get_config(&b, &got));
	cr_assert_eq(got.version, MMDS_V2);
	cr_assert_eq(got.ipv4, 0xa9feaa02);
	cr_assert(got.imds_compat);
	cr_assert_eq(got.nifaces, 2);
	cr_assert(mmds_config_has_iface(&got, "eth1"));
	json_t *back = mmds_get(&b);
	cr_assert(json_equal(back, doc));
	cr_assert_not(mmds_guest_token_ok(&b, tok, strlen(tok), 2000), "tokens are not kept");
	json_decref(back);
	json_decref(state);
	json_decref(doc);
	json_decref(body);
}

Test(mmds_state, nothing_configured_nothing_stored)
{
	struct mmds_config c;
	json_t *doc = parse("{\"k\": 1}");
	cr_assert_eq(mmds_put(&b, doc), 0);
	json_t *state = mmds_state_save(&a);
	cr_assert_eq(mmds_state_load(&b, state, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(mmds_get_config(&b, &c));
	json_t *back = mmds_get(&b), *empty = json_object();
	cr_assert(json_equal(back, empty), "the loaded state has no document");
	json_decref(empty);
	json_decref(back);
	json_decref(state);
	json_decref(doc);
}

Test(mmds_state, bad_states_are_refused_and_change_nothing)
{
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    "{\"config\": null}",
	    "{\"config\": null, \"store\": null, \"more\": 1}",
	    "{\"config\": {\"network_interfaces\": []}, \"store\": null}",
	    "{\"config\": {\"network_interfaces\": [\"e\"], \"version\": \"V9\"}, \"store\": null}",
	    "{\"config\": {\"network_interfaces\": [\"e\"], \"ipv4_address\": \"10.0.0.1\"}, "
	    "\"store\": null}",
	    "{\"config\": 7, \"store\": null}",
	};
	json_t *doc = parse("{\"k\": 1}");
	cr_assert_eq(mmds_put(&b, doc), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *s = parse(bad[i]);
		err[0] = '\0';
		cr_assert_eq(mmds_state_load(&b, s, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_assert(err[0], "%s: no message", bad[i]);
		json_decref(s);
	}
	json_t *back = mmds_get(&b);
	cr_assert(json_equal(back, doc));
	json_decref(back);
	json_decref(doc);
}

Test(mmds_state, a_document_over_the_loading_limit_is_refused)
{
	json_t *doc = parse("{\"k\": \"0123456789abcdef\"}");
	cr_assert_eq(mmds_put(&a, doc), 0);
	json_t *state = mmds_state_save(&a);
	mmds_set_limit(&b, 10);
	cr_assert_eq(mmds_state_load(&b, state, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--mmds-size-limit"), "%s", err);
	json_decref(state);
	json_decref(doc);
}
