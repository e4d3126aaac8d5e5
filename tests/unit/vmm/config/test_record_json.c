/* vmm/config/record_json.c: an option's items as a JSON object and back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/config/record_json.h"

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
}

Test(record_json, items_become_members_and_come_back)
{
	struct opt_items l = {0}, back = {0};
	char err[200] = "";
	opt_items_add(&l, "path", "/a,b/c=d.img");
	opt_items_add(&l, "ro", NULL);
	opt_items_add(&l, "hostfwd", "tcp::1-:2");
	opt_items_add(&l, "hostfwd", "tcp::3-:4");
	opt_items_add(&l, "hostfwd", "tcp::5-:6");
	json_t *obj = record_json_from_items(&l);
	char *text = dump(obj);
	cr_assert_str_eq(text, "{\"hostfwd\":[\"tcp::1-:2\",\"tcp::3-:4\",\"tcp::5-:6\"],"
			       "\"path\":\"/a,b/c=d.img\",\"ro\":true}");
	cr_assert_eq(record_json_to_items(obj, NULL, &back, err, sizeof(err)), 0, "%s", err);
	json_t *again = record_json_from_items(&back);
	char *text2 = dump(again);
	cr_assert_str_eq(text2, text);
	free(text);
	free(text2);
	json_decref(obj);
	json_decref(again);
	opt_items_free(&l);
	opt_items_free(&back);
}

Test(record_json, numbers_false_and_skipped_members)
{
	struct opt_items l = {0};
	char err[200] = "";
	json_t *obj = json_pack("{s:i, s:b, s:b, s:s}", "num-queues", 2, "ro", 0, "root", 1,
				"transport", "pci");
	static const char *const skip[] = {"transport", NULL};
	cr_assert_eq(record_json_to_items(obj, skip, &l, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 2);
	int q = opt_items_find(&l, "num-queues"), r = opt_items_find(&l, "root");
	cr_assert(q >= 0 && r >= 0);
	cr_assert_str_eq(l.v[q].value, "2");
	cr_assert_null(l.v[r].value);
	cr_assert_eq(opt_items_find(&l, "ro"), -1, "false: not given");
	json_decref(obj);
	opt_items_free(&l);
}

Test(record_json, other_values_are_refused)
{
	struct opt_items l = {0};
	char err[200] = "";
	const char *bad[] = {"{\"a\": 1.5}", "{\"a\": null}", "{\"a\": {}}", "{\"a\": [[1]]}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *obj = json_loads(bad[i], 0, NULL);
		cr_assert_eq(record_json_to_items(obj, NULL, &l, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_assert_str_eq(err, "member 'a': expected a string, a number, true or false");
		json_decref(obj);
		opt_items_free(&l);
	}
	json_t *arr = json_array();
	cr_assert_eq(record_json_to_items(arr, NULL, &l, err, sizeof(err)), -EINVAL);
	json_decref(arr);
}
