/* An option's items as JSON and back (see record_json.h). */
#include "vmm/config/record_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"

static json_t *value_of(const struct opt_item *it)
{
	return it->value ? json_string(it->value) : json_true();
}

/* Adds item `it` to `obj`: a second value of its key makes the member an array. */
static int put(json_t *obj, const struct opt_item *it)
{
	json_t *v = value_of(it), *old = json_object_get(obj, it->key);
	if (!v)
		return -ENOMEM;
	if (!old)
		return json_object_set_new(obj, it->key, v) ? -ENOMEM : 0;
	if (json_is_array(old))
		return json_array_append_new(old, v) ? -ENOMEM : 0;
	json_t *arr = json_pack("[OO]", old, v);
	json_decref(v);
	return !arr || json_object_set_new(obj, it->key, arr) ? -ENOMEM : 0;
}

json_t *record_json_from_items(const struct opt_items *l)
{
	json_t *obj = json_object();
	for (size_t i = 0; obj && i < l->n; i++) {
		if (put(obj, &l->v[i])) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static bool skipped(const char *key, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (!strcmp(*skip, key))
			return true;
	return false;
}

/* One value of member `key` as an item. */
static int add_value(const char *key, const json_t *v, struct opt_items *out, char *err,
		     size_t errlen)
{
	if (json_is_string(v))
		return opt_items_add(out, key, json_string_value(v));
	if (json_is_true(v))
		return opt_items_add(out, key, NULL);
	if (json_is_false(v))
		return 0;
	if (json_is_integer(v))
		return opt_items_addf(out, key, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return parse_fail(err, errlen, "member '%s': expected a string, a number, true or false",
			  key);
}

int record_json_to_items(const json_t *obj, const char *const *skip, struct opt_items *out,
			 char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return parse_fail(err, errlen, "a device's record is an object");
	json_object_foreach((json_t *)obj, key, v)
	{
		if (skipped(key, skip))
			continue;
		int r = 0;
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				if (!r)
					r = add_value(key, e, out, err, errlen);
			}
		} else {
			r = add_value(key, v, out, err, errlen);
		}
		if (r)
			return r;
	}
	return 0;
}
