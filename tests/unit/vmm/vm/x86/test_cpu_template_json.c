/* Firecracker's custom CPU template JSON (vmm/vm/x86/cpu_template_json.c): what it accepts is what
 * Firecracker's documents and its static templates say, and every bad member is refused by
 * name. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/kvm/x86/cpu_template.h"
#include "vmm/vm/cpu_template_json.h"

static struct cpu_template t, s;
static char err[512];

static int parse(const char *text)
{
	err[0] = 0;
	return cpu_template_parse(text, strlen(text), &t, err, sizeof(err));
}

/* The example of Firecracker's docs/cpu_templates/cpu-templates.md. */
Test(cpu_template_json, firecrackers_documented_example)
{
	cr_assert_eq(parse("{\"kvm_capabilities\": [\"!56\"], \"cpuid_modifiers\": [{\"leaf\": "
			   "\"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
			   "[{\"register\": \"eax\", \"bitmap\": "
			   "\"0bxxxx000000000011xx00011011110010\"}]}], \"msr_modifiers\": "
			   "[{\"addr\": \"0x10a\", \"bitmap\": \"0b00000000000000000000000000000000"
			   "00000000000000000000000000000000\"}]}"),
		     0, "%s", err);
	cr_assert_str_eq(t.name, "custom");
	cr_assert_eq(t.vendor, CPUID_VENDOR_OTHER);
	cr_assert_eq(t.ncaps, 1);
	cr_assert_eq(t.caps[0], -57, "!56");
	cr_assert_eq(t.ncpuid, 1);
	cr_assert_eq(t.cpuid[0].leaf, 1);
	cr_assert_eq(t.cpuid[0].reg, CPU_REG_EAX);
	cr_assert_eq(t.cpuid[0].filter, 0x0fff3fff);
	cr_assert_eq(t.cpuid[0].value, 0x000306f2);
	cr_assert_eq(t.nmsrs, 1);
	cr_assert_eq(t.msrs[0].addr, 0x10a);
	cr_assert_eq(t.msrs[0].filter, UINT64_MAX);
	cr_assert_eq(t.msrs[0].value, 0);
}

/* A static template written out as Firecracker's JSON parses back to the same masks: the JSON
 * files of Firecracker's static templates and the names mean the same. */
Test(cpu_template_json, static_templates_as_json_round_trip)
{
	const char *names[] = {"T2", "T2S", "T2CL", "T2A", "C3"};
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	for (size_t n = 0; n < 5; n++) {
		static char text[16384];
		cr_assert_eq(cpu_template_static(names[n], &s), 0);
		int len = snprintf(text, sizeof(text), "{\"cpuid_modifiers\": [");
		for (unsigned i = 0; i < s.ncpuid; i++) {
			char bits[33];
			for (int b = 0; b < 32; b++) {
				uint32_t m = 1u << (31 - b);
				bits[b] = !(s.cpuid[i].filter & m) ? 'x'
					  : (s.cpuid[i].value & m) ? '1'
								   : '0';
			}
			bits[32] = 0;
			len += snprintf(
			    text + len, sizeof(text) - len,
			    "%s{\"leaf\": \"0x%x\", \"subleaf\": \"0x%x\", \"flags\": %u, "
			    "\"modifiers\": [{\"register\": \"%s\", \"bitmap\": \"0b%s\"}]}",
			    i ? ", " : "", s.cpuid[i].leaf, s.cpuid[i].subleaf, s.cpuid[i].flags,
			    regs[s.cpuid[i].reg], bits);
		}
		snprintf(text + len, sizeof(text) - len, "]}");
		cr_assert_eq(parse(text), 0, "%s: %s", names[n], err);
		cr_assert_eq(t.ncpuid, s.ncpuid);
		cr_assert_eq(memcmp(t.cpuid, s.cpuid, s.ncpuid * sizeof(s.cpuid[0])), 0, "%s",
			     names[n]);
	}
}

Test(cpu_template_json, numbers_in_strings_hex_or_decimal)
{
	cr_assert_eq(parse("{\"cpuid_modifiers\": [{\"leaf\": \"2147483656\", \"subleaf\": \"0\", "
			   "\"modifiers\": []}]}"),
		     0, "%s", err);
	cr_assert_eq(parse("{\"cpuid_modifiers\": [{\"leaf\": \"0x80000008\", \"subleaf\": "
			   "\"0x0\", \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": "
			   "\"0b1\"}]}]}"),
		     0, "%s", err);
	cr_assert_eq(t.cpuid[0].leaf, 0x80000008);
	cr_assert_eq(parse("{}"), 0, "an empty template is no change");
	cr_assert_eq(t.ncpuid + t.nmsrs + t.ncaps, 0);
}

/* Each bad member: a refusal naming it. */
Test(cpu_template_json, bad_members_are_named)
{
	static const char *const cases[][2] = {
	    {"{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": \"0\", \"modifiers\": []}]}",
	     "cpuid_modifiers[0]"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"0x1g\", \"subleaf\": \"0\", \"modifiers\": []}]}",
	     "cpuid_modifiers[0].leaf: \"0x1g\" is not a number"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"0x100000000\", \"subleaf\": \"0\", "
	     "\"modifiers\": []}]}",
	     "cpuid_modifiers[0].leaf"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"-1\", \"subleaf\": \"0\", \"modifiers\": []}]}",
	     "cpuid_modifiers[0].leaf"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"flags\": 2, "
	     "\"modifiers\": []}]}",
	     "cpuid_modifiers[0].flags: 2 is not 0 or 1"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"modifiers\": []}]}", "subleaf"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"modifiers\": "
	     "[{\"register\": \"rax\", \"bitmap\": \"0b1\"}]}]}",
	     "cpuid_modifiers[0].modifiers[0].register: \"rax\" is not eax, ebx, ecx or edx"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"modifiers\": "
	     "[{\"register\": \"eax\", \"bitmap\": \"0b0000000000000000000000000000000000\"}]}]}",
	     "cpuid_modifiers[0].modifiers[0].bitmap: bitmap \"0b000000000000000000000000000000000"
	     "0\" has more than 32 bits"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"modifiers\": "
	     "[{\"register\": \"eax\", \"bitmap\": \"1111\"}]}]}",
	     "does not start with 0b"},
	    {"{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"modifiers\": "
	     "[{\"register\": \"eax\", \"bitmap\": \"0b1\", \"extra\": 1}]}]}",
	     "extra"},
	    {"{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b12\"}]}",
	     "msr_modifiers[0].bitmap: bitmap \"0b12\": '2' is not 0, 1, x or _"},
	    {"{\"msr_modifiers\": [{\"addr\": \"0x1_0a\", \"bitmap\": \"0b1\"}]}",
	     "msr_modifiers[0].addr"},
	    {"{\"kvm_capabilities\": [\"!x\"]}", "kvm_capabilities[0]: \"!x\" is not a KVM"},
	    {"{\"kvm_capabilities\": [56]}", "kvm_capabilities[0] must be a string"},
	    {"{\"vcpu_features\": [{\"index\": 0, \"bitmap\": \"0b1\"}]}", "aarch64"},
	    {"{\"reg_modifiers\": [{\"addr\": \"0x1\", \"bitmap\": \"0b1\"}]}", "aarch64"},
	    {"{\"cpuid_modifier\": []}", "cpuid_modifier"},
	    {"[]", "CPU template"},
	    {"{\"cpuid_modifiers\": [", "CPU template"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i][0]), -EINVAL, "%s", cases[i][0]);
		cr_assert(strstr(err, cases[i][1]), "%s\n-> %s", cases[i][0], err);
	}
}

Test(cpu_template_json, a_file_names_itself_in_its_errors)
{
	char path[] = "/tmp/cpu_template_json_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "{\"x\": 1}", 8), 8);
	close(fd);
	cr_assert_eq(cpu_template_load(path, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, path), "%s", err);
	unlink(path);
	cr_assert_neq(cpu_template_load("/nonexistent/t.json", &t, err, sizeof(err)), 0);
	cr_assert(strstr(err, "/nonexistent/t.json"), "%s", err);
}
