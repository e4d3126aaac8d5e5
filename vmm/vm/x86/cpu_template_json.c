/* Firecracker's custom CPU template JSON (cpu_template_json.h). */
#include "vmm/vm/x86/cpu_template_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/host_path.h"
#include "vmm/config/json_body.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

/* A string holding an integer: "0x1a" or "26" (Firecracker's "string containing an
 * integer"), at most `max`. */
static int str_number(const json_t *v, const char *what, uint64_t max, uint64_t *out, char *err,
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

static int bitmap(const json_t *v, const char *what, unsigned width, uint64_t *f, uint64_t *val,
		  char *err, size_t errlen)
{
	char why[128];
	if (!json_is_string(v))
		FAIL("%s must be a string (\"0b01x...\")", what);
	if (cpu_template_bitmap(json_string_value(v), width, f, val, why, sizeof(why)))
		FAIL("%s: %s", what, why);
	return 0;
}

static int check_fields(const json_t *j, const struct api_json_field *f, const char *what,
			char *err, size_t errlen)
{
	char why[256];
	if (api_json_check(j, f, why, sizeof(why)))
		FAIL("%s: %s", what, why);
	return 0;
}

static int reg_index(const char *name)
{
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, regs[i]))
			return i;
	return -1;
}

static int register_modifier(const json_t *m, const char *at, uint32_t leaf, uint32_t subleaf,
			     uint32_t flags, struct cpu_template *t, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {{"register", API_JSON_STRING, true},
						  {"bitmap", API_JSON_STRING, true},
						  {NULL, 0, false}};
	char what[160];
	if (check_fields(m, f, at, err, errlen))
		return -EINVAL;
	const char *name = api_json_str(m, "register", NULL);
	int reg = reg_index(name);
	if (reg < 0)
		FAIL("%s.register: \"%.16s\" is not eax, ebx, ecx or edx", at, name);
	if (t->ncpuid >= CPU_TEMPLATE_MAX_CPUID)
		FAIL("%s: more than %d register modifiers", at, CPU_TEMPLATE_MAX_CPUID);
	uint64_t filter, value;
	snprintf(what, sizeof(what), "%s.bitmap", at);
	if (bitmap(json_object_get(m, "bitmap"), what, 32, &filter, &value, err, errlen))
		return -EINVAL;
	t->cpuid[t->ncpuid++] = (struct cpu_template_cpuid){
	    leaf, subleaf, flags, (uint8_t)reg, (uint32_t)filter, (uint32_t)value};
	return 0;
}

static int cpuid_modifier(const json_t *c, const char *at, struct cpu_template *t, char *err,
			  size_t errlen)
{
	static const struct api_json_field f[] = {{"leaf", API_JSON_STRING, true},
						  {"subleaf", API_JSON_STRING, true},
						  {"flags", API_JSON_UINT, false},
						  {"modifiers", API_JSON_ARRAY, true},
						  {NULL, 0, false}};
	char what[96];
	uint64_t leaf, subleaf;
	if (check_fields(c, f, at, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.leaf", at);
	if (str_number(json_object_get(c, "leaf"), what, UINT32_MAX, &leaf, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.subleaf", at);
	if (str_number(json_object_get(c, "subleaf"), what, UINT32_MAX, &subleaf, err, errlen))
		return -EINVAL;
	/* KVM's entry flags: 1 is KVM_CPUID_FLAG_SIGNIFCANT_INDEX, the others are obsolete */
	uint64_t flags = api_json_uint(c, "flags", 0);
	if (flags > KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
		FAIL("%s.flags: %" PRIu64 " is not 0 or 1 (KVM_CPUID_FLAG_SIGNIFCANT_INDEX)", at,
		     flags);
	const json_t *mods = json_object_get(c, "modifiers");
	for (size_t i = 0; i < json_array_size(mods); i++) {
		snprintf(what, sizeof(what), "%s.modifiers[%zu]", at, i);
		if (register_modifier(json_array_get(mods, i), what, (uint32_t)leaf,
				      (uint32_t)subleaf, (uint32_t)flags, t, err, errlen))
			return -EINVAL;
	}
	return 0;
}

static int msr_modifier(const json_t *m, const char *at, struct cpu_template *t, char *err,
			size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"addr", API_JSON_STRING, true}, {"bitmap", API_JSON_STRING, true}, {NULL, 0, false}};
	char what[160];
	uint64_t addr, filter, value;
	if (check_fields(m, f, at, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.addr", at);
	if (str_number(json_object_get(m, "addr"), what, UINT32_MAX, &addr, err, errlen))
		return -EINVAL;
	snprintf(what, sizeof(what), "%s.bitmap", at);
	if (bitmap(json_object_get(m, "bitmap"), what, 64, &filter, &value, err, errlen))
		return -EINVAL;
	if (t->nmsrs >= CPU_TEMPLATE_MAX_MSRS)
		FAIL("%s: more than %d MSR modifiers", at, CPU_TEMPLATE_MAX_MSRS);
	t->msrs[t->nmsrs++] = (struct cpu_template_msr){(uint32_t)addr, filter, value};
	return 0;
}

/* "171" (the check of a KVM capability added) or "!56" (one of the VMM's removed). */
static int capability(const json_t *v, const char *at, struct cpu_template *t, char *err,
		      size_t errlen)
{
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
	if (t->ncaps >= CPU_TEMPLATE_MAX_CAPS)
		FAIL("%s: more than %d KVM capabilities", at, CPU_TEMPLATE_MAX_CAPS);
	t->caps[t->ncaps++] = remove ? (int32_t)(-n - 1) : (int32_t)n;
	return 0;
}

/* Calls one(element, "name[i]") for each element of the array member `name`. */
static int each(const json_t *j, const char *name, struct cpu_template *t, char *err, size_t errlen,
		int (*one)(const json_t *, const char *, struct cpu_template *, char *, size_t))
{
	const json_t *a = json_object_get(j, name);
	char at[64];
	for (size_t i = 0; i < json_array_size(a); i++) {
		snprintf(at, sizeof(at), "%s[%zu]", name, i);
		if (one(json_array_get(a, i), at, t, err, errlen))
			return -EINVAL;
	}
	return 0;
}

int cpu_template_from_json(const json_t *j, struct cpu_template *t, char *err, size_t errlen)
{
	static const struct api_json_field f[] = {
	    {"kvm_capabilities", API_JSON_ARRAY, false}, {"cpuid_modifiers", API_JSON_ARRAY, false},
	    {"msr_modifiers", API_JSON_ARRAY, false},	 {"vcpu_features", API_JSON_ARRAY, false},
	    {"reg_modifiers", API_JSON_ARRAY, false},	 {NULL, 0, false}};
	memset(t, 0, sizeof(*t));
	strcpy(t->name, "custom");
	t->vendor = CPUID_VENDOR_OTHER;
	if (check_fields(j, f, "CPU template", err, errlen))
		return -EINVAL;
	if (json_array_size(json_object_get(j, "vcpu_features")))
		FAIL("vcpu_features are for aarch64 vCPUs; this is an x86_64 VMM");
	if (json_array_size(json_object_get(j, "reg_modifiers")))
		FAIL("reg_modifiers are aarch64 registers; on x86_64 use cpuid_modifiers and "
		     "msr_modifiers");
	if (each(j, "kvm_capabilities", t, err, errlen, capability) ||
	    each(j, "cpuid_modifiers", t, err, errlen, cpuid_modifier) ||
	    each(j, "msr_modifiers", t, err, errlen, msr_modifier))
		return -EINVAL;
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
