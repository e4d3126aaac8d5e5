/* The MMDS data store (vmm/mmds/mmds_store.c): PUT replaces, PATCH merges (RFC 7396) and is
 * refused before the first PUT, GET before any PUT is {}, and the size limit on the compact
 * text refuses a PUT or PATCH over it with the store unchanged. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmds/mmds_store.h"
#include "vmm/mmds/mmds_store_test.h"

static struct mmds_store s;

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	cr_assert(j, "bad test JSON %s", text);
	return j;
}

static int put(const char *text)
{
	json_t *j = J(text);
	int err = mmds_store_put(&s, j);
	json_decref(j);
	return err;
}

static int patch(const char *text)
{
	json_t *j = J(text);
	int err = mmds_store_patch(&s, j);
	json_decref(j);
	return err;
}

static void assert_doc(const char *want)
{
	json_t *got = mmds_store_get(&s), *w = J(want);
	char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	cr_assert(json_equal(got, w), "store %s, want %s", g, want);
	free(g);
	json_decref(got), json_decref(w);
}

static void setup(void)
{
	mmds_store_init(&s, MMDS_DEFAULT_SIZE_LIMIT);
}

static void teardown(void)
{
	mmds_store_free(&s);
}

TestSuite(mmds_store, .init = setup, .fini = teardown);

Test(mmds_store, empty_store_reads_as_empty_object)
{
	assert_doc("{}");
}

Test(mmds_store, patch_before_put_is_refused)
{
	cr_assert_eq(patch("{\"a\":1}"), -ENODATA);
	assert_doc("{}");
}

Test(mmds_store, put_replaces_the_document)
{
	cr_assert_eq(put("{\"a\":{\"b\":\"c\"},\"d\":1}"), 0);
	assert_doc("{\"a\":{\"b\":\"c\"},\"d\":1}");
	cr_assert_eq(put("{\"x\":\"y\"}"), 0);
	assert_doc("{\"x\":\"y\"}");
	cr_assert_eq(put("[1,2]"), 0); /* any JSON value */
	assert_doc("[1,2]");
}

Test(mmds_store, put_copies_its_input)
{
	json_t *j = J("{\"a\":1}");
	cr_assert_eq(mmds_store_put(&s, j), 0);
	json_object_set_new(j, "b", json_integer(2));
	json_decref(j);
	assert_doc("{\"a\":1}");
}

Test(mmds_store, patch_merges)
{
	cr_assert_eq(put("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"gone\":\"x\"}}}"), 0);
	cr_assert_eq(patch("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-2\",\"gone\":null}},"
			   "\"new\":true}"),
		     0);
	assert_doc("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-2\"}},\"new\":true}");
}

Test(mmds_store, size_counts_compact_text)
{
	json_t *j = J("{ \"b\" : [ 1, 2 ],  \"a\" : \"x\" }");
	cr_assert_eq(mmds_json_size(j), strlen("{\"a\":\"x\",\"b\":[1,2]}"));
	json_decref(j);
}

Test(mmds_store, limit_is_inclusive_and_refusal_keeps_the_store)
{
	mmds_store_free(&s);
	mmds_store_init(&s, 9);			     /* {"a":"x"} is 9 bytes */
	cr_assert_eq(put("{\"a\":\"x\"}"), 0);	     /* exactly the limit */
	cr_assert_eq(put("{\"a\":\"xy\"}"), -EFBIG); /* one over */
	assert_doc("{\"a\":\"x\"}");		     /* unchanged */
	cr_assert_eq(patch("{\"b\":1}"), -EFBIG);    /* a patch that would grow it */
	assert_doc("{\"a\":\"x\"}");		     /* unchanged */
	cr_assert_eq(patch("{\"a\":\"y\"}"), 0);     /* same size */
	cr_assert_eq(patch("{\"a\":null}"), 0);	     /* shrinks */
	assert_doc("{}");
}

Test(mmds_store, default_limit_is_firecrackers)
{
	cr_assert_eq(MMDS_DEFAULT_SIZE_LIMIT, 51200);
	size_t n = 51200 - strlen("{\"k\":\"\"}");
	char *big = malloc(n + 16);
	memset(big, 'v', n);
	big[n] = '\0';
	json_t *doc = json_pack("{s:s}", "k", big);
	cr_assert_eq(mmds_store_put(&s, doc), 0);
	json_object_set_new(doc, "k", json_sprintf("%sv", big));
	cr_assert_eq(mmds_store_put(&s, doc), -EFBIG);
	json_decref(doc);
	free(big);
}
