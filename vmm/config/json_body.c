/* Schema checks for JSON bodies. See json_body.h. */
#include "vmm/config/json_body.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *type_name(enum api_json_type t)
{
	switch (t) {
	case API_JSON_STRING:
		return "a string";
	case API_JSON_BOOL:
		return "a boolean";
	case API_JSON_UINT:
		return "a non-negative integer";
	case API_JSON_OBJECT:
		return "an object";
	case API_JSON_ARRAY:
		return "an array";
	}
	return "?";
}

static bool has_type(const json_t *v, enum api_json_type t)
{
	switch (t) {
	case API_JSON_STRING:
		return json_is_string(v);
	case API_JSON_BOOL:
		return json_is_boolean(v);
	case API_JSON_UINT:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case API_JSON_OBJECT:
		return json_is_object(v);
	case API_JSON_ARRAY:
		return json_is_array(v);
	}
	return false;
}

static const struct api_json_field *find_field(const struct api_json_field *f, const char *name)
{
	for (; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

int api_json_check(const json_t *body, const struct api_json_field *fields, char *err,
		   size_t errlen)
{
	const char *key;
	json_t *val;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "the request body must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)body, key, val)
	{
		const struct api_json_field *f = find_field(fields, key);
		if (json_is_null(val))
			continue; /* null means absent, as Firecracker's optional fields */
		if (!f) {
			snprintf(err, errlen, "unknown field `%s`", key);
			return -EINVAL;
		}
		if (!has_type(val, f->type)) {
			snprintf(err, errlen, "field `%s` must be %s", key, type_name(f->type));
			return -EINVAL;
		}
	}
	for (const struct api_json_field *f = fields; f->name; f++) {
		const json_t *v = json_object_get(body, f->name);
		if (f->required && (!v || json_is_null(v))) {
			snprintf(err, errlen, "missing field `%s`", f->name);
			return -EINVAL;
		}
	}
	return 0;
}

const char *api_json_str(const json_t *body, const char *name, const char *def)
{
	const json_t *v = json_object_get(body, name);
	return json_is_string(v) ? json_string_value(v) : def;
}

bool api_json_bool(const json_t *body, const char *name, bool def)
{
	const json_t *v = json_object_get(body, name);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

uint64_t api_json_uint(const json_t *body, const char *name, uint64_t def)
{
	const json_t *v = json_object_get(body, name);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
								: def;
}

void api_json_drop_nulls(json_t *v)
{
	const char *key;
	json_t *val;
	void *tmp;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, key, val)
		{
			if (json_is_null(val))
				json_object_del(v, key);
			else
				api_json_drop_nulls(val);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, val) api_json_drop_nulls(val);
	}
}

json_t *api_json_parse(const char *body, size_t len, char *err, size_t errlen)
{
	json_t *v = api_json_parse_raw(body, len, err, errlen);
	api_json_drop_nulls(v);
	return v;
}

json_t *api_json_parse_raw(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;

	if (!body || len == 0) {
		snprintf(err, errlen, "the request needs a JSON body");
		return NULL;
	}
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		snprintf(err, errlen, "malformed JSON body: %s (line %d, column %d)", je.text,
			 je.line, je.column);
	return v;
}
