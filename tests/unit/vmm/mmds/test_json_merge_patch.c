/* JSON Merge Patch (vmm/mmds/json_merge_patch.c) against the examples of RFC 7396 appendix
 * A, and the target left untouched. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmds/json_merge_patch.h"

/* Patches `target` (JSON text, "" for none) with `patch` and compares with `want`. */
static void check(const char *target, const char *patch, const char *want)
{
	json_t *t = target[0] ? json_loads(target, JSON_DECODE_ANY, NULL) : NULL;
	json_t *p = json_loads(patch, JSON_DECODE_ANY, NULL);
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	cr_assert(p && w, "bad test JSON");
	json_t *got = json_merge_patch(t, p);
	char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	cr_assert(json_equal(got, w), "%s + %s = %s, want %s", target, patch, s, want);
	free(s);
	json_decref(t), json_decref(p), json_decref(w), json_decref(got);
}

Test(json_merge_patch, rfc7396_appendix_a)
{
	check("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	check("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	check("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	check("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	check("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	check("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	check("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
	check("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	check("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	check("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
	check("{\"a\":\"foo\"}", "null", "null");
	check("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
	check("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
	check("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
	check("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

Test(json_merge_patch, no_target_is_an_empty_object)
{
	check("", "{\"a\":{\"b\":null,\"c\":1}}", "{\"a\":{\"c\":1}}");
	check("", "7", "7");
}

Test(json_merge_patch, target_not_changed)
{
	json_t *t = json_loads("{\"a\":{\"b\":1},\"c\":2}", 0, NULL);
	json_t *p = json_loads("{\"a\":{\"b\":null},\"c\":null,\"d\":3}", 0, NULL);
	json_t *before = json_deep_copy(t);
	json_t *got = json_merge_patch(t, p);
	cr_assert(json_equal(t, before));
	json_t *want = json_loads("{\"a\":{},\"d\":3}", 0, NULL);
	cr_assert(json_equal(got, want));
	json_decref(t), json_decref(p), json_decref(before), json_decref(got), json_decref(want);
}
