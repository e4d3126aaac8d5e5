/* Custom CPU template JSON, the shared part (cpu_template_json.h). */
#include "vmm/vm/cpu_template_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/host_path.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

int tmpl_json_number(const json_t *v, const char *what, uint64_t max, uint64_t *out, char *err,
		     size_t errlen)
{
	const char *s = json_string_value(v);
	if (!s)
		FAIL("%s must be a string holding a number (\"0x1\")", what);
	bool hex = !strncmp(s, "0x", 2) || !strncmp(s, "0X", 2);
	const char *digits = hex ? s + 2 : s;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(digits, &end, hex ? 16 : 10);
	if (!*digits || *end || errno || digits[0] == '-' || digits[0] == '+' || digits[0] == ' ' ||
	    n > max)
		FAIL("%s: \"%.40s\" is not a number from 0 to 0x%" PRIx64, what, s, max);
	*out = n;
	return 0;
}

int tmpl_json_bitmap(const json_t *v, const char *what, unsigned width, struct cpu_bitmap *b,
		     char *err, size_t errlen)
{
	char why[128];
	if (!json_is_string(v))
		FAIL("%s must be a string (\"0b01x...\")", what);
	if (cpu_bitmap_parse(json_string_value(v), width, b, why, sizeof(why)))
		FAIL("%s: %s", what, why);
	return 0;
}

int tmpl_json_fields(const json_t *j, const struct api_json_field *f, const char *what, char *err,
		     size_t errlen)
{
	char why[256];
	if (api_json_check(j, f, why, sizeof(why)))
		FAIL("%s: %s", what, why);
	return 0;
}

int tmpl_json_members(const json_t *j, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"kvm_capabilities", API_JSON_ARRAY, false}, {"cpuid_modifiers", API_JSON_ARRAY, false},
	    {"msr_modifiers", API_JSON_ARRAY, false},	 {"vcpu_features", API_JSON_ARRAY, false},
	    {"reg_modifiers", API_JSON_ARRAY, false},	 {NULL, 0, false}};
	return tmpl_json_fields(j, f, "CPU template", err, errlen);
}

struct caps {
	int32_t *caps;
	unsigned *n, max;
};

/* "171" (the check of a KVM capability added: 171) or "!56" (one of the VMM's removed: -57). */
static int capability(const json_t *v, const char *at, void *ctx, char *err, size_t errlen)
{
	struct caps *c = ctx;
	const char *s = json_string_value(v);
	if (!s)
		FAIL("%s must be a string (\"171\" or \"!56\")", at);
	bool remove = s[0] == '!';
	const char *digits = s + remove;
	char *end;
	errno = 0;
	long n = strtol(digits, &end, 10);
	if (digits[0] < '0' || digits[0] > '9' || *end || errno || n > INT32_MAX - 1)
		FAIL("%s: \"%.40s\" is not a KVM capability number (\"171\" or \"!56\")", at, s);
	if (*c->n >= c->max)
		FAIL("%s: more than %u KVM capabilities", at, c->max);
	c->caps[(*c->n)++] = remove ? (int32_t)(-n - 1) : (int32_t)n;
	return 0;
}

int tmpl_json_capabilities(const json_t *j, int32_t *caps, unsigned *n, unsigned max, char *err,
			   size_t errlen)
{
	struct caps c = {caps, n, max};
	return tmpl_json_each(j, "kvm_capabilities", &c, err, errlen, capability);
}

int tmpl_json_each(const json_t *j, const char *name, void *ctx, char *err, size_t errlen,
		   tmpl_json_one_fn one)
{
	const json_t *a = json_object_get(j, name);
	char at[64];
	for (size_t i = 0; i < json_array_size(a); i++) {
		snprintf(at, sizeof(at), "%s[%zu]", name, i);
		if (one(json_array_get(a, i), at, ctx, err, errlen))
			return -EINVAL;
	}
	return 0;
}

json_t *tmpl_json_bits(uint64_t v, unsigned width)
{
	char s[67] = "0b";
	width = width > 64 ? 64 : width;
	for (unsigned i = 0; i < width; i++)
		s[2 + i] = (v >> (width - 1 - i)) & 1 ? '1' : '0';
	s[2 + width] = 0;
	return json_string(s);
}

json_t *tmpl_json_hex(uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	return json_string(s);
}

int tmpl_json_print(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text) {
		fputs("vmm: --cpu-template-dump: out of memory\n", stderr);
		return 1;
	}
	puts(text);
	free(text);
	return 0;
}

int cpu_template_parse(const char *text, size_t len, struct cpu_template *t, char *err,
		       size_t errlen)
{
	char why[256];
	json_t *j = api_json_parse(text, len, why, sizeof(why));
	if (!j)
		FAIL("CPU template: %s", why);
	int r = cpu_template_from_json(j, t, err, errlen);
	json_decref(j);
	return r;
}

int cpu_template_load(const char *path, struct cpu_template *t, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int r = host_path_read(path, CPU_TEMPLATE_MAX_FILE, &buf, &len, err, errlen);
	if (r)
		return r;
	char why[512];
	r = cpu_template_parse(buf, len, t, why, sizeof(why));
	free(buf);
	if (r)
		snprintf(err, errlen, "%s: %s", path, why);
	return r;
}
