/* Strict checking of JSON bodies against a small schema: an object whose every member is a known
 * field of the expected type, with the required ones present. Firecracker's bodies refuse unknown
 * fields (serde's deny_unknown_fields) and so do we: a misspelt field is an error, not a silent
 * default. The API's request bodies and the config file (vmm/api, the device descriptors'
 * vmm/descriptors/api_json.h) and a CPU template's JSON (vmm/vm/<arch>/cpu_template_json.c) use
 * them. */
#ifndef VMM_CONFIG_JSON_BODY_H
#define VMM_CONFIG_JSON_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_json_type {
	API_JSON_STRING,
	API_JSON_BOOL,
	API_JSON_UINT,
	API_JSON_OBJECT,
	API_JSON_ARRAY
};

struct api_json_field {
	const char *name;
	enum api_json_type type;
	bool required;
};

/* Checks that `body` is an object holding only fields of `fields` (terminated by a {NULL}
 * entry) with their types, and every required one. Unsigned integers must be non-negative JSON
 * integers. A member whose value is null counts as absent (Firecracker's clients, and its
 * sample configuration files, send every unset optional field as null). Returns 0, or -EINVAL
 * with the reason in err[0..errlen). */
int api_json_check(const json_t *body, const struct api_json_field *fields, char *err,
		   size_t errlen);

/* Field accessors for a body api_json_check() accepted: the value, or `def` when absent. */
const char *api_json_str(const json_t *body, const char *name, const char *def);
bool api_json_bool(const json_t *body, const char *name, bool def);
uint64_t api_json_uint(const json_t *body, const char *name, uint64_t def);

/* Removes every object member whose value is null, at every depth: null means absent. */
void api_json_drop_nulls(json_t *v);

/* Parses a request body (not NUL-terminated, `len` bytes) into a JSON value, nulls dropped
 * (api_json_drop_nulls()). Returns NULL with the parser's reason in err[0..errlen) for
 * malformed JSON, an empty body or nested depth beyond what the parser allows. */
json_t *api_json_parse(const char *body, size_t len, char *err, size_t errlen);
/* The same with the nulls kept, for the checks that tell a null from an absent field
 * (vmm/api/api_nulls.h); api_json_drop_nulls() afterwards. */
json_t *api_json_parse_raw(const char *body, size_t len, char *err, size_t errlen);

#endif
